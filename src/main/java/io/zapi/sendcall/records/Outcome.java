package io.zapi.sendcall.records;

import java.util.Arrays;
import java.util.List;

import org.apache.camel.Exchange;

/**
 * What a request can end in. Each outcome knows its name (in records, reports and folder names), the setting that
 * says where its records go, and the HTTP status its record is answered with. Adding an outcome is one constant here,
 * one {@code zapi.outcome.<name>-uri} setting and one README row.
 */
public enum Outcome {

    /** Z-API answered 200 with a zaapId: the call is placed. */
    SUCCESS("success", 200),
    /** Z-API answered 405: the request did not reach send-call as a POST. */
    ERROR_405("error-405", 502),
    /** Z-API answered 415: the body was not sent as JSON. */
    ERROR_415("error-415", 502),
    /** The request is invalid and was never sent. */
    REJECTED("rejected", 400),
    /** Z-API answered another error, could not be reached, or the call's fate is unknown. */
    FAILED("failed", 502),
    /** The request was handled before (same idempotency key): not sent again. */
    DUPLICATE("duplicate", 409),
    /** A row of an inbox file whose user cancelled it (POST /files/{name}/cancel) before it was called: never sent. */
    CANCELLED("cancelled", 409);

    private final String label;
    private final int httpStatus;

    Outcome(String label, int httpStatus) {
        this.label = label;
        this.httpStatus = httpStatus;
    }

    /** The name records and folders use, e.g. {@code error-405}. */
    public String label() {
        return label;
    }

    /** The setting naming the endpoint its records go to. */
    public String uriSetting() {
        return "zapi.outcome." + label + "-uri";
    }

    /** The status an HTTP request ending in this outcome is answered with. */
    public int httpStatus() {
        return httpStatus;
    }

    public static Outcome of(String label) {
        return Arrays.stream(values()).filter(outcome -> outcome.label.equals(label)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no outcome is named " + label));
    }

    /** Every outcome's name, in the order above. */
    public static List<String> labels() {
        return Arrays.stream(values()).map(Outcome::label).toList();
    }

    /** For a route: the HTTP status of the outcome the exchange ended in. */
    public static int httpStatusOf(Exchange exchange) {
        return of(exchange.getProperty(OutcomeRecord.OUTCOME, String.class)).httpStatus();
    }
}
