package io.zapi.sendcall;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import com.fasterxml.jackson.databind.JsonNode;
import com.github.tomakehurst.wiremock.WireMockServer;
import com.github.tomakehurst.wiremock.verification.LoggedRequest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.zapi.sendcall.pipeline.Json;
import io.zapi.sendcall.runtime.StartupException;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.anyUrl;
import static com.github.tomakehurst.wiremock.client.WireMock.equalToJson;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.postRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.urlPathMatching;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.options;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * The sandbox shows every outcome and every call event with no account: the phone's last four digits choose the
 * simulator's answer (the README's table), and after each call it placed the simulator posts Z-API's call event to the
 * module's webhook, here a WireMock stand-in (the module's own webhook route is tested on its own).
 */
class SandboxSuffixesTest {

    /** Retries within seconds, and a short response timeout so that the slow answer times out soon. */
    private static final Map<String, String> FAST = Map.of("zapi.retry.max-attempts", "3",
            "zapi.retry.initial-delay-ms", "50", "zapi.retry.max-delay-ms", "2000",
            "zapi.http.response-timeout-ms", "1500");
    /** The phone whose event the stand-in refuses: the simulator logs it and drops it. */
    private static final String REFUSED = "5511977776666";

    @TempDir
    static Path dataDir;
    static WireMockServer webhook;
    static RunningModule module;
    static DebugLogs logs;

    @BeforeAll
    static void start() {
        logs = DebugLogs.capture();
        webhook = new WireMockServer(options().bindAddress("127.0.0.1").dynamicPort());
        webhook.start();
        webhook.stubFor(post(urlPathMatching("/webhooks/z-api/.*")).atPriority(5)
                .willReturn(aResponse().withStatus(200)));
        webhook.stubFor(post(urlPathMatching("/webhooks/z-api/.*")).atPriority(1)
                .withRequestBody(equalToJson("{\"phone\":\"" + REFUSED + "\"}", true, true))
                .willReturn(aResponse().withStatus(500)));
        Map<String, String> settings = new HashMap<>(FAST);
        settings.put("zapi.sandbox.webhook-url",
                "http://127.0.0.1:" + webhook.port() + "/webhooks/z-api/{{zapi.webhook.token}}");
        module = RunningModule.startSandbox(dataDir, settings);
    }

    @AfterAll
    static void stop() {
        try {
            module.close();
            webhook.stop();
        } finally {
            logs.close();
        }
    }

