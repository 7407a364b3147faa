package io.zapi.sendcall.inbox;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import org.apache.camel.Exchange;

import io.zapi.sendcall.pipeline.CallRequest;
import io.zapi.sendcall.pipeline.RequestSource;
import io.zapi.sendcall.pipeline.RequestValidator;
import io.zapi.sendcall.records.OutcomeRecord;
import io.zapi.sendcall.runtime.SecretMasking;

/**
 * One request's entry in its inbox file's results file: always these columns, in this order, whatever the input.
 *
 * @param index         the request's place in the input (CSV row, JSONL line, array element); null for a lone value
 * @param phone         the normalised phone when the request was valid, else the value as given (or null)
 * @param outcome       as in the record; {@code waiting} while the row is deferred
 * @param event         {@code answered} or {@code missed} once the call's event came (call events on)
 */
@JsonPropertyOrder({"index", "phone", "id", "outcome", "correlationId", "status", "zaapId", "error", "event"})
public record ResultLine(Integer index, String phone, String id, String outcome, String correlationId, Integer status,
                         String zaapId, String error, String event) {

    /** The columns, in order: the CSV header. */
    public static final List<String> COLUMNS = List.of("index", "phone", "id", "outcome", "correlationId", "status",
            "zaapId", "error", "event");
    /** The outcome of a deferred row (calling hours, notBefore, a paused file) until it is called. */
    public static final String WAITING = "waiting";
    /** Plain JSON, one line per entry: not the request reader's mapper, whose numbers are BigDecimal and BigInteger. */
    static final ObjectMapper JSON = JsonMapper.builder().build();

    /**
     * The entry of the row that ended on this exchange, from what the pipeline left there (as its record takes it);
     * every text masked like records are.
     */
    public static ResultLine of(Exchange row) {
        CallRequest request = row.getProperty(OutcomeRecord.CALL_REQUEST, CallRequest.class);
        Object input = row.getProperty(RequestValidator.INPUT);
        String outcome = row.getProperty(OutcomeRecord.OUTCOME, "failed", String.class);
        String phone = request != null ? request.phone() : given(input, "phone");
        String id = request != null ? request.id() : given(input, "id");
        Integer index = RequestSource.of(row).index();
        if (WAITING.equals(outcome)) {
            return new ResultLine(index, clean(phone), clean(id), outcome, null, null, null, null, null);
        }
        return new ResultLine(index, clean(phone), clean(id), outcome,
                row.getProperty(OutcomeRecord.CORRELATION_ID, String.class),
                row.getProperty(OutcomeRecord.STATUS, Integer.class),
                clean(zaapId(row.getProperty(OutcomeRecord.RESPONSE, String.class))),
                clean(row.getProperty(OutcomeRecord.ERROR, String.class)), null);
    }

    /** The same entry, with the call's event. */
    public ResultLine withEvent(String callEvent) {
        return new ResultLine(index, phone, id, outcome, correlationId, status, zaapId, error, callEvent);
    }

    /** As kept in the ledger and written in a .results.jsonl file: one JSON object on one line. */
    public String toJson() {
        try {
            return JSON.writeValueAsString(this);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a results line could not be written as JSON", e);
        }
    }

    public static ResultLine fromJson(String json) {
        try {
            return JSON.readValue(json, ResultLine.class);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("not a results line: " + e.getOriginalMessage(), e);
        }
    }

    /**
     * The CSV cells, by column. A text a spreadsheet would take for a formula (starting with =, +, -, @, a tab or a
     * carriage return) gets a leading apostrophe, as OWASP's CSV injection advice says, so that it shows as text.
     */
    Map<String, Object> csvCells() {
        Map<String, Object> cells = new LinkedHashMap<>();
        cells.put("index", index);
        cells.put("phone", asText(phone));
        cells.put("id", asText(id));
        cells.put("outcome", asText(outcome));
        cells.put("correlationId", asText(correlationId));
        cells.put("status", status);
        cells.put("zaapId", asText(zaapId));
        cells.put("error", asText(error));
        cells.put("event", asText(event));
        return cells;
    }

    /** An entry read back from a CSV results file: cells as written (an apostrophe added before stays). */
    static ResultLine fromCsv(Map<String, String> cells) {
        return new ResultLine(integer(cells.get("index")), empty(cells.get("phone")), empty(cells.get("id")),
                empty(cells.get("outcome")), empty(cells.get("correlationId")), integer(cells.get("status")),
                empty(cells.get("zaapId")), empty(cells.get("error")), empty(cells.get("event")));
    }

    static String asText(String value) {
        if (value == null || value.isEmpty()) {
            return value;
        }
        char first = value.charAt(0);
        return first == '=' || first == '+' || first == '-' || first == '@' || first == '\t' || first == '\r'
                ? "'" + value : value;
    }

    private static String empty(String cell) {
        return cell == null || cell.isEmpty() ? null : cell;
    }

    private static Integer integer(String cell) {
        return cell == null || cell.isEmpty() ? null : Integer.valueOf(cell);
    }

    /** A field of the input as given, as text (a number too); null when it has none or was not JSON. */
    private static String given(Object input, String field) {
        if (input instanceof JsonNode node && node.isObject()) {
            JsonNode value = node.get(field);
            return value == null || value.isNull() ? null : value.isValueNode() ? value.asText() : value.toString();
        }
        return null;
    }

    private static String zaapId(String response) {
        if (response == null || response.isBlank()) {
            return null;
        }
        try {
            JsonNode json = JSON.readTree(response);
            JsonNode zaapId = json == null ? null : json.get("zaapId");
            return zaapId != null && zaapId.isValueNode() && !zaapId.isNull() ? zaapId.asText() : null;
        } catch (JsonProcessingException notJson) {
            return null;
        }
    }

    /** Masked like records; a lone surrogate (not UTF-8 writable) becomes U+FFFD. */
    private static String clean(String value) {
        if (value == null) {
            return null;
        }
        String masked = SecretMasking.mask(value);
        StringBuilder clean = new StringBuilder(masked.length());
        for (int i = 0; i < masked.length(); i++) {
            char c = masked.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < masked.length() && Character.isLowSurrogate(masked.charAt(i + 1))) {
                clean.append(c).append(masked.charAt(++i));
            } else {
                clean.append(Character.isSurrogate(c) ? '\uFFFD' : c);
            }
        }
        return clean.toString();
    }
}
