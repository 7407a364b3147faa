package io.zapi.sendcall.inbox;

import java.time.Instant;
import java.util.Iterator;
import java.util.Map;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.zapi.sendcall.files.FilesInProgress;
import io.zapi.sendcall.pipeline.CallLedger;
import io.zapi.sendcall.records.Timestamps;
import io.zapi.sendcall.schedule.WaitingRows;

/**
 * What the ledger adds to a file's report, whichever replica wrote it: the rows that wait (calling hours, notBefore,
 * paused, a redial) and those that ended since they waited, its call events (answered, missed), and what its user asked
 * (paused, cancelled). The report a file's read makes counts the rows it ended; this turns it into the file's report
 * as it stands, so that its running reports, its final one and every rewrite after (an event, a waiting row called)
 * say the same.
 */
final class ReportFromLedger {

    static final String WAITING = "waiting";
    static final String NEXT_WINDOW = "nextWindow";
    private static final Logger LOG = LoggerFactory.getLogger(ReportFromLedger.class);

    private ReportFromLedger() {
    }

    /** The report as it stands: report is the file read's own (its counts), changed in place. */
    static ObjectNode complete(ObjectNode report, String reportName, String keptName, CallLedger ledger,
                               WaitingRows waitingRows, FilesInProgress files) {
        WaitingRows.Counts rows = null;
        FilesInProgress.Control control = null;
        try {
            rows = waitingRows != null ? waitingRows.countsOf(reportName) : null;
            control = files != null && keptName != null ? files.control(keptName) : null;
        } catch (RuntimeException e) {
            LOG.debug("{}: its waiting rows could not be counted", reportName, e);
        }
        if (rows != null) {
            ObjectNode outcomes = report.with("outcomes");
            rows.ended().forEach((outcome, count) -> outcomes.put(outcome, outcomes.path(outcome).asLong() + count));
            rows.replaced().forEach((outcome, count) -> outcomes.put(outcome, outcomes.path(outcome).asLong() - count));
            for (Iterator<Map.Entry<String, com.fasterxml.jackson.databind.JsonNode>> it = outcomes.fields();
                 it.hasNext(); ) {
                if (it.next().getValue().asLong() <= 0) {
                    it.remove();
                }
            }
            report.put("requests", report.path("requests").asLong() + rows.added());
            ObjectNode instances = report.with("instances");
            rows.endedByInstance().forEach((instance, counts) -> counts.forEach((outcome, count) ->
                    instances.with(instance).put(outcome, instances.with(instance).path(outcome).asLong() + count)));
            rows.replacedByInstance().forEach((instance, counts) -> counts.forEach((outcome, count) ->
                    instances.with(instance).put(outcome, instances.with(instance).path(outcome).asLong() - count)));
            for (Iterator<Map.Entry<String, com.fasterxml.jackson.databind.JsonNode>> byInstance = instances.fields();
                 byInstance.hasNext(); ) {
                com.fasterxml.jackson.databind.JsonNode counts = byInstance.next().getValue();
                for (Iterator<Map.Entry<String, com.fasterxml.jackson.databind.JsonNode>> it = counts.fields();
                     it.hasNext(); ) {
                    if (it.next().getValue().asLong() <= 0) {
                        it.remove();
                    }
                }
                if (counts.isEmpty()) {
                    byInstance.remove();
                }
            }
        }
        int waiting = rows != null ? rows.waiting() : 0;
        report.put(WAITING, waiting);
        String state = report.path("state").asText();
        boolean readEnded = "done".equals(state);
        String now = state;
        if ("running".equals(state) || readEnded) {
            if (control == FilesInProgress.Control.CANCELLED) {
                now = "running".equals(state) || waiting > 0 ? "cancelling" : "cancelled";
            } else if (control == FilesInProgress.Control.PAUSED && (waiting > 0 || "running".equals(state))) {
                now = "paused";
            } else if (readEnded && waiting > 0) {
                now = WAITING;
            }
        }
        report.put("state", now);
        report.put(NEXT_WINDOW, waiting > 0 && control == null && rows.nextDue() != null
                ? Timestamps.format(Instant.ofEpochMilli(rows.nextDue())) : null);
        if (readEnded && waiting > 0) {
            long requests = report.path("requests").asLong();
            report.put("progress", requests <= 0 ? 0.0
                    : Math.floor((requests - waiting) * 10_000.0 / requests) / 10_000);
            report.putNull("finishedAt");
            report.putNull("etaSeconds");
        } else if (readEnded && rows != null && rows.lastEnded() != null) {
            // ended when its last waiting row did
            Instant finished = Instant.ofEpochMilli(rows.lastEnded());
            Instant read = report.path("finishedAt").isTextual()
                    ? Instant.parse(report.path("finishedAt").asText()) : finished;
            if (finished.isAfter(read)) {
                report.put("finishedAt", Timestamps.format(finished));
                if (report.path("startedAt").isTextual()) {
                    report.put("durationMs", finished.toEpochMilli()
                                             - Instant.parse(report.path("startedAt").asText()).toEpochMilli());
                }
            }
        }
        Map<String, Integer> events = null;
        try {
            events = ledger != null ? ledger.eventCountsOfReport(reportName) : null;
        } catch (RuntimeException e) {
            LOG.debug("{}: its call events could not be counted", reportName, e);
        }
        report.put(FileReport.ANSWERED, events != null ? events.getOrDefault(FileReport.ANSWERED, 0) : null);
        report.put(FileReport.MISSED, events != null ? events.getOrDefault(FileReport.MISSED, 0) : null);
        return report;
    }
}
