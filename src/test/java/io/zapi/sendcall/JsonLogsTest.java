package io.zapi.sendcall;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpRequest.BodyPublishers;
import java.net.http.HttpResponse.BodyHandlers;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import jakarta.jms.Connection;
import jakarta.jms.MessageProducer;
import jakarta.jms.Session;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.zapi.sendcall.pipeline.Json;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.okJson;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * zapi.log.format=json: the module as a process writes one JSON object per line, from its first line to its last
 * (Camel's, Artemis's and a start-up refusal included); SecretsTest's requests, on all three inputs, with the module's,
 * Camel's and the root logger at DEBUG, leave no secret in any field in any form; the outcome line carries
 * correlationId, channel, outcome and status as fields, the same as its record.
 */
class JsonLogsTest {

    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private static final List<String> RECORD_FOLDERS = RunningModule.OUTCOMES;
    /** A line with anything after its object is not one JSON object. */
    private static final ObjectMapper ONE_VALUE_PER_LINE = new ObjectMapper()
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    @TempDir
    Path dataDir;

    @Test
    void everyLineIsAJsonObjectAndNoFieldHoldsASecret() throws Exception {
        Map<String, String> requests = SecretsTest.outcomePaths();
        Files.createDirectories(dataDir.resolve("inbox"));
        for (var request : requests.entrySet()) {
            Files.writeString(dataDir.resolve("inbox").resolve(request.getKey() + ".json"),
                    SecretsTest.ownIds(request.getValue(), "file"));
        }
        int httpPort = RunningModule.freePort();
        int jmsPort = RunningModule.freePort();
        try (ZapiStub zapi = new ZapiStub();
             ModuleProcess module = ModuleProcess.start(
                     Map.of("camel.server.port", String.valueOf(httpPort),
                             "zapi.jms.embedded-port", String.valueOf(jmsPort)),
                     jsonModuleAtDebug(zapi.baseUrl()))) {
            String echoed = "token " + RunningModule.INSTANCE_TOKEN + " client " + RunningModule.CLIENT_TOKEN;
            zapi.answer("5511900000405", aResponse().withStatus(405));
            zapi.answer("5511900000415", aResponse().withStatus(415));
            zapi.answer("5511900000500", aResponse().withStatus(500).withBody(echoed + " echoed back"));
            zapi.answer("5511900000501", okJson("{\"error\": \"" + echoed + "\"}").withStatus(501));
            zapi.answer("5511900000503", aResponse().withStatus(503).withBody(echoed));
            zapi.answer("5511900000404", aResponse().withStatus(404)
                    .withBody("x".repeat(4090) + RunningModule.INSTANCE_TOKEN));
            zapi.answer("5511900000408", aResponse().withStatus(200).withFixedDelay(3000));

            await().atMost(Duration.ofSeconds(60)).ignoreExceptions()
                    .until(() -> post(httpPort, "{}", SecretsTest.API_KEY) == 400);
            for (String body : requests.values()) {
                post(httpPort, SecretsTest.ownIds(body, "http"), SecretsTest.API_KEY);
            }
            assertThat(post(httpPort, "{\"phone\": \"5511900000200\"}", SecretsTest.API_KEY.substring(0, 20)))
                    .isEqualTo(401);
            try (Connection jms = JmsQueueTest.connect(jmsPort);
                 Session session = jms.createSession(false, Session.AUTO_ACKNOWLEDGE);
                 MessageProducer producer = session.createProducer(session.createQueue("send-call"))) {
                for (String body : requests.values()) {
                    producer.send(session.createTextMessage(SecretsTest.ownIds(body, "jms")));
                }
            }
            // the HTTP probe "{}" is one more rejected record
            await().atMost(Duration.ofSeconds(90)).until(() -> records().size() == requests.size() * 3 + 1);
            module.terminate();
            assertThat(module.awaitExit()).isEqualTo(0);

            List<JsonNode> lines = jsonLines(module.output());
            assertThat(lines).anySatisfy(line -> assertThat(line.path("level").asText()).isEqualTo("DEBUG"))
                    .anySatisfy(line -> assertThat(line.path("logger_name").asText()).startsWith("org.apache.camel"))
                    .anySatisfy(line -> assertThat(line.path("message").asText()).contains("X-API-Key"))
                    .anySatisfy(line -> assertThat(line.path("message").asText()).contains("/token/****/send-call"));
            for (String secret : SecretsTest.SECRETS) {
                for (String form : SecretsTest.forms(secret)) {
                    assertThat(module.output()).doesNotContain(form);
                    assertThat(lines).allSatisfy(line -> assertThat(everyText(line)).noneMatch(
                            text -> text.contains(form)));
                }
            }

            List<JsonNode> outcomeLines = lines.stream()
                    .filter(line -> line.path("logger_name").asText().equals("io.zapi.sendcall.outcome")).toList();
            List<JsonNode> records = records().stream().map(JsonLogsTest::read).toList();
            assertThat(records).hasSize(requests.size() * 3 + 1).allSatisfy(record -> assertThat(outcomeLines)
                    .filteredOn(line -> line.path("correlationId").asText().equals(record.path("correlationId")
                            .asText()))
                    .singleElement().satisfies(line -> {
                        assertThat(line.path("channel").asText()).isEqualTo(record.path("source").path("channel")
                                .asText());
                        assertThat(line.path("outcome").asText()).isEqualTo(record.path("outcome").asText());
                        assertThat(line.path("status").asText(null)).isEqualTo(record.path("status").isNull() ? null
                                : record.path("status").asText());
                    }));
            assertThat(records).extracting(record -> record.path("source").path("channel").asText())
                    .contains("file", "http", "jms");
            assertThat(outcomeLines).extracting(line -> line.path("status").asText(null)).contains("200", "500", null);
        }
    }