    @Test
    void eachSuffixEndsInItsOutcomeAndEachPlacedCallPostsItsEvent() throws Exception {
        long before = System.currentTimeMillis();
        module.drop("suffixes.jsonl", String.join("\n",
                row("s405", "5511900000405"), row("s415", "5511900000415"), row("s429", "5511900000429"),
                row("s503", "5511900000503"), row("s408", "5511900000408"), row("s0000", "5511900000000"),
                row("plain", "5511999999999"), row("refused", REFUSED)) + "\n");

        JsonNode methodNotAllowed = module.awaitRecordWithId("s405");
        assertThat(methodNotAllowed.path("outcome").asText()).isEqualTo("error-405");
        assertThat(methodNotAllowed.path("status").asInt()).isEqualTo(405);
        assertThat(methodNotAllowed.path("attempts").asInt()).isEqualTo(1);

        JsonNode unsupported = module.awaitRecordWithId("s415");
        assertThat(unsupported.path("outcome").asText()).isEqualTo("error-415");
        assertThat(unsupported.path("status").asInt()).isEqualTo(415);

        JsonNode retried = module.awaitRecordWithId("s429");
        assertThat(retried.path("outcome").asText()).isEqualTo("success");
        assertThat(retried.path("attempts").asInt()).isEqualTo(2);
        assertThat(retried.path("response").path("zaapId").asText()).matches("[0-9A-F]{32}");

        JsonNode unavailable = module.awaitRecordWithId("s503");
        assertThat(unavailable.path("outcome").asText()).isEqualTo("failed");
        assertThat(unavailable.path("status").asInt()).isEqualTo(503);
        assertThat(unavailable.path("attempts").asInt()).isEqualTo(3);

        JsonNode slow = module.awaitRecordWithId("s408");
        assertThat(slow.path("outcome").asText()).isEqualTo("failed");
        assertThat(slow.path("status").isNull()).isTrue();
        assertThat(slow.path("attempts").asInt()).isEqualTo(1);
        assertThat(slow.path("error").asText()).contains("timed out");

        for (String id : List.of("s0000", "plain", "refused")) {
            JsonNode placed = module.awaitRecordWithId(id);
            assertThat(placed.path("outcome").asText()).as(id).isEqualTo("success");
            assertThat(placed.path("attempts").asInt()).as(id).isEqualTo(1);
        }

        // every call the simulator placed, the slow one too (placed, though the module gave up waiting), posts one
        // event; 405, 415 and 503 placed none
        Map<String, String> expected = Map.of("5511900000429", "CALL_VOICE", "5511900000408", "CALL_VOICE",
                "5511900000000", "CALL_MISSED_VOICE", "5511999999999", "CALL_VOICE", REFUSED, "CALL_VOICE");
        List<JsonNode> events = await().atMost(Duration.ofSeconds(30))
                .until(SandboxSuffixesTest::postedEvents, posted -> posted.size() >= expected.size());
        assertThat(events).hasSize(expected.size());
        Map<String, String> notifications = events.stream().collect(Collectors.toMap(
                event -> event.path("phone").asText(), event -> event.path("notification").asText()));
        assertThat(notifications).isEqualTo(expected);

        long after = System.currentTimeMillis();
        Set<String> callIds = new HashSet<>();
        for (JsonNode event : events) {
            assertThat(event.path("type").asText()).isEqualTo("ReceivedCallback");
            assertThat(event.path("instanceId").asText()).isEqualTo("sandbox-instance");
            assertThat(event.path("fromMe").isBoolean() && event.path("fromMe").asBoolean()).isTrue();
            assertThat(event.path("isGroup").isBoolean() && !event.path("isGroup").asBoolean()).isTrue();
            assertThat(event.path("momment").isIntegralNumber()).isTrue();
            assertThat(event.path("momment").asLong()).isBetween(before, after);
            assertThat(event.path("messageId").asText()).matches("[0-9A-F]{20}");
            assertThat(event.path("notificationParameters").isArray()).isTrue();
            assertThat(event.path("notificationParameters")).isEmpty();
            assertThat(event.path("callId").asText()).matches("[0-9a-f]{32}");
            callIds.add(event.path("callId").asText());
        }
        assertThat(callIds).hasSize(events.size());

        String token = module.context().resolvePropertyPlaceholders("{{zapi.webhook.token}}");
        assertThat(token).as("generated in sandbox mode").matches("[0-9a-f]{32}");
        assertThat(webhook.findAll(postRequestedFor(anyUrl()))).allSatisfy(request -> {
            assertThat(request.getUrl()).isEqualTo("/webhooks/z-api/" + token);
            assertThat(request.getHeader("Content-Type")).startsWith("application/json");
        });

        // the refused event is logged (the stand-in's 500) and dropped; the token is in no log line
        await().atMost(Duration.ofSeconds(20)).until(() -> log().contains("webhook answered 500"));
        assertThat(log()).doesNotContain(token);
    }

    /** A webhook token the user set (-D, env) is the one the events carry; the target is the module's own API port. */
    @Test
    void aWebhookTokenOfTheUsersOwnIsKeptAndTheEventsGoToTheModulesApiPort(@TempDir Path ownData) {
        String ownToken = "users-own-webhook-token-0123456789";
        try (RunningModule own = RunningModule.startSandbox(ownData, Map.of("zapi.webhook.token", ownToken))) {
            String apiPort = own.context().resolvePropertyPlaceholders("{{camel.server.port}}");
            assertThat(own.context().resolvePropertyPlaceholders("{{zapi.webhook.token}}")).isEqualTo(ownToken);
            assertThat(own.context().resolvePropertyPlaceholders("{{zapi.sandbox.webhook-url}}"))
                    .isEqualTo("http://127.0.0.1:" + apiPort + "/webhooks/z-api/" + ownToken);
        }
    }

    /** A webhook address that is not one is refused at start in one line naming the setting, not at the first call. */
    @Test
    void aWebhookUrlThatIsNotOneIsRefusedAtStart(@TempDir Path badData) {
        Map<String, String> notAnAddress = Map.of("zapi.sandbox.webhook-url", "127.0.0.1:8080 hooks");
        assertThatThrownBy(() -> RunningModule.startSandbox(badData, notAnAddress))
                .rootCause().isInstanceOf(StartupException.class)
                .hasMessageContaining("zapi.sandbox.webhook-url (env ZAPI_SANDBOX_WEBHOOK_URL)")
                .hasMessageContaining("127.0.0.1:8080 hooks");
    }

