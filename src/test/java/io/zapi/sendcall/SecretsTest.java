package io.zapi.sendcall;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpRequest.BodyPublishers;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodyHandlers;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.TextNode;
import jakarta.jms.Connection;
import jakarta.jms.MessageConsumer;
import jakarta.jms.MessageProducer;
import jakarta.jms.Queue;
import jakarta.jms.Session;
import jakarta.jms.TextMessage;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.zapi.sendcall.pipeline.Json;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.okJson;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Every outcome path, failures and exceptions included, through all three inputs (file, HTTP, JMS), with every logger
 * at DEBUG, captured through the layout the module's logback.xml configures: neither token nor the HTTP API key appears
 * in a log line, a record, a report, an HTTP answer, a JMS reply or an error message.
 */
class SecretsTest {

    /** The API key holds a quote and a backslash: in a record (JSON) it would appear escaped. */
    static final String API_KEY = "HTTP-API-KEY-\"q\\uoted\"-5e1f2a9c";
    static final List<String> SECRETS = List.of(RunningModule.INSTANCE_TOKEN, RunningModule.CLIENT_TOKEN, API_KEY);
    /** Fast retries and a short response timeout, so that every failure path is taken in a second. */
    static final Map<String, String> SETTINGS = Map.of("zapi.http.api-key", API_KEY, "zapi.retry.max-attempts", "2",
            "zapi.retry.initial-delay-ms", "20", "zapi.http.response-timeout-ms", "1500");
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @TempDir
    static Path dataDir;
    @TempDir
    static Path unreachableDataDir;
    static DebugLogs logs;
    /** Every HTTP answer and JMS reply, headers included. */
    static final List<String> ANSWERS = new ArrayList<>();

    @BeforeAll
    static void everyLoggerAtDebugThroughTheConfiguredLayout() {
        logs = DebugLogs.capture();
    }

    @AfterAll
    static void restoreLogging() {
        logs.close();
    }

