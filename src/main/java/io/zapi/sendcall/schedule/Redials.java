package io.zapi.sendcall.schedule;

import java.time.Instant;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import org.apache.camel.CamelContext;
import org.apache.camel.Exchange;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.zapi.sendcall.inbox.FileReport;
import io.zapi.sendcall.inbox.ResultLine;
import io.zapi.sendcall.inbox.ResultsFiles;
import io.zapi.sendcall.pipeline.CallLedger;
import io.zapi.sendcall.pipeline.CallRequest;
import io.zapi.sendcall.pipeline.Json;
import io.zapi.sendcall.pipeline.RequestSource;
import io.zapi.sendcall.pipeline.RequestValidator;
import io.zapi.sendcall.records.OutcomeRecord;
import io.zapi.sendcall.records.Timestamps;

/**
 * Redials of missed calls (zapi.redial.max-attempts, zapi.redial.delay-minutes): each placed call of an inbox row is
 * remembered in the ledger (table placed_rows), and a missed event of it (routes/call-events.camel.yaml) makes the
 * row a waiting row again (WaitingRows), due after the delay, as the next call of the row: its own key and record.
 */
public class Redials {

    private static final Logger LOG = LoggerFactory.getLogger(Redials.class);
    private static final String WAITING = WaitingRows.WAITING;

    private final CamelContext context;
    /** zapi.redial.max-attempts: how many times a missed call of an inbox row is called again; 0 = never. */
    private final int redialMaxAttempts;
    /** zapi.redial.delay-minutes: how long after the missed call's event. */
    private final long redialDelayMs;

    public Redials(CamelContext context, int redialMaxAttempts, double redialDelayMinutes) {
        this.context = context;
        this.redialMaxAttempts = redialMaxAttempts;
        this.redialDelayMs = Math.round(redialDelayMinutes * 60_000);
    }

    /**
     * With redials on (zapi.redial.max-attempts): a call of an inbox row that was placed is remembered with its
     * request, so that a missed event can have it called again. Nothing otherwise.
     */
    public void rememberPlaced(Exchange exchange) throws JsonProcessingException {
        String keptName = FileReport.keptNameOf(exchange);
        CallRequest request = exchange.getProperty(OutcomeRecord.CALL_REQUEST, CallRequest.class);
        if (redialMaxAttempts == 0 || keptName == null || request == null
            || !"success".equals(exchange.getProperty(OutcomeRecord.OUTCOME, String.class))) {
            return;
        }
        RequestSource source = RequestSource.of(exchange);
        // the request as validated: the same call again, whatever the row held beside it
        Map<String, Object> value = new java.util.LinkedHashMap<>();
        value.put("phone", request.phone());
        value.put("callDuration", request.callDuration());
        value.put("id", request.id());
        value.put("callAudioUrl", request.callAudioUrl());
        value.put("instance", request.instance());
        String json = Json.MAPPER.writeValueAsString(value);
        ledger().use(jdbc -> jdbc.update("INSERT INTO placed_rows (correlation_id, report, idx, file_name, inbox_file, "
                                         + "kept_prefix, drop_name, file_hash, row_value, precheck, attempt, placed_at, "
                                         + "results_name, instance) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON "
                                         + "CONFLICT DO NOTHING",
                exchange.getProperty(OutcomeRecord.CORRELATION_ID, String.class), FileReport.reportNameOf(exchange),
                source.index(), keptName, exchange.getProperty(FileReport.FILE, String.class),
                exchange.getProperty(FileReport.KEPT_PREFIX, String.class),
                exchange.getProperty(CallLedger.DROP, String.class), exchange.getProperty("fileHash", String.class),
                json, exchange.getProperty(RequestValidator.PRECHECK, String.class),
                exchange.getProperty(OutcomeRecord.REDIAL, 1, Integer.class), System.currentTimeMillis(),
                ResultsFiles.resultsNameOf(exchange), OutcomeRecord.instance(exchange, request)));
    }