    /** The README's every-outcome command, run as written beside the module: one record of each outcome. */
    @Test
    void theReadmesEveryOutcomeCommandShowsEachOutcome(@TempDir Path readmeData, @TempDir Path workDir)
            throws Exception {
        Matcher command = Pattern.compile("\\n(t=\\$\\(date .*? > data/inbox/every-outcome\\.jsonl)\\n")
                .matcher(Files.readString(Path.of("README.md")));
        assertThat(command.find()).as("the README's every-outcome command").isTrue();
        Files.createSymbolicLink(workDir.resolve("data"), readmeData);
        // the simulator's events go to the module's own webhook, with the token sandbox mode made: no setting
        try (RunningModule readme = RunningModule.startSandbox(readmeData, FAST)) {
            Process drop = new ProcessBuilder("bash", "-c", command.group(1)).directory(workDir.toFile())
                    .redirectErrorStream(true).start();
            assertThat(drop.waitFor()).as(new String(drop.getInputStream().readAllBytes())).isZero();

            Map<String, String> outcomes = readme.awaitRecords("every-outcome.jsonl", 7).stream().collect(
                    Collectors.toMap(r -> r.path("id").asText().split("-")[1], r -> r.path("outcome").asText()));
            assertThat(outcomes).isEqualTo(Map.of("5511900000405", "error-405", "5511900000415", "error-415",
                    "5511900000429", "success", "5511900000503", "failed", "5511900000408", "failed",
                    "5511900000000", "success", "5511999999999", "success"));

            // each call the simulator placed is an event record, tied to its success record by callOf; the slow
            // one was placed too, but its record is failed: an event with no call of its own (callOf null)
            Map<String, String> successes = readme.recordsOf("every-outcome.jsonl").stream()
                    .filter(r -> r.path("outcome").asText().equals("success")).collect(Collectors.toMap(
                            r -> r.path("request").path("phone").asText(), r -> r.path("correlationId").asText()));
            Path events = readmeData.resolve("outbox/events");
            await().atMost(Duration.ofSeconds(30)).until(() -> eventRecords(events).size() == 4);
            Map<String, JsonNode> byPhone = eventRecords(events).stream().map(RunningModule::read)
                    .collect(Collectors.toMap(e -> e.path("phone").asText(), e -> e));
            assertThat(byPhone.keySet()).containsExactlyInAnyOrder("5511900000429", "5511900000408",
                    "5511900000000", "5511999999999");
            assertThat(byPhone.get("5511900000000").path("event").asText()).isEqualTo("missed");
            for (String phone : List.of("5511900000429", "5511900000408", "5511999999999")) {
                assertThat(byPhone.get(phone).path("event").asText()).as(phone).isEqualTo("answered");
            }
            byPhone.forEach((phone, event) -> {
                assertThat(event.path("instance").asText()).isEqualTo("default");
                assertThat(event.path("callOf").isNull() ? null : event.path("callOf").asText()).as(phone)
                        .isEqualTo(successes.get(phone));
            });
        }
    }

    /** With the pre-check on, the simulator's phone-exists-batch says a phone ending in 0404 is not on WhatsApp. */
    @Test
    void thePreCheckInTheSandboxRejectsAPhoneEndingIn0404(@TempDir Path data) {
        Map<String, String> settings = new HashMap<>(FAST);
        settings.put("zapi.precheck", "true");
        try (RunningModule sandbox = RunningModule.startSandbox(data, settings)) {
            sandbox.drop("checked.csv", "phone\n5511900000404\n5511999990001\n");

            Map<String, JsonNode> byPhone = sandbox.awaitRecords("checked.csv", 2).stream().collect(
                    Collectors.toMap(r -> r.path("request").path("phone").asText(r.path("request").toString()),
                            r -> r));
            assertThat(byPhone.values()).anySatisfy(r -> {
                assertThat(r.path("outcome").asText()).isEqualTo("rejected");
                assertThat(r.path("error").asText()).startsWith("not on WhatsApp");
                assertThat(r.toString()).contains("5511900000404");
            });
            assertThat(byPhone.get("5511999990001").path("outcome").asText()).isEqualTo("success");
            assertThat(byPhone.get("5511999990001").path("precheck").asText()).startsWith("passed");
        }
    }

    private static List<JsonNode> postedEvents() {
        return webhook.findAll(postRequestedFor(urlPathMatching("/webhooks/z-api/.*"))).stream()
                .map(LoggedRequest::getBodyAsString).map(SandboxSuffixesTest::json).toList();
    }

    private static JsonNode json(String text) {
        try {
            return Json.MAPPER.readTree(text);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static String row(String id, String phone) {
        return "{\"id\": \"" + id + "\", \"phone\": \"" + phone + "\"}";
    }

    /** The event records written so far (not the temporary files being written). */
    private static List<Path> eventRecords(Path folder) throws java.io.IOException {
        if (!Files.isDirectory(folder)) {
            return List.of();
        }
        try (var files = Files.list(folder)) {
            return files.filter(f -> f.getFileName().toString().endsWith(".json")
                                     && !f.getFileName().toString().startsWith(".")).toList();
        }
    }

    private static String log() {
        return logs.text();
    }
}
