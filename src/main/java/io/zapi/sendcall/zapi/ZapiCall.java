package io.zapi.sendcall.zapi;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import org.apache.camel.Exchange;

import io.zapi.sendcall.pipeline.Json;
import io.zapi.sendcall.records.OutcomeRecord;
import io.zapi.sendcall.runtime.SecretMasking;

/**
 * What the call-zapi route needs beyond what YAML says well: the request's instance (its URL, path and Client-Token),
 * and whether a 200 is Z-API's.
 */
public final class ZapiCall {

    /** How much of an answer without a zaapId the reason quotes; the record keeps the whole answer. */
    static final int QUOTED_ANSWER_CHARS = 200;

    /** The base URL of the request's instance (property {@link ZapiInstances#PROPERTY}), for the CamelHttpUri header. */
    public static String baseUrl(Exchange exchange) {
        return instance(exchange).baseUrl();
    }

    /** The send-call path of the request's instance, with its id and token: see {@link ZapiInstance#sendCallPath}. */
    public static String sendCallPath(Exchange exchange) {
        return instance(exchange).sendCallPath();
    }

    /** The number pre-check's path on the instance (routes/precheck-numbers.camel.yaml), made as the send-call one. */
    public static String phoneExistsBatchPath(Exchange exchange) {
        return instance(exchange).phoneExistsBatchPath();
    }

    public static String clientToken(Exchange exchange) {
        return instance(exchange).clientToken();
    }

    private static ZapiInstance instance(Exchange exchange) {
        return exchange.getProperty(ZapiInstances.PROPERTY, ZapiInstance.class);
    }

    /** Whether Z-API's answer (property zapiResponse) is a JSON object with a zaapId that is a non-blank string. */
    public static boolean hasZaapId(Exchange exchange) {
        JsonNode answer = json(exchange.getProperty(OutcomeRecord.RESPONSE, String.class));
        JsonNode zaapId = answer != null && answer.isObject() ? answer.get("zaapId") : null;
        return zaapId != null && zaapId.isTextual() && !zaapId.asText().isBlank();
    }

    /** Why a 200 is not a placed call: what the answer was instead of one with a zaapId. */
    public static String withoutZaapId(Exchange exchange) {
        String body = exchange.getProperty(OutcomeRecord.RESPONSE, String.class);
        String what;
        if (body == null || body.isBlank()) {
            what = "the body is empty";
        } else if (json(body) == null) {
            what = "the body is not JSON";
        } else {
            // masked before it is cut, so that no piece of a secret can show where the cut falls
            String quoted = SecretMasking.mask(json(body).toString());
            what = quoted.length() <= QUOTED_ANSWER_CHARS ? quoted : quoted.substring(0, QUOTED_ANSWER_CHARS) + "...";
        }
        return "Z-API answered 200 without a zaapId: " + what + "; not retried, as the call may have been placed";
    }

    private static JsonNode json(String body) {
        if (body == null || body.isBlank()) {
            return null;
        }
        try {
            return Json.MAPPER.readTree(body);
        } catch (JsonProcessingException notJson) {
            return null;
        }
    }
}