    @Test
    void noOutcomePathLeaksASecret() throws Exception {
        try (ZapiStub zapi = new ZapiStub();
             RunningModule module = RunningModule.start(zapi.baseUrl(), dataDir, SETTINGS);
             Connection jms = JmsQueueTest.connect(module.jmsPort())) {
            String echoed = "token " + RunningModule.INSTANCE_TOKEN + " client " + RunningModule.CLIENT_TOKEN;
            zapi.answer("5511900000405", aResponse().withStatus(405));
            zapi.answer("5511900000415", aResponse().withStatus(415));
            zapi.answer("5511900000500", aResponse().withStatus(500).withBody(echoed + " echoed back"));
            zapi.answer("5511900000501", okJson("{\"error\": \"" + echoed + "\"}").withStatus(501));
            zapi.answer("5511900000503", aResponse().withStatus(503).withBody(echoed));
            // not JSON, so kept as text and cut at 4096 characters: the cut falls inside the token
            zapi.answer("5511900000404", aResponse().withStatus(404)
                    .withBody("x".repeat(4090) + RunningModule.INSTANCE_TOKEN));
            zapi.answer("5511900000408", aResponse().withStatus(200).withFixedDelay(3000));
            Map<String, String> requests = outcomePaths();

            Map<String, JsonNode> byFile = new LinkedHashMap<>();
            Map<String, JsonNode> byHttp = new LinkedHashMap<>();
            Map<String, String> jmsIds = new LinkedHashMap<>();
            // the same requests on three inputs: each input gets ids of its own, or the ledger sees duplicates
            requests.forEach((path, body) -> module.drop(path + ".json", ownIds(body, "file")));
            module.drop("unsupported.txt", "{\"phone\": \"" + RunningModule.CLIENT_TOKEN + "\"}");
            try (Session session = jms.createSession(false, Session.AUTO_ACKNOWLEDGE);
                 MessageProducer producer = session.createProducer(session.createQueue("send-call"))) {
                for (var request : requests.entrySet()) {
                    TextMessage message = session.createTextMessage(ownIds(request.getValue(), "jms"));
                    producer.send(message);
                    jmsIds.put(request.getKey(), message.getJMSMessageID());
                }
                Queue replies = session.createTemporaryQueue();
                try (MessageConsumer consumer = session.createConsumer(replies)) {
                    for (String body : List.of("{\"phone\": \"" + RunningModule.CLIENT_TOKEN + "\"}",
                            "{\"phone\": \"5511900000500\"}")) {
                        TextMessage message = session.createTextMessage(body);
                        message.setJMSReplyTo(replies);
                        producer.send(message);
                        ANSWERS.add(((TextMessage) consumer.receive(20_000)).getText());
                    }
                }
            }
            for (var request : requests.entrySet()) {
                byHttp.put(request.getKey(), Json.MAPPER.readTree(post(module, ownIds(request.getValue(), "http"),
                        Map.of("X-API-Key", API_KEY)).body()));
            }
            // the answers the HTTP input makes before the pipeline: 401, 413, 415, 405, 404
            post(module, "{\"phone\": \"5511900000200\"}", Map.of());
            post(module, "{\"phone\": \"5511900000200\"}", Map.of("X-API-Key", API_KEY.substring(0, 20)));
            post(module, "{\"phone\": \"" + "9".repeat(70_000) + "\"}", Map.of("X-API-Key", API_KEY));
            send(module, "/send-call", "POST", "text/plain", Map.of("X-API-Key", API_KEY));
            send(module, "/send-call", "GET", "application/json", Map.of("X-API-Key", API_KEY));
            send(module, "/" + RunningModule.INSTANCE_TOKEN, "POST", "application/json", Map.of("X-API-Key", API_KEY));
            for (String path : requests.keySet()) {
                byFile.put(path, module.awaitRecord(path + ".json"));
            }
            module.awaitRecord("unsupported.txt");
            Map<String, JsonNode> byJms = new LinkedHashMap<>();
            jmsIds.forEach((path, id) -> byJms.put(path, module.awaitRecord(id)));

            for (Map<String, JsonNode> byInput : List.of(byFile, byHttp, byJms)) {
                assertThat(byInput).allSatisfy((path, record) -> assertThat(record.path("outcome").asText())
                        .isEqualTo(path.replaceFirst("-.*", "").replace("error", "error-")));
                assertThat(byInput.get("failed-500").path("response").asText()).contains("token **** client ****");
                // masked before it is cut at 4096 characters: the cut cannot leave a piece of the token
                assertThat(byInput.get("failed-404-long").path("response").asText()).endsWith("x****")
                        .doesNotContain("INSTAN");
                assertThat(byInput.get("failed-retried").path("error").asText()).contains("gave up after 2 attempts");
                assertThat(byInput.get("failed-timeout").path("error").asText()).containsIgnoringCase("timed out");
                assertThat(byInput.get("rejected-token").path("request").path("phone").asText()).isEqualTo("****");
                assertThat(byInput.get("rejected-api-key").path("request").path("phone").asText()).isEqualTo("****");
                // masked before it is cut to 40 characters: no part of the token is left where the cut falls
                assertThat(byInput.get("rejected-token-cut").path("error").asText()).contains("x****")
                        .doesNotContain(RunningModule.INSTANCE_TOKEN.substring(0, 5));
            }
        }

        unreachableModuleWhoseRejectedRecordsCannotBeWritten();

        String log = logs.text();
        // the DEBUG lines that name the request URI were there, and were masked
        assertThat(log).contains("/token/****/send-call").contains(" DEBUG ").contains("X-API-Key");
        for (String secret : SECRETS) {
            for (String form : forms(secret)) {
                assertThat(log).doesNotContain(form);
                assertThat(allFiles(dataDir)).hasSizeGreaterThan(40)
                        .allSatisfy(file -> assertThat(file).content().doesNotContain(form));
                assertThat(allFiles(unreachableDataDir.resolve("data"))).isNotEmpty()
                        .allSatisfy(file -> assertThat(file).content().doesNotContain(form));
                assertThat(ANSWERS).hasSizeGreaterThanOrEqualTo(23)
                        .allSatisfy(answer -> assertThat(answer).doesNotContain(form));
            }
        }
        // reports were among the files looked at
        assertThat(allFiles(dataDir)).map(p -> p.getFileName().toString())
                .anyMatch(name -> name.matches("[0-9]{8}-[0-9]{9}-success\\.json\\.json"))
                .anyMatch(name -> name.matches("[0-9]{8}-[0-9]{9}-unsupported\\.txt\\.json"));
    }

