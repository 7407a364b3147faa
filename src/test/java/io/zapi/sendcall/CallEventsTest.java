package io.zapi.sendcall;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * Call events from Z-API's webhook (POST /webhooks/z-api/{token}), posted with a real HTTP client to the real module:
 * an event record correlated with the latest success for its phone on its instance within the window, deduplicated by
 * callId and notification (also when posted concurrently), counted in metrics and in the file's report; a
 * wrong or unset token answered 404 and never recorded.
 */
class CallEventsTest {

    static final String TOKEN = "webhook-token-3f9a1c7e5b2d4086";
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @TempDir
    static Path dataDir;
    static ZapiStub zapi;
    static RunningModule module;

    @BeforeAll
    static void start() {
        zapi = new ZapiStub();
        module = RunningModule.start(zapi.baseUrl(), dataDir, Map.of("zapi.webhook.token", TOKEN));
    }

    @AfterAll
    static void stop() {
        module.close();
        zapi.close();
    }

    @Test
    void anAnsweredCallIsRecordedWithTheSuccessItFollows() throws Exception {
        String phone = "5511970000001";
        placeCall(phone, "first-" + UUID.randomUUID());
        String latest = placeCall(phone, "second-" + UUID.randomUUID());
        String callId = callId();

        HttpResponse<String> answer = postEvent(module, TOKEN, event(phone, "CALL_VOICE", callId,
                System.currentTimeMillis()));

        assertThat(answer.statusCode()).isEqualTo(200);
        JsonNode record = awaitEvent(callId + "-CALL_VOICE");
        assertThat(record.path("event").asText()).isEqualTo("answered");
        assertThat(record.path("callId").asText()).isEqualTo(callId);
        assertThat(record.path("phone").asText()).isEqualTo(phone);
        assertThat(record.path("instance").asText()).isEqualTo("default");
        assertThat(record.path("moment").asText()).matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z");
        assertThat(record.path("callOf").asText()).isEqualTo(latest);
    }

    @Test
    void aMissedCallOutsideTheWindowOrOfAnotherPhoneHasNoCallOf() throws Exception {
        String phone = "5511970000002";
        placeCall(phone, "window-" + UUID.randomUUID());
        String late = callId();
        String otherPhone = callId();

        postEvent(module, TOKEN, event(phone, "CALL_MISSED_VOICE", late,
                System.currentTimeMillis() + Duration.ofSeconds(601).toMillis()));
        postEvent(module, TOKEN, event("5511970000099", "CALL_MISSED_VIDEO", otherPhone, System.currentTimeMillis()));

        JsonNode outside = awaitEvent(late + "-CALL_MISSED_VOICE");
        assertThat(outside.path("event").asText()).isEqualTo("missed");
        assertThat(outside.path("callOf").isNull()).isTrue();
        JsonNode another = awaitEvent(otherPhone + "-CALL_MISSED_VIDEO");
        assertThat(another.path("event").asText()).isEqualTo("missed");
        assertThat(another.path("callOf").isNull()).isTrue();
    }

    @Test
    void theSameEventPostedManyTimesAtOnceIsOneRecordCountedOnce() throws Exception {
        String phone = "5511970000003";
        placeCall(phone, "dedup-" + UUID.randomUUID());
        String callId = callId();
        String body = event(phone, "CALL_MISSED_VOICE", callId, System.currentTimeMillis());
        double missedBefore = MetricsScrape.of(module).sum("zapi_call_events_total",
                Map.of("event", "missed", "instance", "default"));

        ExecutorService posters = Executors.newFixedThreadPool(8);
        try {
            List<Callable<Integer>> posts = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                posts.add(() -> postEvent(module, TOKEN, body).statusCode());
            }
            for (Future<Integer> status : posters.invokeAll(posts)) {
                assertThat(status.get()).isEqualTo(200);
            }
        } finally {
            posters.shutdown();
        }
        assertThat(postEvent(module, TOKEN, body).statusCode()).isEqualTo(200);

