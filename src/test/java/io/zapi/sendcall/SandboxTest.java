package io.zapi.sendcall;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.zapi.sendcall.pipeline.Json;
import io.zapi.sendcall.runtime.StartupException;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/** zapi.sandbox=true: no account, no real call, and a simulator that behaves as Z-API's document says. */
class SandboxTest {

    private static final HttpClient HTTP = HttpClient.newHttpClient();

    @TempDir
    static Path dataDir;
    static RunningModule module;
    static String sendCallUrl;

    @BeforeAll
    static void start() {
        module = RunningModule.startSandbox(dataDir);
        String baseUrl = module.context().resolvePropertyPlaceholders("{{zapi.base-url}}");
        assertThat(baseUrl).startsWith("http://127.0.0.1:");
        sendCallUrl = baseUrl + "/instances/sandbox-instance/token/sandbox-instance-token/send-call";
    }

    @AfterAll
    static void stop() {
        module.close();
    }

    @Test
    void theQuickStartRequestSucceedsWithoutAnAccount() {
        module.drop("sample.json", "{\"phone\": \"+55 (11) 99999-9999\", \"callDuration\": 7}");

        JsonNode record = module.awaitRecord("sample.json");

        assertThat(record.path("outcome").asText()).isEqualTo("success");
        assertThat(record.path("status").asInt()).isEqualTo(200);
        JsonNode response = record.path("response");
        assertThat(response.path("zaapId").asText()).matches("[0-9A-F]{32}");
        assertThat(response.path("messageId").asText()).matches("[0-9A-F]{20}");
        assertThat(response.path("id").asText()).isEqualTo(response.path("messageId").asText());
    }

    /** The README's run command drops a sample request first: run twice, it places two calls, not a duplicate. */
    @Test
    void theQuickStartSampleDroppedTwiceSucceedsTwice(@TempDir Path quickStartData, @TempDir Path workDir)
            throws Exception {
        Matcher command = Pattern.compile("(mkdir -p data/inbox && .*?) && java -Dzapi\\.sandbox=true")
                .matcher(Files.readString(Path.of("README.md")));
        assertThat(command.find()).as("the README's run command").isTrue();
        Files.createSymbolicLink(workDir.resolve("data"), quickStartData);
        try (RunningModule quickStart = RunningModule.startSandbox(quickStartData)) {
            for (int run = 1; run <= 2; run++) {
                Process drop = new ProcessBuilder("bash", "-c", command.group(1)).directory(workDir.toFile())
                        .redirectErrorStream(true).start();
                assertThat(drop.waitFor()).as(new String(drop.getInputStream().readAllBytes())).isZero();
                int dropped = run;
                quickStart.awaitRecords("sample.json", dropped);
                await().atMost(Duration.ofSeconds(20)).until(() -> quickStart.kept(".done", "sample.json").size() == dropped);
            }
            assertThat(quickStart.recordsOf("sample.json")).extracting(r -> r.path("outcome").asText())
                    .containsExactly("success", "success");
        }
    }

    /** Camel Main's own switch for a profile turns the sandbox on as zapi.sandbox=true does. */
    @Test
    void theSandboxProfileOfCamelMainIsTheSameSwitch(@TempDir Path profileData) throws Exception {
        try (ModuleProcess profiled = ModuleProcess.start(Map.of("zapi.data-dir", profileData.toString(),
                "camel.main.profile", "sandbox"), Map.of())) {
            await().atMost(Duration.ofSeconds(60)).until(() -> profiled.output().contains(") started in"));
            assertThat(profiled.output()).contains("SANDBOX MODE").doesNotContain("Missing setting");
        }
    }

    /**
     * A Z-API address the user set (here an override, as -D or env would be) is not replaced behind their back: the
     * sandbox refuses to start rather than send calls somewhere the user did not mean.
     */
    @Test
    void aZapiAddressOfTheUsersOwnIsNotReplacedBySandboxMode(@TempDir Path ownData) {
        try (ZapiStub zapi = new ZapiStub()) {
            assertThatThrownBy(() -> RunningModule.start(zapi.baseUrl(), ownData, Map.of("zapi.sandbox", "true")))
                    .rootCause().isInstanceOf(StartupException.class)
                    .hasMessageContaining("zapi.base-url (env ZAPI_BASE_URL) is set to " + zapi.baseUrl())
                    .hasMessageContaining("zapi.sandbox");
        }
    }

    @Test
    void theSimulatorTakesOnlyPost() throws Exception {
        HttpResponse<String> response = HTTP.send(HttpRequest.newBuilder(URI.create(sendCallUrl))
                .header("Client-Token", "sandbox-client-token").GET().build(), HttpResponse.BodyHandlers.ofString());

        assertThat(response.statusCode()).isEqualTo(405);
    }

    @Test
    void theSimulatorTakesOnlyJson() throws Exception {
        HttpResponse<String> response = HTTP.send(post("text/plain", "sandbox-client-token"),
                HttpResponse.BodyHandlers.ofString());

        assertThat(response.statusCode()).isEqualTo(415);
    }

    @Test
    void theSimulatorChecksTheClientToken() throws Exception {
        HttpResponse<String> wrong = HTTP.send(post("application/json", "wrong"), HttpResponse.BodyHandlers.ofString());
        HttpResponse<String> right = HTTP.send(post("application/json", "sandbox-client-token"),
                HttpResponse.BodyHandlers.ofString());

        assertThat(wrong.statusCode()).isEqualTo(403);
        assertThat(right.statusCode()).isEqualTo(200);
        assertThat(Json.MAPPER.readTree(right.body()).fieldNames()).toIterable()
                .containsExactlyInAnyOrder("zaapId", "messageId", "id");
    }

    private static HttpRequest post(String contentType, String clientToken) {
        return HttpRequest.newBuilder(URI.create(sendCallUrl)).header("Content-Type", contentType)
                .header("Client-Token", clientToken)
                .POST(HttpRequest.BodyPublishers.ofString("{\"phone\":\"5511999999999\",\"callDuration\":5}")).build();
    }
}