    /**
     * A token with a space (and a plus) travels in the path percent-encoded ({@code %20}, {@code %2B}); that form, like the
     * form-encoded ({@code +}) and raw ones, is masked in the DEBUG lines of Camel and HttpClient (the request line
     * of the wire log included) and in the records.
     */
    @Test
    void aTokenWithASpaceIsMaskedInItsPathEncodedForm(@TempDir Path spacedDataDir) throws Exception {
        String spacedToken = "SPACED TOKEN+7f3a 9c";
        String pathEncoded = "SPACED%20TOKEN%2B7f3a%209c";
        int logStart = logs.mark();
        try (ZapiStub zapi = new ZapiStub();
             RunningModule module = RunningModule.start(zapi.baseUrl(), spacedDataDir,
                     Map.of("zapi.instance-token", spacedToken))) {
            zapi.stubFor(com.github.tomakehurst.wiremock.client.WireMock.post(
                            com.github.tomakehurst.wiremock.client.WireMock.urlPathMatching("/instances/.*/send-call"))
                    .atPriority(1).willReturn(okJson("{\"zaapId\":\"Z\",\"messageId\":\"M\",\"id\":\"M\"}")));

            module.drop("spaced.json", "{\"phone\": \"5511900000251\"}");

            JsonNode record = module.awaitRecord("spaced.json");
            assertThat(record.path("outcome").asText()).isEqualTo("success");
            assertThat(zapi.allRequests()).singleElement().satisfies(request -> assertThat(request.getUrl())
                    .isEqualTo("/instances/" + RunningModule.INSTANCE_ID + "/token/" + pathEncoded + "/send-call"));
        }
        String log = logs.text().substring(logStart);
        assertThat(log).contains("/token/****/send-call").contains("org.apache.hc.client5.http.wire");
        for (String form : List.of(spacedToken, pathEncoded, URLEncoder.encode(spacedToken, StandardCharsets.UTF_8),
                "SPACED%20TOKEN+7f3a%209c")) {
            assertThat(log).doesNotContain(form);
            assertThat(allFiles(spacedDataDir)).isNotEmpty()
                    .allSatisfy(file -> assertThat(file).content().doesNotContain(form));
        }
    }

    /**
     * Z-API cannot be reached (connection refused: retried, then failed) and no rejected record can be written, so a
     * rejected request ends in an exception on each input: the file's row fails, HTTP answers with an error, the JMS
     * message is redelivered and parked in the dead-letter queue.
     */
    private static void unreachableModuleWhoseRejectedRecordsCannotBeWritten() throws Exception {
        int closedPort;
        try (ServerSocket closed = new ServerSocket(0)) {
            closedPort = closed.getLocalPort();
        }
        Path notAFolder = Files.writeString(unreachableDataDir.resolve("not-a-folder"), "");
        Map<String, String> settings = new HashMap<>(SETTINGS);
        settings.put("zapi.outcome.rejected-uri", "file:" + notAFolder.resolve("rejected"));
        String refused = "{\"phone\": \"5511900000000\", \"id\": \"" + RunningModule.CLIENT_TOKEN + "\"}";
        String rejected = "{\"phone\": \"" + RunningModule.INSTANCE_TOKEN + "\"}";
        try (RunningModule module = RunningModule.start("http://127.0.0.1:" + closedPort,
                unreachableDataDir.resolve("data"), settings);
             Connection jms = JmsQueueTest.connect(module.jmsPort());
             Session session = jms.createSession(false, Session.AUTO_ACKNOWLEDGE);
             MessageProducer producer = session.createProducer(session.createQueue("send-call"))) {
            module.drop("refused.json", ownIds(refused, "file"));
            module.drop("rejected.json", rejected);
            TextMessage refusedMessage = session.createTextMessage(ownIds(refused, "jms"));
            producer.send(refusedMessage);
            producer.send(session.createTextMessage(rejected));
            HttpResponse<String> refusedAnswer = post(module, ownIds(refused, "http"), Map.of("X-API-Key", API_KEY));
            HttpResponse<String> rejectedAnswer = post(module, rejected, Map.of("X-API-Key", API_KEY));

            assertThat(refusedAnswer.statusCode()).isEqualTo(502);
            assertThat(rejectedAnswer.statusCode()).isGreaterThanOrEqualTo(400);
            assertThat(module.awaitRecord("refused.json").path("outcome").asText()).isEqualTo("failed");
            assertThat(module.awaitRecord(refusedMessage.getJMSMessageID()).path("error").asText())
                    .contains("Connection refused");
            // the rejected records (file, JMS, HTTP) cannot be written: each is kept pending, its input answered
            await().atMost(Duration.ofSeconds(20)).until(
                    () -> JmsQueueTest.pendingRecords(unreachableDataDir.resolve("data")) == 3);
            await().atMost(Duration.ofSeconds(20)).until(() -> module.kept(".done", "rejected.json").size()
                                                              + module.kept(".error", "rejected.json").size() == 1);
        }
    }

