package io.zapi.sendcall;

import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalTime;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import jakarta.jms.Connection;
import jakarta.jms.MessageProducer;
import jakarta.jms.Session;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.zapi.sendcall.pipeline.Json;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Calling hours and notBefore on the running module: rows of an inbox file outside the window (in the recipient's
 * time zone, from the number) wait in the ledger with no record, counted as waiting in the report and GET /files with
 * the next window, survive a restart, and are called once the window opens; over HTTP and JMS a request outside the
 * window is rejected with the reason. A row's notBefore holds it until then.
 */
class CallingHoursFilesTest {

    private static final ZoneId SAO_PAULO = ZoneId.of("America/Sao_Paulo");
    private static final DateTimeFormatter HH_MM = DateTimeFormatter.ofPattern("HH:mm");

    /** A window that opens two hours from now in São Paulo and lasts an hour: closed now for a +55 11 number. */
    static String closedWindow() {
        LocalTime now = ZonedDateTime.now(SAO_PAULO).toLocalTime();
        LocalTime start = now.plusHours(2).truncatedTo(ChronoUnit.MINUTES);
        return start.format(HH_MM) + "-" + start.plusHours(1).format(HH_MM);
    }

    /** A window open now in São Paulo for the next two hours. */
    static String openWindow() {
        LocalTime now = ZonedDateTime.now(SAO_PAULO).toLocalTime().truncatedTo(ChronoUnit.MINUTES);
        return now.minusMinutes(1).format(HH_MM) + "-" + now.plusHours(2).format(HH_MM);
    }

    static Map<String, String> settings(String hours) {
        Map<String, String> settings = new HashMap<>(Map.of("zapi.calling-hours", hours, "zapi.timezone", "UTC",
                "zapi.waiting.poll-ms", "200",
                "zapi.reports.progress-interval-ms", "500"));
        return settings;
    }