    /** Refused at start (no credentials): the refusal is a JSON line too, as every line before it. */
    @Test
    void aRefusalAtStartIsAJsonLine() throws Exception {
        try (ModuleProcess module = ModuleProcess.start(Map.of("zapi.data-dir", dataDir.toString(),
                "zapi.log.format", "json"), Map.of())) {
            assertThat(module.awaitExit()).isEqualTo(1);
            assertThat(jsonLines(module.output())).anySatisfy(line -> {
                assertThat(line.path("level").asText()).isEqualTo("ERROR");
                assertThat(line.path("message").asText()).startsWith("Cannot start: Missing settings "
                                                                    + "zapi.instance-id (env ZAPI_INSTANCE_ID)");
            });
        }
    }

    /**
     * An unexpected failure at start (a Camel option that does not exist, its value made of the secrets) is one line:
     * its stack trace is the field stack_trace, the secrets masked there as in the message.
     */
    @Test
    void aStackTraceIsOneFieldWithTheSecretsMasked() throws Exception {
        String secrets = "key " + SecretsTest.API_KEY + " token " + RunningModule.INSTANCE_TOKEN + " client "
                         + RunningModule.CLIENT_TOKEN;
        Map<String, String> env = Map.of("ZAPI_LOG_FORMAT", "json", "ZAPI_HTTP_API_KEY", SecretsTest.API_KEY,
                "ZAPI_INSTANCE_TOKEN", RunningModule.INSTANCE_TOKEN, "ZAPI_CLIENT_TOKEN", RunningModule.CLIENT_TOKEN);
        try (ModuleProcess module = ModuleProcess.start(Map.of("zapi.data-dir", dataDir.resolve("data").toString(),
                "zapi.sandbox", "true", "camel.main.no-such-option", secrets), env)) {
            assertThat(module.awaitExit()).isEqualTo(1);
            List<JsonNode> lines = jsonLines(module.output());
            assertThat(lines).anySatisfy(line -> {
                assertThat(line.path("message").asText()).startsWith("The module stopped: ")
                        .contains("key **** token **** client ****");
                assertThat(line.path("stack_trace").asText()).contains("PropertyBindingException")
                        .contains("key **** token **** client ****").contains("\tat org.apache.camel");
            });
            for (String secret : SecretsTest.SECRETS) {
                for (String form : SecretsTest.forms(secret)) {
                    assertThat(module.output()).doesNotContain(form);
                    assertThat(lines).allSatisfy(line -> assertThat(everyText(line)).noneMatch(
                            text -> text.contains(form)));
                }
            }
        }
    }