    /**
     * Z-API's webhook says this call was missed: its row is called again zapi.redial.delay-minutes from now (inside
     * calling hours: the pipeline's schedule step holds it for the window), as long as it has redials left. Only for
     * the row's latest call: a late event of an earlier one changes nothing. Answers whether a redial was scheduled.
     */
    public boolean redialMissed(String correlationId) {
        if (redialMaxAttempts == 0 || correlationId == null) {
            return false;
        }
        CallLedger ledger = ledger();
        return ledger.inTransaction(jdbc -> {
            List<Map<String, Object>> placed = jdbc.queryForList("SELECT report, idx, file_name, inbox_file, kept_prefix, "
                    + "drop_name, file_hash, row_value, precheck, attempt, results_name, instance FROM placed_rows WHERE "
                    + "correlation_id = ?",
                    correlationId);
            if (placed.isEmpty()) {
                return false;
            }
            Map<String, Object> call = placed.get(0);
            int attempt = ((Number) call.get("attempt")).intValue();
            if (attempt > redialMaxAttempts) {
                LOG.info("{} row {}: its call {} was missed, and it has had its {} redials (zapi.redial.max-attempts)",
                        call.get("file_name"), call.get("idx"), correlationId, redialMaxAttempts);
                return false;
            }
            long due = System.currentTimeMillis() + redialDelayMs;
            String reason = "redial " + attempt + " of " + redialMaxAttempts + " of a missed call";
            List<Integer> existing = jdbc.queryForList("SELECT attempt FROM waiting_rows WHERE report = ? AND idx = ?",
                    Integer.class, call.get("report"), call.get("idx"));
            if (existing.isEmpty()) {
                // the row's first call was counted in its file's report: the redial takes its place there
                jdbc.update("INSERT INTO waiting_rows (report, idx, file_name, inbox_file, kept_prefix, drop_name, "
                            + "file_hash, row_value, precheck, attempt, due_at, reason, waits_for, state, "
                            + "replaced_outcome, redial_of, results_name, replaced_instance) VALUES (?, ?, ?, ?, ?, ?, ?, "
                            + "?, ?, ?, ?, ?, 'redial', 'waiting', 'success', ?, ?, ?)", call.get("report"),
                        call.get("idx"), call.get("file_name"), call.get("inbox_file"), call.get("kept_prefix"),
                        call.get("drop_name"), call.get("file_hash"), call.get("row_value"), call.get("precheck"),
                        attempt + 1, due, reason, correlationId, call.get("results_name"), call.get("instance"));
            } else if (existing.get(0) == attempt) {
                jdbc.update("UPDATE waiting_rows SET attempt = ?, due_at = ?, reason = ?, waits_for = 'redial', state = "
                            + "'waiting', outcome = NULL, ended_at = NULL, taken_by = NULL, redial_of = ? WHERE report "
                            + "= ? AND idx = ?", attempt + 1, due, reason, correlationId, call.get("report"),
                        call.get("idx"));
            } else {
                // an event of an earlier call of the row, come late: the row has moved on
                return false;
            }
            if (call.get("results_name") != null) {
                // the row's entry in its results says it waits, until its redial ends
                JsonNode request = readTree(String.valueOf(call.get("row_value")));
                int index = ((Number) call.get("idx")).intValue();
                results().lineChanged(String.valueOf(call.get("results_name")), index, new ResultLine(index,
                        request.path("phone").asText(null), request.path("id").asText(null), WAITING, null, null, null,
                        null, null));
            }
            LOG.info("{} row {}: its call {} was missed; redial {} of {} at {}", call.get("file_name"), call.get("idx"),
                    correlationId, attempt, redialMaxAttempts, Timestamps.format(
                            Instant.ofEpochMilli(due)));
            return true;
        });
    }

    private static JsonNode readTree(String json) {
        try {
            return Json.MAPPER.readTree(json);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private ResultsFiles results() {
        return context.getRegistry().lookupByNameAndType("resultsFiles", ResultsFiles.class);
    }

    private CallLedger ledger() {
        return CallLedger.of(context);
    }
}
