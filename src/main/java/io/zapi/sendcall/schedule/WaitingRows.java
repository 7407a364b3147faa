package io.zapi.sendcall.schedule;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import com.fasterxml.jackson.core.JsonProcessingException;
import org.apache.camel.CamelContext;
import org.apache.camel.Exchange;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.zapi.sendcall.inbox.FileReport;
import io.zapi.sendcall.inbox.RequestRow;
import io.zapi.sendcall.inbox.ResultLine;
import io.zapi.sendcall.inbox.ResultsFiles;
import io.zapi.sendcall.pipeline.CallLedger;
import io.zapi.sendcall.pipeline.CallRequest;
import io.zapi.sendcall.pipeline.Json;
import io.zapi.sendcall.pipeline.RequestSource;
import io.zapi.sendcall.records.OutcomeRecord;

/**
 * The rows of inbox files that wait to be called, in the ledger: outside calling hours, before their notBefore, read
 * while their file was paused, or redialled. They survive a restart, and replicas sharing the ledger share them: each
 * due row is taken by one replica (routes/waiting-rows.camel.yaml), which hands it to the pipeline again as the row
 * of its file it is, so that it gets its record, its key and its place in the file's report and results then.
 */
public class WaitingRows {

    /** What a row waits for. */
    public enum WaitsFor {
        CALLING_HOURS, NOT_BEFORE, PAUSED, REDIAL;

        String label() {
            return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
        }
    }

    /** Set on the exchange of a row taken from here: where it came from, for {@link #ended}. */
    public static final String TAKEN = "waitingRow";
    static final String WAITING = "waiting";
    static final String REDIAL = "redial";
    private static final Logger LOG = LoggerFactory.getLogger(WaitingRows.class);

    private final CamelContext context;
    private volatile boolean startedOnce;

    /** One row taken to be called: what its exchange is made of. */
    public record Row(String report, long index, String keptName, String inboxFile, String keptPrefix, String drop,
                      String fileHash, String value, String precheck, int attempt, String redialOf,
                      String resultsName) {
    }

    /** What the ledger says of one file's rows beyond what its read counted. */
    public record Counts(int waiting, int added, Map<String, Integer> ended, Map<String, Integer> replaced,
                         Long nextDue, Long lastEnded, Map<String, Map<String, Integer>> endedByInstance,
                         Map<String, Map<String, Integer>> replacedByInstance) {
    }

    public WaitingRows(CamelContext context) {
        this.context = context;
    }