    /** One request per outcome path; the key says which outcome its record must have. */
    static Map<String, String> outcomePaths() {
        Map<String, String> paths = new LinkedHashMap<>();
        paths.put("success", "{\"phone\": \"5511900000200\", \"id\": \"" + RunningModule.CLIENT_TOKEN + "\"}");
        paths.put("error405", "{\"phone\": \"5511900000405\"}");
        paths.put("error415", "{\"phone\": \"5511900000415\"}");
        paths.put("failed-500", "{\"phone\": \"5511900000500\"}");
        paths.put("failed-501-json", "{\"phone\": \"5511900000501\"}");
        paths.put("failed-retried", "{\"phone\": \"5511900000503\"}");
        paths.put("failed-404-long", "{\"phone\": \"5511900000404\"}");
        paths.put("failed-timeout", "{\"phone\": \"5511900000408\"}");
        paths.put("rejected-token", "{\"phone\": \"" + RunningModule.CLIENT_TOKEN + "\"}");
        paths.put("rejected-token-cut", "{\"phone\": \"" + "x".repeat(30) + RunningModule.INSTANCE_TOKEN + "\"}");
        paths.put("rejected-api-key", "{\"phone\": " + TextNode.valueOf(API_KEY) + "}");
        paths.put("rejected-not-json", RunningModule.INSTANCE_TOKEN + " " + RunningModule.CLIENT_TOKEN);
        paths.put("rejected-unreadable", "{\"phone\": \"5511900000200\", \"id\": \"" + RunningModule.CLIENT_TOKEN);
        return paths;
    }

    /** A secret as it may appear: raw, URL-encoded, JSON-escaped. */
    static List<String> forms(String secret) {
        String json = TextNode.valueOf(secret).toString();
        return List.of(secret, URLEncoder.encode(secret, StandardCharsets.UTF_8), json.substring(1, json.length() - 1));
    }

    private static HttpResponse<String> post(RunningModule module, String body, Map<String, String> headers)
            throws Exception {
        return send(module, "/send-call", "POST", "application/json", headers, body);
    }

    private static HttpResponse<String> send(RunningModule module, String path, String method, String contentType,
                                             Map<String, String> headers) throws Exception {
        return send(module, path, method, contentType, headers, "{\"phone\": \"5511900000200\"}");
    }

    private static HttpResponse<String> send(RunningModule module, String path, String method, String contentType,
                                             Map<String, String> headers, String body) throws Exception {
        String port = module.context().resolvePropertyPlaceholders("{{camel.server.port}}");
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(30)).header("Content-Type", contentType)
                .method(method, BodyPublishers.ofString(body));
        headers.forEach(request::header);
        HttpResponse<String> response = HTTP.send(request.build(), BodyHandlers.ofString(StandardCharsets.UTF_8));
        ANSWERS.add(response.statusCode() + " " + response.headers().map() + " " + response.body());
        return response;
    }

    /** Every record and report the module wrote. */
    private static List<Path> allFiles(Path dataDir) throws IOException {
        try (Stream<Path> files = Files.walk(dataDir.resolve("outbox"))) {
            return files.filter(Files::isRegularFile).toList();
        }
    }

    /** The request with its id, which holds the client token, made particular to one input. */
    static String ownIds(String body, String input) {
        return body.replace("\"id\": \"" + RunningModule.CLIENT_TOKEN + "\"",
                "\"id\": \"" + RunningModule.CLIENT_TOKEN + "-" + input + "\"");
    }
}
