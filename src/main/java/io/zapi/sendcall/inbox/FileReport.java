package io.zapi.sendcall.inbox;

import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.Map;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.core.JsonProcessingException;
import org.apache.camel.AggregationStrategy;
import org.apache.camel.CamelContext;
import org.apache.camel.Exchange;
import org.apache.camel.ExchangePattern;
import org.apache.camel.ProducerTemplate;
import org.apache.camel.support.DefaultExchange;
import org.apache.camel.support.SynchronizationAdapter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.zapi.sendcall.pipeline.CallLedger;
import io.zapi.sendcall.pipeline.CallRequest;
import io.zapi.sendcall.pipeline.Json;
import io.zapi.sendcall.pipeline.Utf8;
import io.zapi.sendcall.records.OutcomeRecord;
import io.zapi.sendcall.runtime.SecretMasking;

/**
 * The report of one inbox file: how many of its requests ended in each outcome, how far it got and how long it took.
 * As the split's aggregation strategy it tallies outcomes as rows finish, so a file of any size is reported in
 * constant memory. While the file is read, a ticker rewrites the report every {@code zapi.reports.progress-interval-ms}
 * ({@code "state": "running"}) and logs a progress line at every tenth of the file or every 30 s; at its end the
 * report says {@code done}, {@code unreadable} or {@code interrupted}, and one summary line is logged.
 */
public class FileReport implements AggregationStrategy {

    /** Exchange property holding the time the file was picked up. */
    public static final String STARTED = "fileStarted";
    /** Exchange property holding the inbox file's name. */
    public static final String FILE = "inboxFile";
    /** Exchange property: yyyyMMdd-HHmmssSSS, when the file was first taken; its kept original starts with it too. */
    public static final String KEPT_PREFIX = "keptPrefix";
    /** The report's counts of its calls' events (routes/call-events.camel.yaml). */
    public static final String ANSWERED = "answered";
    public static final String MISSED = "missed";
    /** Exchange property of the file and its rows: the {@link FileProgress} the rows are counted in. */
    static final String PROGRESS = "fileProgress";

    private static final Logger LOG = LoggerFactory.getLogger(FileReport.class);
    /** A progress line at least this often, even when the file does not pass another tenth. */
    private static final Duration LOG_EVERY = Duration.ofSeconds(30);
    /** The ticker looks at least this often, so that a tenth passed is logged soon after. */
    private static final long TICK_AT_MOST_MS = 1000;

    private final long tickMs;
    private final int ticksPerReport;
    private ScheduledExecutorService ticker;
    private ProducerTemplate reports;
    private String reportsUri;

    /** @param intervalMs how often the report of a file being read is rewritten */
    public FileReport(long intervalMs) {
        this.ticksPerReport = (int) ((intervalMs + TICK_AT_MOST_MS - 1) / TICK_AT_MOST_MS);
        this.tickMs = Math.max(1, intervalMs / ticksPerReport);
    }

    /**
     * Starts following the file on this exchange (properties inboxFile, fileStarted, keptPrefix, requestFile): its
     * rows are counted from now on, and its running report is written every interval until its end is reported.
     */
    public void start(Exchange exchange) {
        Date startedAt = exchange.getProperty(STARTED, Date.class);
        FileProgress progress = new FileProgress(exchange.getProperty(FILE, String.class),
                exchange.getProperty("requestFile", RequestFile.class),
                startedAt != null ? startedAt.toInstant() : Instant.now());
        exchange.setProperty(PROGRESS, progress);
        ResultsFiles results = resultsFiles(exchange.getContext());
        if (results != null) {
            results.open(exchange);
        }
        String reportName = reportName(exchange);
        CamelContext context = exchange.getContext();
        int[] ticks = {0};
        ScheduledFuture<?> tick = ticker(context).scheduleAtFixedRate(() -> {
            ticks[0]++;
            // a file done within one interval has its summary line alone: no progress line before its first report
            tick(context, progress, reportName, ticks[0] % ticksPerReport == 0, ticks[0] >= ticksPerReport);
        }, tickMs, tickMs, TimeUnit.MILLISECONDS);
        // whatever way the file's exchange ends (an unexpected error too), its ticker ends with it
        exchange.getExchangeExtension().addOnCompletion(new SynchronizationAdapter() {
            @Override
            public void onDone(Exchange done) {
                progress.close();
                tick.cancel(false);
                ResultsFiles.close(exchange);
            }
        });
    }