    @Test
    void rowsOutsideTheWindowWaitAcrossARestartAndGoWhenItOpens(@TempDir Path dataDir) throws Exception {
        String closed = closedWindow();
        try (ZapiStub zapi = new ZapiStub()) {
            String name;
            try (RunningModule module = RunningModule.start(zapi.baseUrl(), dataDir, settings(closed))) {
                module.drop("night.csv", """
                        phone,id
                        5511955550001,night-1
                        5511955550002,night-2
                        5511955550003,night-3
                        not-a-phone,night-4
                        """);
                JsonNode listed = await().atMost(Duration.ofSeconds(20))
                        .until(() -> FilesApiTest.file(module, "night.csv"),
                                f -> f != null && "waiting".equals(f.path("state").asText()));
                name = listed.path("name").asText();
                assertThat(listed.path("waiting").asInt()).isEqualTo(3);
                assertThat(listed.path("outcomes").path("rejected").asInt()).isEqualTo(1);
                assertThat(listed.path("requests").asInt()).isEqualTo(4);
                // the window's start in São Paulo, to the minute
                Instant expectedOpen = ZonedDateTime.of(ZonedDateTime.now(SAO_PAULO).toLocalDate(),
                        LocalTime.parse(closed.substring(0, 5)), SAO_PAULO).toInstant();
                Instant nextWindow = Instant.parse(listed.path("nextWindow").asText());
                assertThat(List.of(expectedOpen, expectedOpen.plus(Duration.ofDays(1)))).contains(nextWindow);

                JsonNode report = FilesApiTest.awaitReport(module, name + ".json",
                        r -> "waiting".equals(r.path("state").asText()));
                assertThat(report.path("waiting").asInt()).isEqualTo(3);
                assertThat(report.path("progress").asDouble()).isEqualTo(0.25);
                assertThat(report.path("finishedAt").isNull()).isTrue();
                assertThat(module.recordsOf("night.csv")).hasSize(1);
                assertThat(module.kept(".done", "night.csv")).hasSize(1);
                // the results file is complete in its rows, those that wait saying so
                Path results = dataDir.resolve("outbox/results").resolve(name + ".results.csv");
                List<Map<String, String>> lines = await().atMost(Duration.ofSeconds(10)).until(
                        () -> java.nio.file.Files.exists(results) ? ResultsFileTest.csv(results) : List.of(),
                        l -> l.size() == 4);
                assertThat(lines).extracting(l -> l.get("outcome"))
                        .containsExactly("waiting", "waiting", "waiting", "rejected");
                assertThat(MetricsScrape.of(module).value("zapi_waiting_rows")).isEqualTo(3.0);
                await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(3))
                        .until(() -> zapi.allRequests().isEmpty());

                // over HTTP and JMS nobody waits for hours: rejected, with the reason
                HttpResponse<String> posted = module.post("{\"phone\": \"5511955550010\"}");
                assertThat(posted.statusCode()).isEqualTo(400);
                JsonNode rejected = Json.MAPPER.readTree(posted.body());
                assertThat(rejected.path("error").asText()).contains("outside calling hours")
                        .contains("America/Sao_Paulo").contains("not called");
                try (Connection jms = JmsQueueTest.connect(module.jmsPort())) {
                    Session session = jms.createSession(false, Session.AUTO_ACKNOWLEDGE);
                    MessageProducer producer = session.createProducer(session.createQueue("send-call"));
                    producer.send(session.createTextMessage("{\"phone\": \"5511955550011\", \"id\": \"jms-night\"}"));
                }
                JsonNode jmsRecord = module.awaitRecordWithId("jms-night");
                assertThat(jmsRecord.path("outcome").asText()).isEqualTo("rejected");
                assertThat(jmsRecord.path("error").asText()).contains("outside calling hours");
                assertThat(zapi.allRequests()).isEmpty();
            }
            // the rows survive a restart; with a window open now they are judged again and called
            try (RunningModule module = RunningModule.start(zapi.baseUrl(), dataDir, settings(openWindow()))) {
                List<JsonNode> records = module.awaitRecords("night.csv", 4);
                assertThat(records).filteredOn(r -> "success".equals(r.path("outcome").asText())).hasSize(3);
                assertThat(zapi.allRequests()).hasSize(3);
                JsonNode report = FilesApiTest.awaitReport(module, name + ".json",
                        r -> "done".equals(r.path("state").asText()));
                assertThat(report.path("waiting").asInt()).isZero();
                assertThat(report.path("outcomes").path("success").asInt()).isEqualTo(3);
                assertThat(report.path("outcomes").path("rejected").asInt()).isEqualTo(1);
                assertThat(report.path("requests").asInt()).isEqualTo(4);
                assertThat(report.path("progress").asDouble()).isEqualTo(1.0);
                assertThat(report.path("finishedAt").isTextual()).isTrue();
                assertThat(report.path("instances").path("default").path("success").asInt()).isEqualTo(3);
                assertThat(report.path("instances").path("none").path("rejected").asInt()).isEqualTo(1);
                assertThat(MetricsScrape.of(module).value("zapi_waiting_rows")).isZero();
                // each row's entry in the results file ends as its record did
                Path results = dataDir.resolve("outbox/results").resolve(name + ".results.csv");
                List<Map<String, String>> lines = await().atMost(Duration.ofSeconds(10)).until(
                        () -> ResultsFileTest.csv(results), l -> "success".equals(l.get(0).get("outcome"))
                                                                   && "success".equals(l.get(2).get("outcome")));
                assertThat(lines).extracting(l -> l.get("outcome"))
                        .containsExactly("success", "success", "success", "rejected");
                for (Map<String, String> line : lines.subList(0, 3)) {
                    assertThat(records).anySatisfy(r -> assertThat(r.path("correlationId").asText())
                            .isEqualTo(line.get("correlationId")));
                }
            }
        }
    }

    /**
     * Identical files dropped at once outside the window: every copy's rows wait; once the window opens each phone is
     * called once, the other copy's rows are duplicates of it.
     */
    @Test
    void identicalDropsThatWaitPlaceEachCallOnce(@TempDir Path dataDir) throws Exception {
        String content = "phone\n5511955550031\n5511955550032\n";
        try (ZapiStub zapi = new ZapiStub()) {
            try (RunningModule module = RunningModule.start(zapi.baseUrl(), dataDir, settings(closedWindow()))) {
                java.nio.file.Files.writeString(module.inbox().resolve(".a.part"), content);
                java.nio.file.Files.writeString(module.inbox().resolve(".b.part"), content);
                java.nio.file.Files.move(module.inbox().resolve(".a.part"), module.inbox().resolve("copy-a.csv"));
                java.nio.file.Files.move(module.inbox().resolve(".b.part"), module.inbox().resolve("copy-b.csv"));
                for (String copy : List.of("copy-a.csv", "copy-b.csv")) {
                    await().atMost(Duration.ofSeconds(20)).until(() -> FilesApiTest.file(module, copy),
                            f -> f != null && f.path("waiting").asInt() == 2);
                }
                assertThat(zapi.allRequests()).isEmpty();
            }
            try (RunningModule module = RunningModule.start(zapi.baseUrl(), dataDir, settings(openWindow()))) {
                List<JsonNode> a = module.awaitRecords("copy-a.csv", 2);
                List<JsonNode> b = module.awaitRecords("copy-b.csv", 2);
                List<String> outcomes = new java.util.ArrayList<>();
                a.forEach(r -> outcomes.add(r.path("outcome").asText()));
                b.forEach(r -> outcomes.add(r.path("outcome").asText()));
                assertThat(outcomes).containsExactlyInAnyOrder("success", "success", "duplicate", "duplicate");
                assertThat(zapi.requestsFor("5511955550031")).hasSize(1);
                assertThat(zapi.requestsFor("5511955550032")).hasSize(1);
            }
        }
    }

    @Test
    void aRowWaitsForItsNotBeforeAndOverHttpALaterOneIsRejected(@TempDir Path dataDir) throws Exception {
        try (ZapiStub zapi = new ZapiStub(); RunningModule module = RunningModule.start(zapi.baseUrl(), dataDir,
                settings(""))) {
            Instant notBefore = Instant.now().plusSeconds(4).truncatedTo(ChronoUnit.SECONDS);
            String offset = notBefore.atZone(ZoneId.of("-03:00")).toOffsetDateTime().toString();
            module.drop("later.jsonl", "{\"phone\": \"5511955550021\", \"id\": \"later-1\", \"notBefore\": \""
                                       + offset + "\"}\n{\"phone\": \"5511955550022\", \"id\": \"now-1\"}\n"
                                       + "{\"phone\": \"5511955550023\", \"id\": \"bad-1\", \"notBefore\": "
                                       + "\"2026-12-01 09:00\"}\n");
            JsonNode now = module.awaitRecordWithId("now-1");
            assertThat(now.path("outcome").asText()).isEqualTo("success");
            JsonNode bad = await().atMost(Duration.ofSeconds(20)).until(() -> module.recordsOf("later.jsonl").stream()
                    .filter(r -> r.path("source").path("index").asInt() == 3).findFirst().orElse(null), r -> r != null);
            assertThat(bad.path("outcome").asText()).isEqualTo("rejected");
            assertThat(bad.path("error").asText()).contains("notBefore must be an ISO-8601");

            JsonNode later = await().atMost(Duration.ofSeconds(20)).until(
                    () -> module.allRecords().stream().filter(r -> "later-1".equals(r.path("id").asText()))
                            .findFirst().orElse(null), r -> r != null);
            assertThat(later.path("outcome").asText()).isEqualTo("success");
            Instant placed = zapi.requestsFor("5511955550021").get(0).getLoggedDate().toInstant();
            assertThat(placed).isAfterOrEqualTo(notBefore);

            HttpResponse<String> posted = module.post("{\"phone\": \"5511955550024\", \"notBefore\": \""
                                                      + Instant.now().plusSeconds(3600) + "\"}");
            assertThat(posted.statusCode()).isEqualTo(400);
            assertThat(Json.MAPPER.readTree(posted.body()).path("error").asText()).contains("is later than now");
            assertThat(zapi.requestsFor("5511955550024")).isEmpty();
        }
    }
}
