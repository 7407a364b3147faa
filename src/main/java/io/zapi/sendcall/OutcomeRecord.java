package io.zapi.sendcall;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import org.apache.camel.Exchange;

/**
 * Builds the outcome record, the same shape whatever the outcome, from what the pipeline left in exchange
 * properties. The finished text goes through {@link SecretMasking} so no record can carry a token.
 */
public class OutcomeRecord {

    public static final String OUTCOME = "outcome";
    public static final String CORRELATION_ID = "correlationId";
    public static final String SOURCE_CHANNEL = "sourceChannel";
    public static final String SOURCE_NAME = "sourceName";
    public static final String SOURCE_INDEX = "sourceIndex";
    public static final String CALL_REQUEST = "callRequest";
    public static final String STATUS = "zapiStatus";
    public static final String RESPONSE = "zapiResponse";
    public static final String ERROR = "error";
    public static final String ATTEMPTS = "attempts";
    public static final String DUPLICATE_OF = "duplicateOf";
    /** Exchange property: the endpoint the record goes to, the setting zapi.outcome.<outcome>-uri. */
    public static final String RECORD_URI = "recordUri";

    private final Map<String, String> uris = new ConcurrentHashMap<>();

    /** Sets the record as the body and names its file {@code <correlationId>.json}. */
    public void build(Exchange exchange) throws JsonProcessingException {
        String correlationId = exchange.getProperty(CORRELATION_ID, String.class);
        CallRequest request = exchange.getProperty(CALL_REQUEST, CallRequest.class);
        Integer status = exchange.getProperty(STATUS, Integer.class);

        Map<String, Object> source = new LinkedHashMap<>();
        source.put("channel", exchange.getProperty(SOURCE_CHANNEL, String.class));
        source.put("name", exchange.getProperty(SOURCE_NAME, String.class));
        source.put("index", exchange.getProperty(SOURCE_INDEX, Integer.class));

        Map<String, Object> record = new LinkedHashMap<>();
        record.put("outcome", exchange.getProperty(OUTCOME, String.class));
        record.put("correlationId", correlationId);
        record.put("id", request != null ? request.id() : null);
        record.put("source", source);
        record.put("request", request != null ? request.sendCallBody() : exchange.getProperty(RequestValidator.INPUT));
        record.put("status", status);
        record.put("response", response(exchange.getProperty(RESPONSE, String.class)));
        record.put("error", exchange.getProperty(ERROR, String.class));
        record.put("attempts", exchange.getProperty(ATTEMPTS, 0, Integer.class));
        record.put("duplicateOf", exchange.getProperty(DUPLICATE_OF, String.class));
        record.put("timestamp", Timestamps.now());

        exchange.getMessage().setBody(Utf8.escapeUnpairedSurrogates(
                SecretMasking.mask(Json.MAPPER.writeValueAsString(record))));
        exchange.getMessage().setHeader(Exchange.FILE_NAME, correlationId + ".json");
        exchange.getMessage().setHeader(Exchange.CONTENT_TYPE, "application/json");
        String outcome = exchange.getProperty(OUTCOME, String.class);
        exchange.setProperty(RECORD_URI, uris.computeIfAbsent(outcome, name -> exchange.getContext()
                .resolvePropertyPlaceholders("{{zapi.outcome." + name + "-uri}}")));
    }

    /** Z-API's body as JSON when it is JSON, else as text; null when there was none. */
    private static Object response(String body) {
        if (body == null || body.isBlank()) {
            return null;
        }
        try {
            JsonNode json = Json.MAPPER.readTree(body);
            return json;
        } catch (JsonProcessingException notJson) {
            // masked before it is cut, so that no part of a secret can show where the cut falls inside it
            String masked = SecretMasking.mask(body);
            return masked.length() <= 4096 ? masked : masked.substring(0, 4096) + "...";
        }
    }
}