    @Override
    public Exchange aggregate(Exchange tally, Exchange row) {
        // the tally lives on an exchange of its own: a row's fate (an error handled into a record) must not
        // become the file's, as it would if the first row's exchange were copied back onto the file's
        Exchange result = tally != null ? tally : new DefaultExchange(row.getContext());
        FileProgress progress = row.getProperty(PROGRESS, FileProgress.class);
        progress.count(row.getProperty(OutcomeRecord.OUTCOME, "failed", String.class),
                OutcomeRecord.instance(row, row.getProperty(OutcomeRecord.CALL_REQUEST, CallRequest.class)));
        ResultsFiles.ended(row);
        return result;
    }

    /**
     * Turns the counts into the file's final report ({@code done} or {@code unreadable}), named
     * {@code <yyyyMMdd-HHmmssSSS>-<file name>.json}, and logs its summary line. No running report follows it.
     */
    public void build(Exchange exchange) throws JsonProcessingException {
        FileProgress progress = exchange.getProperty(PROGRESS, FileProgress.class);
        // waits for a running report being written: it must not land after this one
        progress.close();
        ResultsFiles results = resultsFiles(exchange.getContext());
        if (results != null) {
            results.complete(exchange);
        }
        Instant now = Instant.now();
        FileProgress.State state = progress.end();
        String reportName = reportName(exchange);
        Map<String, Object> report = progress.report(state, now);
        CallLedger ledger = ledger(exchange.getContext());
        try {
            // kept before its counts are read: an event after this rewrites the report (CallEvents), one before is
            // counted here
            ledger.keepFinalReport(reportName, text(report));
        } catch (RuntimeException e) {
            LOG.warn("{}: its report could not be kept in the ledger, so call events that come later will not be "
                     + "counted in it: {}", progress.file(), SecretMasking.mask(String.valueOf(e.getMessage())));
        }
        putEventCounts(ledger, report, reportName);
        exchange.getMessage().setBody(text(report));
        exchange.getMessage().setHeader(Exchange.FILE_NAME, reportName);
        LOG.info(progress.line(state, now));
    }

    /**
     * The module stopped while the file was read: the report says {@code interrupted} with the counts so far. Only
     * tried once: the file stays in the inbox, and its resumed run writes the report again.
     */
    public void interrupted(Exchange exchange) {
        FileProgress progress = exchange.getProperty(PROGRESS, FileProgress.class);
        synchronized (progress) {
            progress.close();
            ResultsFiles.close(exchange);
            Instant now = Instant.now();
            write(exchange.getContext(), progress, FileProgress.State.INTERRUPTED, reportName(exchange), now);
            LOG.info(progress.line(FileProgress.State.INTERRUPTED, now));
        }
    }

    /** One tick of the file's ticker: the running report when due, a progress line when due. */
    private void tick(CamelContext context, FileProgress progress, String reportName, boolean reportDue,
                      boolean logging) {
        try {
            synchronized (progress) {
                if (progress.isClosed()) {
                    return;
                }
                Instant now = Instant.now();
                if (reportDue) {
                    write(context, progress, FileProgress.State.RUNNING, reportName, now);
                }
                if (logging && progress.logDue(now, LOG_EVERY)) {
                    LOG.info(progress.line(FileProgress.State.RUNNING, now));
                }
            }
        } catch (RuntimeException e) {
            // a ticker that throws is never run again: the next report may well be written
            LOG.debug("{}: the running report was not written", progress.file(), e);
        }
    }