    @Test
    void anUnknownFormatIsRefusedAtStartNamingTheChoices() throws Exception {
        try (ModuleProcess module = ModuleProcess.start(Map.of("zapi.data-dir", dataDir.resolve("data").toString(),
                "zapi.sandbox", "true"), Map.of("ZAPI_LOG_FORMAT", "xml"))) {
            assertThat(module.awaitExit()).isEqualTo(1);
            assertThat(module.output()).contains("Cannot start: zapi.log.format (env ZAPI_LOG_FORMAT) must be text or "
                                                 + "json, was \"xml\".")
                    .doesNotContain("\tat ");
        }
        assertThat(dataDir.resolve("data")).doesNotExist();
    }

    private Map<String, String> jsonModuleAtDebug(String baseUrl) {
        Map<String, String> env = new HashMap<>();
        env.put("ZAPI_LOG_FORMAT", "json");
        env.put("LOG_LEVEL", "DEBUG");
        env.put("CAMEL_LOG_LEVEL", "DEBUG");
        env.put("ZAPI_LOG_LEVEL", "DEBUG");
        env.put("ZAPI_BASE_URL", baseUrl);
        env.put("ZAPI_INSTANCE_ID", RunningModule.INSTANCE_ID);
        env.put("ZAPI_INSTANCE_TOKEN", RunningModule.INSTANCE_TOKEN);
        env.put("ZAPI_CLIENT_TOKEN", RunningModule.CLIENT_TOKEN);
        env.put("ZAPI_HTTP_API_KEY", SecretsTest.API_KEY);
        env.put("ZAPI_DATA_DIR", dataDir.toString());
        env.put("ZAPI_INBOX_POLL_DELAY_MS", "100");
        env.put("ZAPI_INBOX_SETTLE_MS", "100");
        env.put("ZAPI_RETRY_MAX_ATTEMPTS", "2");
        env.put("ZAPI_RETRY_INITIAL_DELAY_MS", "20");
        env.put("ZAPI_HTTP_RESPONSE_TIMEOUT_MS", "1500");
        return env;
    }

    /** Every line parsed; fails on the first that is not exactly one JSON object. */
    private static List<JsonNode> jsonLines(String output) {
        assertThat(output).isNotEmpty();
        List<JsonNode> lines = new ArrayList<>();
        for (String line : output.lines().toList()) {
            try {
                JsonNode parsed = ONE_VALUE_PER_LINE.readTree(line);
                assertThat(parsed.isObject()).as("a JSON object: %s", line).isTrue();
                lines.add(parsed);
            } catch (IOException notJson) {
                throw new AssertionError("not a JSON line: " + line, notJson);
            }
        }
        return lines;
    }

    /** Every field name and text value, decoded, however deep. */
    private static List<String> everyText(JsonNode node) {
        List<String> texts = new ArrayList<>();
        if (node.isValueNode()) {
            texts.add(node.asText());
        }
        node.fieldNames().forEachRemaining(texts::add);
        node.elements().forEachRemaining(child -> texts.addAll(everyText(child)));
        return texts;
    }

    private List<Path> records() throws IOException {
        List<Path> records = new ArrayList<>();
        for (String folder : RECORD_FOLDERS) {
            Path outbox = dataDir.resolve("outbox").resolve(folder);
            if (Files.isDirectory(outbox)) {
                try (Stream<Path> files = Files.list(outbox)) {
                    files.filter(file -> !file.getFileName().toString().startsWith(".")).forEach(records::add);
                }
            }
        }
        return records;
    }

    private static JsonNode read(Path record) {
        try {
            return Json.MAPPER.readTree(record.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static int post(int port, String body, String apiKey) throws Exception {
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/send-call"))
                .timeout(Duration.ofSeconds(30)).header("Content-Type", "application/json").header("X-API-Key", apiKey)
                .POST(BodyPublishers.ofString(body)).build();
        return HTTP.send(request, BodyHandlers.ofString(StandardCharsets.UTF_8)).statusCode();
    }
}