        awaitEvent(callId + "-CALL_MISSED_VOICE");
        assertThat(eventFiles(callId)).hasSize(1);
        assertThat(MetricsScrape.of(module).sum("zapi_call_events_total",
                Map.of("event", "missed", "instance", "default"))).isEqualTo(missedBefore + 1);
    }

    @Test
    void aWrongTokenIsNotFoundWithOrWithoutAnApiKeyAndRecordsNothing() throws Exception {
        String callId = callId();
        String body = event("5511970000004", "CALL_VOICE", callId, System.currentTimeMillis());

        for (String wrong : List.of(TOKEN + "x", TOKEN.substring(1), "x", "%20")) {
            assertThat(postEvent(module, wrong, body, Map.of()).statusCode()).isEqualTo(404);
            assertThat(postEvent(module, wrong, body, Map.of("X-API-Key", TOKEN)).statusCode()).isEqualTo(404);
        }
        // a header of the path parameter's name does not stand in for the path
        assertThat(postEvent(module, "wrong-token-but-long", body, Map.of("token", TOKEN)).statusCode()).isEqualTo(404);
        HttpResponse<String> noToken = HTTP.send(HttpRequest.newBuilder(webhook(module, "").resolve("..")).POST(
                HttpRequest.BodyPublishers.ofString(body)).header("Content-Type", "application/json").build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(noToken.statusCode()).isEqualTo(404);

        assertThat(eventFiles(callId)).isEmpty();
    }

    @Test
    void otherWebhooksAndBadBodiesAreAnsweredAndNotRecorded() throws Exception {
        String callId = callId();
        String text = """
                {"type":"ReceivedCallback","instanceId":"%s","phone":"5511970000005","fromMe":false,
                 "momment":%d,"messageId":"ABC","isGroup":false,"text":{"message":"hello"}}"""
                .formatted(RunningModule.INSTANCE_ID, System.currentTimeMillis());
        String status = """
                {"type":"MessageStatusCallback","instanceId":"%s","phone":"5511970000005","status":"READ",
                 "ids":["ABC"],"momment":%d}""".formatted(RunningModule.INSTANCE_ID, System.currentTimeMillis());
        String unknownInstance = event("5511970000005", "CALL_VOICE", callId, System.currentTimeMillis())
                .replace(RunningModule.INSTANCE_ID, "another-instance");

        assertThat(postEvent(module, TOKEN, text).statusCode()).isEqualTo(200);
        assertThat(postEvent(module, TOKEN, status).statusCode()).isEqualTo(200);
        assertThat(postEvent(module, TOKEN, unknownInstance).statusCode()).isEqualTo(200);
        HttpResponse<String> notJson = postEvent(module, TOKEN, "{not json");
        assertThat(notJson.statusCode()).isEqualTo(400);
        assertThat(notJson.body()).contains("\"error\"");
        HttpResponse<String> noCallId = postEvent(module, TOKEN, event("5511970000005", "CALL_VOICE", "",
                System.currentTimeMillis()));
        assertThat(noCallId.statusCode()).isEqualTo(400);
        assertThat(noCallId.body()).contains("callId");
        HttpResponse<String> pathInCallId = postEvent(module, TOKEN, event("5511970000005", "CALL_VOICE", "../../x",
                System.currentTimeMillis()));
        assertThat(pathInCallId.statusCode()).isEqualTo(400);

        assertThat(eventFiles(callId)).isEmpty();
        assertThat(eventFiles("x")).isEmpty();
        // the module goes on
        assertThat(postEvent(module, TOKEN, event("5511970000005", "CALL_VOICE", callId(),
                System.currentTimeMillis())).statusCode()).isEqualTo(200);
    }

    @Test
    void theFilesReportCountsTheAnsweredAndMissedCallsOfItsRowsWhenTheirEventsCome() throws Exception {
        module.drop("events.csv", "phone;id\n5511970000006;row-a-" + UUID.randomUUID() + "\n5511970000007;row-b-"
                                  + UUID.randomUUID() + "\n");
        module.awaitRecords("events.csv", 2);
        Path report = Reports.awaitOne(dataDir, "events.csv");
        String asWritten = Files.readString(report);
        assertThat(asWritten).as("no event yet").endsWith(",\"answered\":0,\"missed\":0}");
        double answeredBefore = MetricsScrape.of(module).sum("zapi_call_events_total",
                Map.of("event", "answered", "instance", "default"));

        // after the report is final: the report is written again, whole, with its counts
        postEvent(module, TOKEN, event("5511970000006", "CALL_VOICE", callId(), System.currentTimeMillis()));
        postEvent(module, TOKEN, event("5511970000007", "CALL_MISSED_VOICE", callId(), System.currentTimeMillis()));

        JsonNode counted = await().atMost(Duration.ofSeconds(30)).until(() -> RunningModule.read(report),
                json -> json.path("answered").asInt() == 1 && json.path("missed").asInt() == 1);
        // the same report, byte for byte, but for its counts
        assertThat(Files.readString(report)).isEqualTo(asWritten.replace(",\"answered\":0,\"missed\":0}",
                ",\"answered\":1,\"missed\":1}"));
        assertThat(counted.path("file").asText()).isEqualTo("events.csv");
        assertThat(counted.path("state").asText()).isEqualTo("done");
        assertThat(counted.path("outcomes").path("success").asInt()).isEqualTo(2);
        assertThat(Reports.of(dataDir, "events.csv")).as("the same report, not another").hasSize(1);
        assertThat(MetricsScrape.of(module).sum("zapi_call_events_total",
                Map.of("event", "answered", "instance", "default"))).isEqualTo(answeredBefore + 1);
    }

    /** An event of a row whose file is still read is counted by the file's final report. */
    @Test
    void anEventWhileItsFileIsReadIsCountedByTheFinalReport() throws Exception {
        String slowPhone = "5511970000009";
        zapi.answer(slowPhone, com.github.tomakehurst.wiremock.client.WireMock.okJson(
                "{\"zaapId\":\"Z\",\"messageId\":\"M\",\"id\":\"M\"}").withFixedDelay(4000));
        module.drop("running.csv", "phone\n5511970000008\n" + slowPhone + "\n");
        await().atMost(Duration.ofSeconds(30)).until(() -> module.recordsOf("running.csv").size() == 1);
        assertThat(Reports.ended(dataDir, "running.csv")).as("the file is still read").isFalse();

        postEvent(module, TOKEN, event("5511970000008", "CALL_VOICE", callId(), System.currentTimeMillis()));

        JsonNode report = Reports.awaitReport(dataDir, "running.csv");
        assertThat(report.path("state").asText()).isEqualTo("done");
        assertThat(report.path("answered").asInt()).isEqualTo(1);
        assertThat(report.path("missed").asInt()).isZero();
    }

    @Test
    void withoutATokenTheWebhookIsNotServed(@TempDir Path otherDataDir) throws Exception {
        try (RunningModule untokened = RunningModule.start(zapi.baseUrl(), otherDataDir)) {
            String callId = callId();
            assertThat(postEvent(untokened, "", event("5511970000008", "CALL_VOICE", callId,
                    System.currentTimeMillis())).statusCode()).isEqualTo(404);
            assertThat(postEvent(untokened, TOKEN, event("5511970000008", "CALL_VOICE", callId,
                    System.currentTimeMillis())).statusCode()).isEqualTo(404);
            assertThat(otherDataDir.resolve("outbox/events").resolve(callId + "-CALL_VOICE.json")).doesNotExist();
        }
    }

    @Test
    void anEventPostedAgainAfterARestartIsNotRecordedAgain(@TempDir Path otherDataDir) throws Exception {
        String callId = callId();
        String body = event("5511970000009", "CALL_MISSED_VOICE", callId, System.currentTimeMillis());
        Path record = otherDataDir.resolve("outbox/events").resolve(callId + "-CALL_MISSED_VOICE.json");
        try (RunningModule first = RunningModule.start(zapi.baseUrl(), otherDataDir,
                Map.of("zapi.webhook.token", TOKEN))) {
            assertThat(postEvent(first, TOKEN, body).statusCode()).isEqualTo(200);
            await().atMost(Duration.ofSeconds(30)).until(() -> Files.exists(record));
        }
        // the record has been taken away by its consumer: the ledger, not the file, says the event was seen
        Files.delete(record);
        try (RunningModule again = RunningModule.start(zapi.baseUrl(), otherDataDir,
                Map.of("zapi.webhook.token", TOKEN))) {
            assertThat(postEvent(again, TOKEN, body).statusCode()).isEqualTo(200);
            assertThat(record).doesNotExist();
            assertThat(MetricsScrape.of(again).sum("zapi_call_events_total", Map.of("event", "missed"))).isZero();
        }
    }

    @Test
    void aTooShortTokenStopsTheStartUp(@TempDir Path otherDataDir) {
        assertThatThrownBy(() -> RunningModule.start(zapi.baseUrl(), otherDataDir,
                Map.of("zapi.webhook.token", "short-token")))
                .rootCause().hasMessageContaining("zapi.webhook.token").hasMessageContaining("16 characters")
                .hasMessageNotContaining("short-token");
    }

    /** Places a call through POST /send-call and returns its success record's correlationId. */
    private static String placeCall(String phone, String id) throws Exception {
        HttpResponse<String> answer = module.post("{\"phone\":\"" + phone + "\",\"id\":\"" + id + "\"}");
        assertThat(answer.statusCode()).isEqualTo(200);
        return module.awaitRecordWithId(id).path("correlationId").asText();
    }

    private static String callId() {
        return UUID.randomUUID().toString().replace("-", "");
    }

    static String event(String phone, String notification, String callId, long moment) {
        return """
                {"type":"ReceivedCallback","instanceId":"%s","phone":"%s","fromMe":false,"momment":%d,
                 "messageId":"3EB0%s","isGroup":false,"notification":"%s","notificationParameters":[],
                 "callId":"%s"}""".formatted(RunningModule.INSTANCE_ID, phone, moment, callId.length() > 8
                ? callId.substring(0, 8) : "", notification, callId);
    }

    static URI webhook(RunningModule module, String token) {
        String port = module.context().resolvePropertyPlaceholders("{{camel.server.port}}");
        return URI.create("http://127.0.0.1:" + port + "/webhooks/z-api/" + token);
    }

    static HttpResponse<String> postEvent(RunningModule module, String token, String body) throws Exception {
        return postEvent(module, token, body, Map.of());
    }

    static HttpResponse<String> postEvent(RunningModule module, String token, String body, Map<String, String> headers)
            throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(webhook(module, token)).timeout(Duration.ofSeconds(30))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8));
        new HashMap<>(headers).forEach(request::header);
        return HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    }

    private static JsonNode awaitEvent(String eventId) {
        Path file = dataDir.resolve("outbox/events").resolve(eventId + ".json");
        await().atMost(Duration.ofSeconds(30)).until(() -> Files.exists(file));
        return RunningModule.read(file);
    }

    private static List<Path> eventFiles(String callId) throws Exception {
        Path events = dataDir.resolve("outbox/events");
        if (!Files.isDirectory(events)) {
            return List.of();
        }
        try (Stream<Path> files = Files.list(events)) {
            return files.filter(f -> f.getFileName().toString().startsWith(callId + "-")).toList();
        }
    }
}
