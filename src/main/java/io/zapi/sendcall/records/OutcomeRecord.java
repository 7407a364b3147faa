package io.zapi.sendcall.records;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import io.swagger.v3.oas.annotations.media.Schema;
import io.swagger.v3.oas.annotations.media.Schema.RequiredMode;
import org.apache.camel.Exchange;

import io.zapi.sendcall.pipeline.CallLedger;
import io.zapi.sendcall.pipeline.CallRequest;
import io.zapi.sendcall.pipeline.Json;
import io.zapi.sendcall.pipeline.RequestSource;
import io.zapi.sendcall.pipeline.RequestValidator;
import io.zapi.sendcall.pipeline.Utf8;
import io.zapi.sendcall.runtime.SecretMasking;
import io.zapi.sendcall.zapi.ZapiInstance;
import io.zapi.sendcall.zapi.ZapiInstances;

/**
 * What became of one request: the same record whatever the outcome and the input, written to its outcome's endpoint,
 * answered over HTTP and JMS, and described as the OpenAPI document's outcome record. {@link #build} makes it from what
 * the pipeline left in the exchange; the finished text goes through {@link SecretMasking}, so no record carries a
 * token.
 */
@Schema(name = "OutcomeRecord", description = "What became of the request; the same record is written to the outbox "
                                              + "folder (endpoint) of its outcome.")