    /**
     * The row on this exchange waits until dueAt (epoch ms), for this reason: kept in the ledger, or, when it waits
     * already (taken again before its time: the window closed again), given its new time.
     */
    public void defer(Exchange exchange, String keptName, Instant dueAt, String reason, WaitsFor waitsFor) {
        RequestRow row = exchange.getMessage().getBody(RequestRow.class);
        RequestSource source = RequestSource.of(exchange);
        String value;
        try {
            value = Json.MAPPER.writeValueAsString(row.value());
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        String drop = exchange.getProperty(CallLedger.DROP, String.class);
        ledger().use(jdbc -> jdbc.update(
                "INSERT INTO waiting_rows (report, idx, file_name, inbox_file, kept_prefix, drop_name, file_hash, "
                + "row_value, precheck, attempt, due_at, reason, waits_for, state, results_name) VALUES (?, ?, ?, ?, ?, "
                + "?, ?, ?, ?, 1, ?, ?, ?, 'waiting', ?) ON CONFLICT (report, idx) DO UPDATE SET due_at = excluded.due_at, reason = "
                + "excluded.reason, waits_for = excluded.waits_for, state = 'waiting', taken_by = NULL",
                FileReport.reportNameOf(exchange), source.index(), keptName,
                exchange.getProperty(FileReport.FILE, String.class),
                exchange.getProperty(FileReport.KEPT_PREFIX, String.class), drop,
                exchange.getProperty("fileHash", String.class), value, row.precheck(), dueAt.toEpochMilli(), reason,
                waitsFor.label(), ResultsFiles.resultsNameOf(exchange)));
    }

    /**
     * Takes up to max rows that are due now (their time has come and their file is not paused) or whose file was
     * cancelled (they get their cancelled record at once): each is this replica's, no other takes it.
     */
    public List<Row> takeDue(int max) {
        long now = System.currentTimeMillis();
        CallLedger ledger = ledger();
        List<Row> due = ledger.use(jdbc -> jdbc.query(
                "SELECT w.report, w.idx, w.file_name, w.inbox_file, w.kept_prefix, w.drop_name, w.file_hash, "
                + "w.row_value, w.precheck, w.attempt, w.redial_of, w.results_name FROM waiting_rows w LEFT JOIN inbox_file_status f ON f.name = "
                + "w.file_name WHERE w.state = 'waiting' AND (f.control = 'cancelled' OR ((f.control IS NULL OR "
                + "f.control <> 'paused') AND w.due_at <= ?)) ORDER BY w.due_at, w.report, w.idx LIMIT ?",
                (r, i) -> new Row(r.getString(1), r.getLong(2), r.getString(3), r.getString(4), r.getString(5),
                        r.getString(6), r.getString(7), r.getString(8), r.getString(9), r.getInt(10),
                        r.getString(11), r.getString(12)), now, max));
        List<Row> taken = new ArrayList<>();
        for (Row row : due) {
            // one replica takes each: the update that finds it still waiting
            int updated = ledger.use(jdbc -> jdbc.update("UPDATE waiting_rows SET state = 'taken', taken_by = ? "
                                                         + "WHERE report = ? AND idx = ? AND state = 'waiting'",
                    ledger.nodeId(), row.report(), row.index()));
            if (updated == 1) {
                taken.add(row);
            }
        }
        return taken;
    }

    /**
     * Rows a replica took but never ended (it stopped while they were in the pipeline) wait again: the pipeline's key
     * tells then whether their call may have been placed, so none is placed twice. At start, this replica's own (SQLite:
     * every taken row, the ledger being this process's alone); on a shared ledger, also those of a replica whose
     * heartbeat is gone, looked at on every poll.
     */
    public void giveBackTaken() {
        CallLedger ledger = ledger();
        boolean atStart = !startedOnce;
        startedOnce = true;
        if (atStart) {
            // the calling hours may have changed since these rows were given their time: each is judged again by the
            // pipeline (one still outside the window waits again, for its new time)
            long now = System.currentTimeMillis();
            int rejudged = ledger.use(jdbc -> jdbc.update("UPDATE waiting_rows SET due_at = ? WHERE state = 'waiting' "
                                                          + "AND waits_for = 'calling-hours' AND due_at > ?", now, now));
            if (rejudged > 0) {
                LOG.info("{} rows waiting for calling hours are judged again by the calling hours now set", rejudged);
            }
        }
        if (ledger.dialect() == CallLedger.Dialect.SQLITE) {
            if (atStart) {
                ledger.use(jdbc -> jdbc.update("UPDATE waiting_rows SET state = 'waiting', taken_by = NULL WHERE "
                                               + "state = 'taken'"));
            }
            return;
        }
        ledger.use(jdbc -> jdbc.update("UPDATE waiting_rows SET state = 'waiting', taken_by = NULL WHERE state = "
                                       + "'taken' AND (taken_by = ? AND ? OR NOT EXISTS (SELECT 1 FROM nodes n WHERE "
                                       + "n.node_id = taken_by AND n.heartbeat > now() - make_interval(secs => ?)))",
                ledger.nodeId(), atStart, ledger.nodeTimeoutSeconds()));
    }

    /** Makes the exchange of a taken row what the inbox made it: the row of its file, from the same source. */
    public void prepare(Exchange exchange) throws JsonProcessingException {
        Row row = exchange.getMessage().getBody(Row.class);
        exchange.setProperty(TAKEN, row);
        exchange.setProperty(FileReport.FILE, row.inboxFile());
        exchange.setProperty(FileReport.KEPT_PREFIX, row.keptPrefix());
        exchange.setProperty("fileHash", row.fileHash());
        exchange.setProperty(CallLedger.DROP, row.drop());
        // its entry in its file's results is kept with its record and changed when it ends (ResultsFiles)
        exchange.setProperty(ResultsFiles.NAME, row.resultsName());
        int index = (int) row.index();
        exchange.setProperty(RequestSource.PROPERTY, new RequestSource("file", row.inboxFile(), index,
                "file:" + row.fileHash() + ":" + index, null, row.drop() != null ? "row:" + row.drop() + ":" + index
                : null, null));
        exchange.getMessage().setBody(new RequestRow(index, Json.MAPPER.readTree(row.value()), null, null,
                row.precheck()));
        if (row.attempt() > 1) {
            exchange.setProperty(OutcomeRecord.REDIAL, row.attempt());
            exchange.setProperty(OutcomeRecord.REDIAL_OF, row.redialOf());
        }
    }

    /**
     * A taken row is through the pipeline: done with its outcome, unless it was deferred again (the window closed in
     * the meantime: {@link #defer} gave it its new time). Its file's report and status follow.
     */
    public void ended(Exchange exchange) {
        Row row = exchange.getProperty(TAKEN, Row.class);
        String outcome = exchange.getProperty(OutcomeRecord.OUTCOME, "failed", String.class);
        if (!WAITING.equals(outcome)) {
            if (row.resultsName() != null) {
                results().lineChanged(row.resultsName(), (int) row.index(), ResultLine.of(exchange));
            }
            ledger().use(jdbc -> jdbc.update("UPDATE waiting_rows SET state = 'done', outcome = ?, taken_by = NULL, "
                                             + "ended_at = ?, instance = ? WHERE report = ? AND idx = ? AND state = "
                                             + "'taken'", outcome, System.currentTimeMillis(),
                    OutcomeRecord.instance(exchange, exchange.getProperty(OutcomeRecord.CALL_REQUEST,
                            CallRequest.class)), row.report(), row.index()));
        }
        try {
            context.getRegistry().lookupByNameAndType("fileReport", FileReport.class)
                    .waitingRowEnded(context, row.report(), row.keptName(), exchange);
        } catch (RuntimeException e) {
            LOG.warn("{}: its report could not be rewritten after its row {} ended: {}", row.keptName(), row.index(),
                    e.getMessage());
        }
    }

    /** How many rows wait now (or are taken to be called), of every file and replica. */
    public long waitingCount() {
        return ledger().use(jdbc -> jdbc.queryForObject("SELECT COUNT(*) FROM waiting_rows WHERE state IN "
                                                        + "('waiting', 'taken')", Long.class));
    }

    /** What the ledger holds of this file's rows: waiting, ended since they waited, and the outcomes redials replace. */
    public Counts countsOf(String report) {
        int[] waiting = {0};
        int[] added = {0};
        Long[] nextDue = {null};
        Long[] lastEnded = {null};
        Map<String, Integer> ended = new TreeMap<>();
        Map<String, Integer> replaced = new TreeMap<>();
        Map<String, Map<String, Integer>> endedByInstance = new TreeMap<>();
        Map<String, Map<String, Integer>> replacedByInstance = new TreeMap<>();
        ledger().use(jdbc -> {
            jdbc.query("SELECT state, outcome, replaced_outcome, COUNT(*), MIN(due_at), MAX(ended_at), instance, "
                       + "replaced_instance FROM waiting_rows WHERE report = ? GROUP BY state, outcome, replaced_outcome, "
                       + "instance, replaced_instance", r -> {
                String state = r.getString(1);
                String replacedOutcome = r.getString(3);
                int count = r.getInt(4);
                if ("done".equals(state)) {
                    ended.merge(r.getString(2), count, Integer::sum);
                    endedByInstance.computeIfAbsent(instanceOr(r.getString(7)), k -> new TreeMap<>())
                            .merge(r.getString(2), count, Integer::sum);
                    long endedAt = r.getLong(6);
                    lastEnded[0] = lastEnded[0] == null ? endedAt : Math.max(lastEnded[0], endedAt);
                } else {
                    waiting[0] += count;
                    long due = r.getLong(5);
                    nextDue[0] = nextDue[0] == null ? due : Math.min(nextDue[0], due);
                }
                if (replacedOutcome != null) {
                    replaced.merge(replacedOutcome, count, Integer::sum);
                    replacedByInstance.computeIfAbsent(instanceOr(r.getString(8)), k -> new TreeMap<>())
                            .merge(replacedOutcome, count, Integer::sum);
                } else {
                    added[0] += count;
                }
            }, report);
            return null;
        });
        return new Counts(waiting[0], added[0], ended, replaced, nextDue[0], lastEnded[0], endedByInstance,
                replacedByInstance);
    }

    /** The report's name for rows that got no instance (FileProgress.NO_INSTANCE). */
    private static String instanceOr(String instance) {
        return instance != null ? instance : "none";
    }


    private ResultsFiles results() {
        return context.getRegistry().lookupByNameAndType("resultsFiles", ResultsFiles.class);
    }

    private CallLedger ledger() {
        return CallLedger.of(context);
    }
}
