package io.zapi.sendcall;

import io.swagger.v3.oas.annotations.media.Schema;
import io.swagger.v3.oas.annotations.media.Schema.RequiredMode;

/**
 * What the HTTP API's OpenAPI document says about its bodies (the REST DSL's type, outType and responseModel point
 * here). Descriptions only: the module reads requests with {@link RequestValidator} and writes records with
 * {@link OutcomeRecord}, never through these types.
 */
public final class HttpApiSchema {

    private HttpApiSchema() {
    }

    @Schema(name = "SendCallRequest", description = "One call to place. Unknown fields are ignored; a duplicated key "
                                                    + "is rejected.")
    public record SendCallRequest(
            @Schema(requiredMode = RequiredMode.REQUIRED, example = "+55 (11) 99999-9999",
                    description = "Country code, area code and number; a string or a whole number. Spaces, '+', '-', "
                                  + "'.' and parentheses are removed, 10 to 15 digits must remain.")
            String phone,
            @Schema(minimum = "1", maximum = "15", example = "7",
                    description = "Whole seconds, 1 to 15; 7, \"7\" and 7.0 are accepted. Absent: "
                                  + "zapi.default-call-duration.")
            Integer callDuration,
            @Schema(maxLength = 256, example = "order-1",
                    description = "Your own reference, copied into the record and never sent to Z-API. An "
                                  + "Idempotency-Key header takes its place.")
            String id) {
    }

    @Schema(name = "OutcomeRecord", description = "What became of the request; the same record is written to the "
                                                  + "outbox folder of its outcome.")
    public record Outcome(
            @Schema(requiredMode = RequiredMode.REQUIRED,
                    allowableValues = {"success", "error-405", "error-415", "rejected", "failed", "duplicate"},
                    description = "success: Z-API answered 200. error-405, error-415: Z-API answered that status. "
                                  + "rejected: invalid request, never sent. failed: another status, or Z-API could "
                                  + "not be reached. duplicate: handled before, not sent again.")
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
            @Schema(nullable = true, description = "Z-API's HTTP status, null when there was no answer")
            Integer status,
            @Schema(nullable = true, description = "Z-API's body (JSON when it is JSON, else text); on success it "
                                                   + "holds zaapId, messageId and id")
            Object response,
            @Schema(nullable = true, description = "Why the call did not succeed, null on success")
            String error,
            @Schema(requiredMode = RequiredMode.REQUIRED,
                    description = "How many times Z-API was called (0 for a rejected request)")
            int attempts,
            @Schema(nullable = true, format = "uuid",
                    description = "For a duplicate: the correlationId of the request first handled with this key")
            String duplicateOf,
            @Schema(requiredMode = RequiredMode.REQUIRED, format = "date-time",
                    description = "When the record was written, ISO-8601 UTC")
            String timestamp) {
    }

    @Schema(name = "Source", description = "Where the request came from")
    public record Source(
            @Schema(requiredMode = RequiredMode.REQUIRED, example = "http", description = "http for this API")
            String channel,
            @Schema(requiredMode = RequiredMode.REQUIRED,
                    description = "The Idempotency-Key header, else an id the module gave the HTTP request")
            String name,
            @Schema(nullable = true, description = "Always null for this API")
            Integer index) {
    }

    @Schema(name = "Error", description = "Why the request was not taken: nothing was sent and no record written")
    public record HttpError(
            @Schema(requiredMode = RequiredMode.REQUIRED, example = "UNAUTHORIZED")
            String error,
            @Schema(requiredMode = RequiredMode.REQUIRED, example = "missing or wrong X-API-Key header")
            String message) {
    }
}