public record OutcomeRecord(
        @Schema(requiredMode = RequiredMode.REQUIRED, example = "1",
                description = "The record's format; the README's Changes section says what each version changed")
        int recordVersion,
        @Schema(requiredMode = RequiredMode.REQUIRED, description = "The outcome's name (see the README's Outcome "
                                                                   + "record): what became of the request")
        String outcome,
        @Schema(requiredMode = RequiredMode.REQUIRED, format = "uuid",
                description = "Unique per request; also the record's file name")
        String correlationId,
        @Schema(nullable = true, description = "The Idempotency-Key header, else the request's id, else null")
        String id,
        @Schema(requiredMode = RequiredMode.REQUIRED)
        Source source,
        @Schema(nullable = true, description = "The send-call body sent to Z-API, {\"phone\", \"callDuration\"}; "
                                               + "for a rejected request, the input as received")
        Object request,
        @Schema(nullable = true, example = "default", description = "The Z-API instance the call went through (its "
                + "name: default, or a zapi.instances.<name>), or that the request asked for; null when neither")
        String instance,
        @Schema(nullable = true, description = "Z-API's HTTP status, null when there was no answer")
        Integer status,
        @Schema(nullable = true, description = "Z-API's body (JSON when it is JSON, else text); on success it "
                                               + "holds zaapId, messageId and id")
        Object response,
        @Schema(nullable = true, description = "Why the call did not succeed, null on success")
        String error,
        @Schema(requiredMode = RequiredMode.REQUIRED,
                description = "How many times Z-API was called (0 for a rejected or duplicate request)")
        int attempts,
        @Schema(nullable = true, format = "uuid",
                description = "For a duplicate: the correlationId of the request first handled with this key")
        String duplicateOf,
        @Schema(requiredMode = RequiredMode.REQUIRED, format = "date-time",
                description = "When the record was made: UTC, three fractional digits")
        String timestamp,
        @Schema(requiredMode = RequiredMode.REQUIRED, description = "The replica that handled the request: its "
                + "zapi.node-id (by default host name and process id), as in the shared ledger")
        String node,
        @Schema(nullable = true, description = "What the number pre-check (zapi.precheck, inbox files only) found: "
                + "\"passed\", \"not on WhatsApp\" (then rejected, never called) or \"skipped: <reason>\" (the "
                + "check failed; called as without it); null when the row was not checked")
        String precheck,
        @Schema(nullable = true, example = "2", description = "Which call of its inbox row this is when missed calls "
                + "are redialled (zapi.redial.max-attempts): 2 for the first redial, and so on; null for a first call")
        Integer redial,
        @Schema(nullable = true, format = "uuid", description = "For a redial: the correlationId of the missed "
                + "call it follows; else null")
        String redialOf) {

    /** Exchange property of a row taken to be redialled: which call of the row it is (2 for the first redial). */
    public static final String REDIAL = "redial";
    /** Exchange property of a redial: the correlationId of the missed call it follows. */
    public static final String REDIAL_OF = "redialOf";

    /** The version of the record's format this module writes; see the README's Changes section. */
    public static final int VERSION = 1;

    // the exchange properties the pipeline leaves for the record
    public static final String OUTCOME = "outcome";
    public static final String CORRELATION_ID = "correlationId";
    public static final String CALL_REQUEST = "callRequest";
    public static final String STATUS = "zapiStatus";
    public static final String RESPONSE = "zapiResponse";
    public static final String ERROR = "error";
    public static final String ATTEMPTS = "attempts";
    public static final String DUPLICATE_OF = "duplicateOf";
    /** Exchange property: the endpoint the record goes to, its outcome's {@code zapi.outcome.<name>-uri}. */
    public static final String RECORD_URI = "recordUri";

    @Schema(name = "Source", description = "Where the request came from")
    public record Source(
            @Schema(requiredMode = RequiredMode.REQUIRED, example = "http", description = "file, http or jms")
            String channel,
            @Schema(requiredMode = RequiredMode.REQUIRED, description = "The inbox file's name, the Idempotency-Key "
                    + "header or an id the module gave the HTTP request, or the JMS message's name")
            String name,
            @Schema(nullable = true, description = "The 1-based place of the request in a file holding several; "
                                                   + "else null")
            Integer index) {
    }

    /**
     * Makes the record of the exchange's request as the body, names its file {@code <correlationId>.json}, and says
     * where it goes (property {@link #RECORD_URI}).
     */
    public static void build(Exchange exchange) throws JsonProcessingException {
        String correlationId = CallLedger.correlationId(exchange);
        exchange.setProperty(CORRELATION_ID, correlationId);
        CallRequest request = exchange.getProperty(CALL_REQUEST, CallRequest.class);
        Outcome outcome = Outcome.of(exchange.getProperty(OUTCOME, String.class));
        RequestSource source = RequestSource.of(exchange);
        OutcomeRecord record = new OutcomeRecord(VERSION, outcome.label(), correlationId,
                request != null ? request.id() : null, new Source(source.channel(), source.name(), source.index()),
                request != null ? request.sendCallBody() : exchange.getProperty(RequestValidator.INPUT),
                instance(exchange, request),
                exchange.getProperty(STATUS, Integer.class),
                response(exchange.getProperty(RESPONSE, String.class)),
                exchange.getProperty(ERROR, String.class),
                exchange.getProperty(ATTEMPTS, 0, Integer.class),
                exchange.getProperty(DUPLICATE_OF, String.class),
                Timestamps.now(),
                node(exchange),
                exchange.getProperty(RequestValidator.PRECHECK, String.class),
                exchange.getProperty(REDIAL, Integer.class),
                exchange.getProperty(REDIAL_OF, String.class));

        exchange.getMessage().setBody(Utf8.escapeUnpairedSurrogates(
                SecretMasking.mask(Json.MAPPER.writeValueAsString(record))));
        exchange.getMessage().setHeader(Exchange.FILE_NAME, correlationId + ".json");
        exchange.getMessage().setHeader(Exchange.CONTENT_TYPE, "application/json");
        exchange.setProperty(RECORD_URI, OutcomeUris.of(exchange.getContext(), outcome));
    }

    /** The name of the instance the call went through, else the one the request asked for; null when neither. */
    public static String instance(Exchange exchange, CallRequest request) {
        ZapiInstance picked = exchange.getProperty(ZapiInstances.PROPERTY, ZapiInstance.class);
        if (picked != null) {
            return picked.name();
        }
        return request != null ? request.instance() : null;
    }

    /** This replica's name, as the ledger knows it. */
    private static String node(Exchange exchange) {
        CallLedger ledger = CallLedger.of(exchange.getContext());
        return ledger != null ? ledger.nodeId() : null;
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
