package io.zapi.sendcall;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import com.fasterxml.jackson.databind.JsonNode;
import com.github.tomakehurst.wiremock.verification.LoggedRequest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * zapi.redial.max-attempts and zapi.redial.delay-minutes on the running module: a missed event (Z-API's webhook) for
 * a call of an inbox row schedules the same request again after the delay, as a call of its own (its own key derived
 * from the first, its own record naming the call it redials), at most max-attempts times; an answered call or a late
 * event of an earlier call is not redialled; the report shows each row's final state.
 */
class RedialTest {

    static Map<String, String> settings(String delayMinutes) {
        return Map.of("zapi.webhook.token", CallEventsTest.TOKEN, "zapi.redial.max-attempts", "2",
                "zapi.redial.delay-minutes", delayMinutes, "zapi.waiting.poll-ms", "200",
                "zapi.reports.progress-interval-ms", "500");
    }

    @Test
    void aMissedCallIsRedialledAfterTheDelayAtMostMaxAttemptsTimes(@TempDir Path dataDir) throws Exception {
        try (ZapiStub zapi = new ZapiStub(); RunningModule module = RunningModule.start(zapi.baseUrl(), dataDir,
                settings("0.05"))) {
            String missed = "5511944440001";
            String answered = "5511944440002";
            module.drop("redial.csv", "phone,id\n" + missed + ",redial-1\n" + answered + ",redial-2\n");
            List<JsonNode> first = module.awaitRecords("redial.csv", 2);
            String firstCall = recordOf(first, missed).path("correlationId").asText();
            String report = Reports.awaitOne(dataDir, "redial.csv").getFileName().toString();

            // the redial is due 3 s after the missed event is taken, which is after this
            Instant beforeMissed = Instant.now();
            missed(module, missed);
            CallEventsTest.postEvent(module, CallEventsTest.TOKEN, CallEventsTest.event(answered, "CALL_VOICE",
                    callId(), System.currentTimeMillis()));
            // the row waits for its redial: the report says so
            JsonNode waiting = FilesApiTest.awaitReport(module, report, r -> r.path("waiting").asInt() == 1);
            assertThat(waiting.path("state").asText()).isEqualTo("waiting");
            assertThat(waiting.path("outcomes").path("success").asInt()).isEqualTo(1);

            List<JsonNode> second = module.awaitRecords("redial.csv", 3);
            JsonNode redial = second.stream().filter(r -> r.path("redial").asInt() == 2).findFirst().orElseThrow();
            assertThat(redial.path("outcome").asText()).isEqualTo("success");
            assertThat(redial.path("redialOf").asText()).isEqualTo(firstCall);
            assertThat(redial.path("source").path("index").asInt()).isEqualTo(1);
            assertThat(redial.path("id").asText()).isEqualTo("redial-1");
            List<LoggedRequest> calls = zapi.requestsFor(missed);
            assertThat(calls).hasSize(2);
            // not before the delay (0.05 minutes = 3 s) after the missed event
            assertThat(calls.get(1).getLoggedDate().toInstant()).isAfterOrEqualTo(beforeMissed.plusMillis(2_990));

            // the redial missed too: the last redial
            missed(module, missed);
            List<JsonNode> third = module.awaitRecords("redial.csv", 4);
            JsonNode last = third.stream().filter(r -> r.path("redial").asInt() == 3).findFirst().orElseThrow();
            assertThat(last.path("redialOf").asText()).isEqualTo(redial.path("correlationId").asText());
            // max-attempts 2: a third missed call is not redialled
            missed(module, missed);
            JsonNode done = FilesApiTest.awaitReport(module, report, r -> "done".equals(r.path("state").asText())
                                                                            && r.path("missed").asInt() == 3);
            await().during(Duration.ofSeconds(4)).atMost(Duration.ofSeconds(8))
                    .until(() -> zapi.requestsFor(missed).size() == 3 && module.recordsOf("redial.csv").size() == 4);
            assertThat(zapi.requestsFor(answered)).hasSize(1);
            assertThat(done.path("requests").asInt()).isEqualTo(2);
            assertThat(done.path("outcomes").path("success").asInt()).isEqualTo(2);
            assertThat(done.path("waiting").asInt()).isZero();
            assertThat(done.path("answered").asInt()).isEqualTo(1);
            assertThat(done.path("instances").toString()).isEqualTo("{\"default\":{\"success\":2}}");
            // the results file shows each row's final state: the last call of the redialled row, and its event
            Path results = dataDir.resolve("outbox/results").resolve(report.replaceAll("\\.json$", "")
                                                                      + ".results.csv");
            List<Map<String, String>> lines = await().atMost(Duration.ofSeconds(15)).until(
                    () -> ResultsFileTest.csv(results), l -> "missed".equals(l.get(0).get("event"))
                            && last.path("correlationId").asText().equals(l.get(0).get("correlationId")));
            assertThat(lines).hasSize(2);
            assertThat(lines.get(0).get("outcome")).isEqualTo("success");
            assertThat(lines.get(1).get("event")).isEqualTo("answered");
            assertThat(lines.get(1).get("correlationId")).isEqualTo(recordOf(first, answered)
                    .path("correlationId").asText());
        }
    }

    /** A redial due outside the calling hours waits for the window, as any waiting row, across a restart. */
    @Test
    void aRedialDueOutsideTheCallingHoursWaitsForTheWindow(@TempDir Path dataDir) throws Exception {
        String phone = "5511944440021";
        try (ZapiStub zapi = new ZapiStub()) {
            String report;
            try (RunningModule module = RunningModule.start(zapi.baseUrl(), dataDir, settings("0.2"))) {
                module.drop("hours.csv", "phone\n" + phone + "\n");
                module.awaitRecords("hours.csv", 1);
                report = Reports.awaitOne(dataDir, "hours.csv").getFileName().toString();
                missed(module, phone);
                FilesApiTest.awaitReport(module, report, r -> r.path("waiting").asInt() == 1);
            }
            // started again with calling hours that are closed now in São Paulo: the redial, once due, waits for them
            Map<String, String> closed = new java.util.HashMap<>(settings("0.2"));
            closed.put("zapi.calling-hours", CallingHoursFilesTest.closedWindow());
            try (RunningModule module = RunningModule.start(zapi.baseUrl(), dataDir, closed)) {
                JsonNode listed = await().atMost(Duration.ofSeconds(40)).until(
                        () -> FilesApiTest.file(module, "hours.csv"),
                        f -> f != null && f.path("nextWindow").isTextual() && Instant.parse(
                                f.path("nextWindow").asText()).isAfter(Instant.now().plus(Duration.ofHours(1))));
                assertThat(listed.path("state").asText()).isEqualTo("waiting");
                assertThat(listed.path("waiting").asInt()).isEqualTo(1);
                assertThat(zapi.requestsFor(phone)).hasSize(1);
                assertThat(module.recordsOf("hours.csv")).hasSize(1);
            }
        }
    }

    @Test
    void withoutRedialsAMissedCallIsOnlyRecorded(@TempDir Path dataDir) throws Exception {
        try (ZapiStub zapi = new ZapiStub(); RunningModule module = RunningModule.start(zapi.baseUrl(), dataDir,
                Map.of("zapi.webhook.token", CallEventsTest.TOKEN, "zapi.waiting.poll-ms", "200"))) {
            String phone = "5511944440011";
            module.drop("once.csv", "phone\n" + phone + "\n");
            module.awaitRecords("once.csv", 1);
            String callId = missed(module, phone);
            await().until(() -> java.nio.file.Files.exists(dataDir.resolve("outbox/events")
                    .resolve(callId + "-CALL_MISSED_VOICE.json")));
            await().during(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(5))
                    .until(() -> zapi.requestsFor(phone).size() == 1);
        }
    }

    /** Posts a missed event for the latest call of this phone; answers its callId. */
    static String missed(RunningModule module, String phone) throws Exception {
        String callId = callId();
        assertThat(CallEventsTest.postEvent(module, CallEventsTest.TOKEN, CallEventsTest.event(phone,
                "CALL_MISSED_VOICE", callId, System.currentTimeMillis())).statusCode()).isEqualTo(200);
        return callId;
    }

    static String callId() {
        return UUID.randomUUID().toString().replace("-", "");
    }

    static JsonNode recordOf(List<JsonNode> records, String phone) {
        return records.stream().filter(r -> phone.equals(r.path("request").path("phone").asText()))
                .max(Comparator.comparing(r -> r.path("timestamp").asText())).orElseThrow();
    }
}
