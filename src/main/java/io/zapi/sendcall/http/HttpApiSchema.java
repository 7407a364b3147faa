package io.zapi.sendcall.http;

import io.swagger.v3.oas.annotations.media.Schema;
import io.swagger.v3.oas.annotations.media.Schema.RequiredMode;

/**
 * What the HTTP API's OpenAPI document says about its bodies (the REST DSL's type, outType and responseModel point
 * here, and to {@link OutcomeRecord}, the record itself). Descriptions only: the module reads requests with
 * {@link RequestValidator}, never through these types.
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
            String id,
            @Schema(maxLength = 2048, example = "https://example.com/message.mp3",
                    description = "An audio file for Z-API to play in the call (16k bitrate; for accounts with calls "
                                  + "enabled): an absolute https URL, at most 2,048 characters, without a user name "
                                  + "or password. Sent to Z-API only when present.")
            String callAudioUrl,
            @Schema(example = "second",
                    description = "The Z-API instance to call through, by its name (default, or a "
                                  + "zapi.instances.<name>), in any case; an unknown name is rejected. Absent: "
                                  + "zapi.instance-selection chooses. A Zapi-Instance header takes its place.")
            String instance,
            @Schema(nullable = true, format = "date-time", example = "2026-12-01T09:00:00-03:00",
                    description = "ISO-8601 with its offset: over HTTP a later time is rejected (an inbox row waits for "
                                  + "it); a request outside zapi.calling-hours is rejected too")
            String notBefore) {
    }

    @Schema(name = "Error", description = "Why the request was not taken: nothing was sent and no record written")
    public record HttpError(
            @Schema(requiredMode = RequiredMode.REQUIRED, example = "UNAUTHORIZED")
            String error,
            @Schema(requiredMode = RequiredMode.REQUIRED, example = "missing or wrong X-API-Key header")
            String message) {
    }

    @Schema(name = "FileList", description = "The inbox files in progress, and those ended in the last ten minutes")
    public record FileList(@Schema(requiredMode = RequiredMode.REQUIRED) java.util.List<FileEntry> files) {
    }

    @Schema(name = "FileEntry", description = "An inbox file: its names, state and its report's counts (every field "
                                              + "of its report but file)")
    public record FileEntry(
            @Schema(requiredMode = RequiredMode.REQUIRED, example = "20261130-071935123-calls.csv",
                    description = "The kept name (in inbox/.done), unique per drop: the name the actions take")
            String name,
            @Schema(requiredMode = RequiredMode.REQUIRED, example = "calls.csv", description = "The name as dropped")
            String originalName,
            @Schema(requiredMode = RequiredMode.REQUIRED, allowableValues = {"running", "waiting", "paused",
                    "cancelling", "interrupted", "done", "cancelled", "unreadable"})
            String state,
            @Schema(description = "0 to 1: the share of the file read while it is read; once read with rows "
                                  + "waiting, the share of its rows ended")
            Double progress,
            @Schema(description = "Requests read so far") Long requests,
            @Schema(description = "Rows ended in each outcome, each row once by its final state")
            java.util.Map<String, Long> outcomes,
            @Schema(description = "Rows waiting (calling hours, notBefore, paused, a redial)") Long waiting,
            @Schema(nullable = true, format = "date-time", description = "When the next waiting row is due; null "
                                                                         + "when paused or nothing waits")
            String nextWindow,
            @Schema(description = "The last ten rows that ended failed, error-405, error-415 or rejected, newest "
                                  + "first")
            java.util.List<Failure> latestFailures,
            @Schema(example = "20261130-071935123-calls.csv.json", description = "Its report in outbox/reports")
            String report,
            @Schema(example = "20261130-071935123-calls.csv.results.csv", description = "Its results file in "
                                                                                        + "outbox/results")
            String results,
            @Schema(format = "date-time") String startedAt,
            @Schema(nullable = true, format = "date-time") String finishedAt,
            @Schema(format = "date-time") String updatedAt) {
    }

    @Schema(name = "Failure", description = "A row of a file that did not succeed")
    public record Failure(Integer index, String phone, String outcome, String error,
                          @Schema(format = "date-time") String at) {
    }
}
