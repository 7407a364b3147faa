package io.zapi.sendcall.inbox;

import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.Map;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import java.io.IOException;
import java.util.List;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.camel.AggregationStrategy;
import org.apache.camel.CamelContext;
import org.apache.camel.Exchange;
import org.apache.camel.ExchangePattern;
import org.apache.camel.ProducerTemplate;
import org.apache.camel.support.DefaultExchange;
import org.apache.camel.support.SynchronizationAdapter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.zapi.sendcall.files.FilesInProgress;
import io.zapi.sendcall.pipeline.CallLedger;
import io.zapi.sendcall.pipeline.CallRequest;
import io.zapi.sendcall.pipeline.Json;
import io.zapi.sendcall.pipeline.Utf8;
import io.zapi.sendcall.records.OutcomeRecord;
import io.zapi.sendcall.records.Timestamps;
import io.zapi.sendcall.schedule.WaitingRows;
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
    /** Reports as trees, their floats as written. */
    static final com.fasterxml.jackson.databind.ObjectMapper TREES = Json.AS_WRITTEN;
    /** The GET /files entry's latest failures, newest first. */
    static final String LATEST_FAILURES = "latestFailures";
    /** The report's counts of its calls' events (routes/call-events.camel.yaml). */
    public static final String ANSWERED = "answered";
    public static final String MISSED = "missed";
    /** Exchange property of the file and its rows: the {@link FileProgress} the rows are counted in. */
    static final String PROGRESS = "fileProgress";

    /** The first key of the database lock under which one replica at a time rewrites a report; the second: its name. */
    private static final int REPORT_LOCK = 0x72707274;
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
        String keptName = keptNameOf(exchange);
        progress.named(keptName, reportName);
        CamelContext context = exchange.getContext();
        try {
            ObjectNode entry = status(context, progress, TREES.valueToTree(progress.report(FileProgress.State.RUNNING, Instant.now())));
            files(context).started(keptName, progress.file(), reportName,
                    startedAt != null ? Timestamps.format(startedAt.toInstant()) : Timestamps.now(), entry);
        } catch (RuntimeException e) {
            LOG.warn("{}: it could not be listed in GET /files: {}", progress.file(),
                    SecretMasking.mask(String.valueOf(e.getMessage())));
        }
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
        String outcome = row.getProperty(OutcomeRecord.OUTCOME, "failed", String.class);
        // its entry in the file's results, in the file's order (a row that waits has a waiting entry until called)
        ResultsFiles.ended(row);
        if (ReportFromLedger.WAITING.equals(outcome)) {
            // a row that waits is counted by the ledger (waiting_rows), where its end is counted too, by any replica
            return result;
        }
        CallRequest request = row.getProperty(OutcomeRecord.CALL_REQUEST, CallRequest.class);
        progress.count(outcome, OutcomeRecord.instance(row, request));
        progress.noteFailure(outcome, row);
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
        CamelContext context = exchange.getContext();
        CallLedger ledger = ledger(context);
        try {
            // kept before its counts are read: an event or a waiting row's end after this rewrites the report
            // (rewriteKept), one before is counted here
            ledger.keepFinalReport(reportName, text(report));
        } catch (RuntimeException e) {
            LOG.warn("{}: its report could not be kept in the ledger, so call events and waiting rows that end later "
                     + "will not be counted in it: {}", progress.file(), SecretMasking.mask(String.valueOf(e.getMessage())));
        }
        ObjectNode complete = complete(context, TREES.valueToTree(report), reportName, progress.keptName());
        updateStatus(context, progress.keptName(), status(context, progress, complete.deepCopy()));
        exchange.getMessage().setBody(text(complete));
        exchange.getMessage().setHeader(Exchange.FILE_NAME, reportName);
        LOG.info(progress.line(state, now) + (complete.path(ReportFromLedger.WAITING).asLong() > 0
                ? "; " + complete.path(ReportFromLedger.WAITING).asLong() + " rows wait (" + complete.path("state").asText()
                  + ")" : ""));
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
                } else {
                    // GET /files follows every tick: the status page shows a file move by the second
                    updateStatus(context, progress.keptName(), status(context, progress, complete(context,
                            TREES.valueToTree(progress.report(FileProgress.State.RUNNING, now)), reportName,
                            progress.keptName())));
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
        ObjectNode report = complete(context, TREES.valueToTree(progress.report(state, now)), reportName,
                progress.keptName());
        updateStatus(context, progress.keptName(), status(context, progress, report.deepCopy()));
        Exchange sent = send(context, reportName, text(report));
        if (sent.getException() != null && state == FileProgress.State.RUNNING) {
            // the next one follows within the interval; the final report, kept for later, says it if this goes on
            LOG.debug("{}: its running report could not be written to {}", progress.file(), reportsUri,
                    sent.getException());
        } else if (sent.getException() != null) {
            LOG.warn("{}: its {} report could not be written to {}: {}", progress.file(), state.label(), reportsUri,
                    sent.getException().getMessage());
        }
    }

    /**
     * A file whose read has ended has its report rewritten as it stands now (an event of one of its calls, a row of it
     * that waited and has now ended), from the report its read kept in the ledger: whichever replica read it. Nothing
     * while its file is still read: its next running report counts the change. Answers the report written, or null.
     */
    public synchronized ObjectNode rewriteKept(CamelContext context, String reportName, String keptName) {
        return oneReplicaAtATime(context, reportName, () -> rewriteKeptNow(context, reportName, keptName));
    }

    /**
     * Replicas sharing a PostgreSQL ledger rewrite one file's report (and its GET /files entry) one at a time, under a
     * lock of the database held until the rewrite is done: else two replicas whose rows of the file end together write
     * the report through the same temporary file (one rename fails), and the one that counted first may write last,
     * leaving the file "waiting" for a row that has ended. In one process the synchronized callers do the same.
     */
    private static <T> T oneReplicaAtATime(CamelContext context, String reportName, Supplier<T> rewrite) {
        CallLedger ledger = ledger(context);
        if (ledger.dialect() != CallLedger.Dialect.POSTGRESQL) {
            return rewrite.get();
        }
        return ledger.inTransaction(jdbc -> {
            jdbc.queryForList("SELECT pg_advisory_xact_lock(?, ?)", REPORT_LOCK, reportName.hashCode());
            return rewrite.get();
        });
    }

    private ObjectNode rewriteKeptNow(CamelContext context, String reportName, String keptName) {
        CallLedger ledger = ledger(context);
        if (keptName == null) {
            keptName = files(context).nameOfReport(reportName);
        }
        String kept = ledger.finalReport(reportName);
        if (kept == null) {
            return null;
        }
        ObjectNode report;
        try {
            // read as written: a BigDecimal would come back out as "1" where the report said 1.0
            report = (ObjectNode) TREES.readTree(kept);
        } catch (IOException | ClassCastException e) {
            LOG.warn("{}: its report kept in the ledger cannot be read, so it is not rewritten", reportName);
            return null;
        }
        report = complete(context, report, reportName, keptName);
        Exchange sent = send(context, reportName, text(report));
        if (sent.getException() != null) {
            // the counts stay in the ledger: the next change of the file rewrites them all
            LOG.warn("{}: its report could not be rewritten: {}", reportName, sent.getException().getMessage());
        }
        return report;
    }

    /**
     * A row of the file that waited has ended (schedule/WaitingRows): its report and its GET /files entry say so, the
     * row's failure among the latest ones.
     */
    public synchronized void waitingRowEnded(CamelContext context, String reportName, String keptName, Exchange row) {
        oneReplicaAtATime(context, reportName, () -> {
            updateAfterWaitingRow(context, reportName, keptName, row);
            return null;
        });
    }

    private void updateAfterWaitingRow(CamelContext context, String reportName, String keptName, Exchange row) {
        ObjectNode report = rewriteKeptNow(context, reportName, keptName);
        if (report == null) {
            // still read, here or on another replica: its reader's next status counts the row
            return;
        }
        FilesInProgress files = files(context);
        ObjectNode entry = files.entry(keptName);
        if (entry == null) {
            return;
        }
        ObjectNode updated = report.deepCopy();
        List.of("name", "originalName", "report", "results").forEach(field -> updated.set(field, entry.get(field)));
        ArrayNode failures = updated.putArray(LATEST_FAILURES);
        Map<String, Object> failure = FileProgress.failureOf(row.getProperty(OutcomeRecord.OUTCOME, String.class), row);
        if (failure != null) {
            failures.add(TREES.valueToTree(failure));
        }
        entry.path(LATEST_FAILURES).forEach(earlier -> {
            if (failures.size() < FileProgress.LATEST_FAILURES) {
                failures.add(earlier);
            }
        });
        updated.put("updatedAt", Timestamps.now());
        files.update(keptName, updated);
    }

    /** The file's GET /files entry: its report as it stands, its names and latest failures. */
    private static ObjectNode status(CamelContext context, FileProgress progress, ObjectNode report) {
        ObjectNode entry = Json.MAPPER.createObjectNode();
        entry.put("name", progress.keptName());
        entry.put("originalName", progress.file());
        report.fields().forEachRemaining(field -> {
            if (!"file".equals(field.getKey())) {
                entry.set(field.getKey(), field.getValue());
            }
        });
        entry.set(LATEST_FAILURES, TREES.valueToTree(progress.latestFailures()));
        entry.put("report", progress.reportName());
        entry.put("results", progress.keptName() + (progress.isCsv() ? ".results.csv" : ".results.jsonl"));
        entry.put("updatedAt", Timestamps.now());
        return entry;
    }

    private static void updateStatus(CamelContext context, String keptName, ObjectNode entry) {
        try {
            files(context).update(keptName, entry);
        } catch (RuntimeException e) {
            LOG.debug("{}: its GET /files entry was not updated", keptName, e);
        }
    }

    private static ObjectNode complete(CamelContext context, ObjectNode report, String reportName, String keptName) {
        return ReportFromLedger.complete(report, reportName, keptName, ledger(context),
                context.getRegistry().lookupByNameAndType("waitingRows", WaitingRows.class), files(context));
    }

    private Exchange send(CamelContext context, String reportName, String json) {
        return reports(context).send(reportsUri, ExchangePattern.InOnly, out -> {
            out.getMessage().setBody(json);
            out.getMessage().setHeader(Exchange.FILE_NAME, reportName);
        });
    }

    private static String text(Object report) {
        try {
            return Utf8.escapeUnpairedSurrogates(SecretMasking.mask(Json.MAPPER.writeValueAsString(report)));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static FilesInProgress files(CamelContext context) {
        return context.getRegistry().lookupByNameAndType("filesInProgress", FilesInProgress.class);
    }

    private static ResultsFiles resultsFiles(CamelContext context) {
        return context.getRegistry().lookupByNameAndType("resultsFiles", ResultsFiles.class);
    }

    private static CallLedger ledger(CamelContext context) {
        return CallLedger.of(context);
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

    /**
     * The name the file is kept under in inbox/.done (and listed under in GET /files): its report's time prefix and its
     * name, shortened as RequestFiles.keptName shortens it. Null for a request of no inbox file.
     */
    public static String keptNameOf(Exchange exchange) {
        if (exchange.getProperty(KEPT_PREFIX) == null || exchange.getProperty(FILE) == null) {
            return null;
        }
        return exchange.getProperty(KEPT_PREFIX, String.class) + "-"
               + RequestFiles.fit(exchange.getProperty(FILE, String.class),
                RequestFiles.MAX_NAME_BYTES - RequestFiles.KEPT_PREFIX_BYTES);
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