    /** Writes a report that is not the file's last: one the endpoint refuses is not kept for later, only logged. */
    private void write(CamelContext context, FileProgress progress, FileProgress.State state, String reportName,
                       Instant now) {
        Exchange sent;
        try {
            Map<String, Object> report = progress.report(state, now);
            putEventCounts(ledger(context), report, reportName);
            String json = text(report);
            sent = reports(context).send(reportsUri, ExchangePattern.InOnly, out -> {
                out.getMessage().setBody(json);
                out.getMessage().setHeader(Exchange.FILE_NAME, reportName);
            });
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        if (sent.getException() != null && state == FileProgress.State.RUNNING) {
            // the next one follows within the interval; the final report, kept for later, says it if this goes on
            LOG.debug("{}: its running report could not be written to {}", progress.file(), reportsUri,
                    sent.getException());
        } else if (sent.getException() != null) {
            LOG.warn("{}: its {} report could not be written to {}: {}", progress.file(), state.label(), reportsUri,
                    sent.getException().getMessage());
        }
    }

    private static String text(Map<String, Object> report) throws JsonProcessingException {
        return Utf8.escapeUnpairedSurrogates(SecretMasking.mask(Json.MAPPER.writeValueAsString(report)));
    }

    /**
     * The file's calls answered and missed so far, by the call events recorded in the ledger (whichever replica got
     * them); null when the ledger cannot say now.
     */
    private static void putEventCounts(CallLedger ledger, Map<String, Object> report, String reportName) {
        Map<String, Integer> counts = null;
        try {
            counts = ledger != null ? ledger.eventCountsOfReport(reportName) : null;
        } catch (RuntimeException e) {
            LOG.debug("{}: its call events could not be counted", reportName, e);
        }
        report.put(ANSWERED, counts != null ? counts.getOrDefault(ANSWERED, 0) : null);
        report.put(MISSED, counts != null ? counts.getOrDefault(MISSED, 0) : null);
    }

    private static ResultsFiles resultsFiles(CamelContext context) {
        return context.getRegistry().lookupByNameAndType("resultsFiles", ResultsFiles.class);
    }

    private static CallLedger ledger(CamelContext context) {
        return context.getRegistry().lookupByNameAndType("callLedger", CallLedger.class);
    }

    /**
     * Named after the kept original, whose time prefix was fixed when the file was first taken: a name dropped again
     * gets a report of its own, and one file keeps the same report name however often it is resumed. Written under a
     * hidden temporary name first ("." + name): that one must fit a file name too.
     */
    private static String reportName(Exchange exchange) {
        return reportNameOf(exchange);
    }

    /** The report's name for an exchange of the file or of one of its rows; null for a request of no inbox file. */
    public static String reportNameOf(Exchange exchange) {
        if (exchange.getProperty(KEPT_PREFIX) == null || exchange.getProperty(FILE) == null) {
            return null;
        }
        return exchange.getProperty(KEPT_PREFIX, String.class) + "-"
               + RequestFiles.fit(exchange.getProperty(FILE, String.class), RequestFiles.MAX_NAME_BYTES
                                  - RequestFiles.KEPT_PREFIX_BYTES - ".json".length() - 1) + ".json";
    }

    private synchronized ScheduledExecutorService ticker(CamelContext context) {
        if (ticker == null) {
            // Camel's own executor: shut down with the context
            ticker = context.getExecutorServiceManager().newSingleThreadScheduledExecutor(this, "file-progress");
        }
        return ticker;
    }

    private synchronized ProducerTemplate reports(CamelContext context) {
        if (reports == null) {
            reportsUri = context.resolvePropertyPlaceholders("{{zapi.reports-uri}}");
            reports = context.createProducerTemplate();
        }
        return reports;
    }
}
