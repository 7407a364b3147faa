package io.zapi.sendcall.inbox;

import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

import com.fasterxml.jackson.core.JsonProcessingException;
import org.apache.camel.AggregationStrategy;
import org.apache.camel.Exchange;
import org.apache.camel.support.DefaultExchange;

import io.zapi.sendcall.pipeline.Json;
import io.zapi.sendcall.pipeline.Utf8;
import io.zapi.sendcall.records.OutcomeRecord;
import io.zapi.sendcall.records.Timestamps;
import io.zapi.sendcall.runtime.SecretMasking;

/**
 * The report of one inbox file: how many of its requests ended in each outcome, and how long the file took. As the
 * split's aggregation strategy it tallies outcomes as rows finish, so a file of any size is reported in constant
 * memory.
 */
public class FileReport implements AggregationStrategy {

    /** Exchange property holding the time the file was picked up. */
    public static final String STARTED = "fileStarted";
    /** Exchange property holding the inbox file's name. */
    public static final String FILE = "inboxFile";
    /** Exchange property: yyyyMMdd-HHmmssSSS, when the file was first taken; its kept original starts with it too. */
    public static final String KEPT_PREFIX = "keptPrefix";

    @Override
    @SuppressWarnings("unchecked")
    public Exchange aggregate(Exchange tally, Exchange row) {
        // the tally lives on an exchange of its own: a row's fate (an error handled into a record) must not
        // become the file's, as it would if the first row's exchange were copied back onto the file's
        Exchange result = tally != null ? tally : new DefaultExchange(row.getContext());
        Map<String, Long> counts = tally != null ? tally.getMessage().getBody(Map.class) : new TreeMap<>();
        counts.merge(row.getProperty(OutcomeRecord.OUTCOME, "failed", String.class), 1L, Long::sum);
        result.getMessage().setBody(counts);
        return result;
    }

    /** Turns the tally left by the split into the report, named {@code <yyyyMMdd-HHmmssSSS>-<file name>.json}. */
    @SuppressWarnings("unchecked")
    public void build(Exchange exchange) throws JsonProcessingException {
        // a file with no request at all (an empty array) leaves no tally
        Map<String, Long> counts = exchange.getMessage().getBody() instanceof Map<?, ?> tally
                ? (Map<String, Long>) tally : Map.of();
        Date startedAt = exchange.getProperty(STARTED, Date.class);
        Instant started = startedAt != null ? startedAt.toInstant() : null;
        Instant finished = Instant.now();
        RequestFile file = exchange.getProperty("requestFile", RequestFile.class);
        String name = exchange.getProperty(FILE, String.class);

        Map<String, Object> report = new LinkedHashMap<>();
        report.put("file", name);
        report.put("requests", counts.values().stream().mapToLong(Long::longValue).sum());
        report.put("outcomes", counts);
        report.put("unreadable", file != null ? file.getUnreadableReason() : null);
        report.put("startedAt", started != null ? Timestamps.format(started) : null);
        report.put("finishedAt", Timestamps.format(finished));
        report.put("durationMs", started != null ? Duration.between(started, finished).toMillis() : null);
        exchange.getMessage().setBody(Utf8.escapeUnpairedSurrogates(
                SecretMasking.mask(Json.MAPPER.writeValueAsString(report))));
        // named after the kept original, whose time prefix was fixed when the file was first taken: a name dropped
        // again gets a report of its own, and one file keeps the same report name however often it is resumed.
        // Written under a hidden temporary name first ("." + name): that one must fit a file name too
        exchange.getMessage().setHeader(Exchange.FILE_NAME, exchange.getProperty(KEPT_PREFIX, String.class) + "-"
                + RequestFiles.fit(name, RequestFiles.MAX_NAME_BYTES - RequestFiles.KEPT_PREFIX_BYTES
                                         - ".json".length() - 1) + ".json");
    }
}
