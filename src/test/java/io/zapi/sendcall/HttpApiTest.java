package io.zapi.sendcall;

import java.io.ByteArrayInputStream;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpRequest.BodyPublisher;
import java.net.http.HttpRequest.BodyPublishers;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodyHandlers;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.slf4j.LoggerFactory;

import io.zapi.sendcall.pipeline.Json;
import io.zapi.sendcall.runtime.ModuleConfiguration;
import io.zapi.sendcall.runtime.SecretMasking;
import io.zapi.sendcall.runtime.StartupException;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * POST /send-call end to end: real HTTP requests to the module's embedded server on loopback, WireMock standing in
 * for Z-API, records on disk. A second module runs with an API key.
 */
class HttpApiTest {

    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private static final String API_KEY = "http-api-key-3c9e7b10f4a2d685";
    private static final long MAX_BODY_BYTES = 65536;

    @TempDir
    static Path dataDir;
    @TempDir
    static Path keyedDataDir;
    static ZapiStub zapi;
    static RunningModule module;
    static RunningModule keyedModule;
    static final ListAppender<ILoggingEvent> STARTUP_LOG = new ListAppender<>();

    @BeforeAll
    static void start() {
        Logger configuration = (Logger) LoggerFactory.getLogger(ModuleConfiguration.class);
        STARTUP_LOG.start();
        configuration.addAppender(STARTUP_LOG);
        zapi = new ZapiStub();
        module = RunningModule.start(zapi.baseUrl(), dataDir);
        List<String> openModuleWarnings = warnings();
        STARTUP_LOG.list.clear();
        keyedModule = RunningModule.start(zapi.baseUrl(), keyedDataDir, Map.of("zapi.http.api-key", API_KEY,
                "zapi.http.max-body-bytes", "1024"));
        configuration.detachAppender(STARTUP_LOG);
        assertThat(openModuleWarnings).anySatisfy(w -> assertThat(w)
                .contains("POST /send-call is open").contains("zapi.http.api-key (env ZAPI_HTTP_API_KEY)"));
        assertThat(warnings()).noneMatch(w -> w.contains("is open"));
    }

    @AfterAll
    static void stop() {
        keyedModule.close();
        module.close();
        zapi.close();
    }

    @Test
    void aValidRequestIsPlacedAndAnsweredWithItsSuccessRecord() throws Exception {
        HttpResponse<String> response = post(module, "{\"phone\": \"+55 (11) 99999-9999\", \"callDuration\": 7}");

        JsonNode record = assertRecord(module, response, 200, "success");
        assertThat(record.path("response").path("zaapId").asText()).isEqualTo(ZapiStub.ZAAP_ID);
        assertThat(record.path("response").path("messageId").asText()).isEqualTo(ZapiStub.MESSAGE_ID);
        assertThat(record.path("status").asInt()).isEqualTo(200);
        assertThat(record.path("attempts").asInt()).isEqualTo(1);
        assertThat(zapi.requestsFor("5511999999999")).singleElement().satisfies(call -> {
            assertThat(call.getMethod().value()).isEqualTo("POST");
            assertThat(call.getUrl()).isEqualTo(RunningModule.SEND_CALL_PATH);
            assertThat(call.getBodyAsString()).isEqualTo("{\"phone\":\"5511999999999\",\"callDuration\":7}");
        });
    }

    @Test
    void theSourceIsHttpNamedByAGeneratedRequestId() throws Exception {
        HttpResponse<String> first = post(module, "{\"phone\": \"5521900000001\", \"id\": \"body-id\"}");
        HttpResponse<String> second = post(module, "{\"phone\": \"5521900000002\"}");

        JsonNode source = Json.MAPPER.readTree(first.body()).path("source");
        assertThat(source.path("channel").asText()).isEqualTo("http");
        assertThat(source.path("name").asText()).isNotBlank()
                .isNotEqualTo(Json.MAPPER.readTree(second.body()).path("source").path("name").asText());
        assertThat(source.path("index").isNull()).isTrue();
        assertThat(Json.MAPPER.readTree(first.body()).path("id").asText()).isEqualTo("body-id");
    }

    @Test
    void anIdempotencyKeyBecomesTheIdAndTheSourceName() throws Exception {
        HttpResponse<String> response = send(request(module, "/send-call")
                .header("Content-Type", "application/json").header("Idempotency-Key", "order-77")
                .POST(BodyPublishers.ofString("{\"phone\": \"5521900000077\", \"id\": \"body-id\"}")));

        assertThat(response.statusCode()).isEqualTo(200);
        JsonNode record = Json.MAPPER.readTree(response.body());
        assertThat(record.path("id").asText()).isEqualTo("order-77");
        assertThat(record.path("source").path("name").asText()).isEqualTo("order-77");
        assertThat(module.awaitRecord("order-77").path("id").asText()).isEqualTo("order-77");
    }

    @Test
    void anInvalidRequestIsRejectedWith400AndNeverSent() throws Exception {
        HttpResponse<String> response = post(module, "{\"phone\": \"5521900000400\", \"callDuration\": 16}");

        JsonNode record = assertRecord(module, response, 400, "rejected");
        assertThat(record.path("error").asText()).startsWith("callDuration must be from 1 to 15");
        assertThat(record.path("attempts").asInt()).isZero();
        assertThat(zapi.requestsFor("5521900000400")).isEmpty();
    }

    @Test
    void bodiesThatAreNotJsonObjectsAreRejectedWith400() throws Exception {
        assertThat(post(module, "").statusCode()).isEqualTo(400);
        assertThat(post(module, "{\"phone\": ").statusCode()).isEqualTo(400);
        HttpResponse<String> array = post(module, "[{\"phone\": \"5521900000401\"}]");
        assertThat(array.statusCode()).isEqualTo(400);
        assertThat(Json.MAPPER.readTree(array.body()).path("error").asText())
                .isEqualTo("request must be a JSON object, got an array");
        assertThat(zapi.requestsFor("5521900000401")).isEmpty();
    }

    @ParameterizedTest(name = "Z-API {0} is a 502 with outcome {2}")
    @CsvSource({
        "405, 5531900000405, error-405",
        "415, 5531900000415, error-415",
        "500, 5531900000500, failed",
    })
    void aZapiErrorIsA502WithTheOutcomeInTheRecord(int zapiStatus, String phone, String outcome) throws Exception {
        zapi.answer(phone, aResponse().withStatus(zapiStatus));

        HttpResponse<String> response = post(module, "{\"phone\": \"" + phone + "\"}");

        JsonNode record = assertRecord(module, response, 502, outcome);
        assertThat(record.path("status").asInt()).isEqualTo(zapiStatus);
        assertThat(zapi.requestsFor(phone)).hasSize(1);
    }

    @Test
    void anUnreachableZapiIsA502Failed(@TempDir Path unreachableDataDir) throws Exception {
        int closedPort;
        try (ServerSocket socket = new ServerSocket(0)) {
            closedPort = socket.getLocalPort();
        }
        try (RunningModule unreachable = RunningModule.start("http://127.0.0.1:" + closedPort, unreachableDataDir)) {
            HttpResponse<String> response = post(unreachable, "{\"phone\": \"5531900000000\"}");

            JsonNode record = assertRecord(unreachable, response, 502, "failed");
            assertThat(record.path("status").isNull()).isTrue();
            assertThat(record.path("error").asText()).contains("Connection refused");
        }
    }

    @ParameterizedTest(name = "Content-Type {0} is a 415")
    @ValueSource(strings = {"text/plain", "application/x-www-form-urlencoded", "application/xml"})
    void aBodyThatIsNotJsonIsA415(String contentType) throws Exception {
        HttpResponse<String> response = send(request(module, "/send-call").header("Content-Type", contentType)
                .POST(BodyPublishers.ofString("{\"phone\": \"5541900000415\"}")));

        assertJsonError(response, 415, "UNSUPPORTED_MEDIA_TYPE");
        assertThat(zapi.requestsFor("5541900000415")).isEmpty();
    }

    @Test
    void aJsonContentTypeWithACharsetIsTaken() throws Exception {
        HttpResponse<String> response = send(request(module, "/send-call")
                .header("Content-Type", "application/json; charset=UTF-8")
                .POST(BodyPublishers.ofString("{\"phone\": \"5541900000200\"}")));

        assertThat(response.statusCode()).isEqualTo(200);
    }

    @ParameterizedTest(name = "Content-Type {0} is JSON: media types are case-insensitive")
    @CsvSource(delimiter = '|', value = {
        "APPLICATION/JSON                | 5541900000201",
        "application/JSON; charset=UTF-8 | 5541900000202",
        "Application/Json;charset=utf-8  | 5541900000203",
    })
    void aJsonContentTypeInAnyCaseIsTaken(String contentType, String phone) throws Exception {
        HttpResponse<String> response = send(request(module, "/send-call").header("Content-Type", contentType)
                .POST(BodyPublishers.ofString("{\"phone\": \"" + phone + "\"}")));

        assertRecord(module, response, 200, "success");
        assertThat(zapi.requestsFor(phone)).hasSize(1);
    }

    @Test
    void anAcceptInAnyCaseIsServed() throws Exception {
        HttpResponse<String> response = send(request(module, "/send-call").header("Content-Type", "application/json")
                .header("Accept", "APPLICATION/JSON")
                .POST(BodyPublishers.ofString("{\"phone\": \"5541900000204\"}")));

        assertRecord(module, response, 200, "success");
    }

    @Test
    void aRequestLineTooLongIsA414WithAJsonBody() throws Exception {
        RawHttp.Answer answer;
        try (RawHttp connection = new RawHttp(module, Duration.ofSeconds(20))) {
            connection.write(RawHttp.request("GET", "/send-call?" + "a".repeat(5000), Map.of(), null));
            answer = connection.readAnswer();
        }

        assertRawJsonError(answer, 414, "URI_TOO_LONG");
    }

    @Test
    void headersTooLargeAreA431WithAJsonBody() throws Exception {
        RawHttp.Answer answer;
        try (RawHttp connection = new RawHttp(module, Duration.ofSeconds(20))) {
            connection.write(RawHttp.request("POST", "/send-call", Map.of("Content-Type", "application/json",
                    "X-Padding", "a".repeat(9000)), "{\"phone\": \"5541900000431\"}"));
            answer = connection.readAnswer();
        }

        assertRawJsonError(answer, 431, "REQUEST_HEADER_FIELDS_TOO_LARGE");
        assertThat(zapi.requestsFor("5541900000431")).isEmpty();
    }

    @Test
    void anUnreadableRequestHeadIsA400WithAJsonBody() throws Exception {
        RawHttp.Answer answer;
        try (RawHttp connection = new RawHttp(module, Duration.ofSeconds(20))) {
            connection.write("NOT HTTP AT ALL\r\n\r\n");
            answer = connection.readAnswer();
        }

        assertRawJsonError(answer, 400, "BAD_REQUEST");
    }

    @Test
    void aBodyOverTheLimitIsA413AndOneAtTheLimitIsTaken() throws Exception {
        HttpResponse<String> over = post(module, padded("5541900000413", MAX_BODY_BYTES + 1));
        HttpResponse<String> streamedOver = send(request(module, "/send-call")
                .header("Content-Type", "application/json")
                .POST(chunked(padded("5541900000413", 4 * MAX_BODY_BYTES))));
        HttpResponse<String> atTheLimit = post(module, padded("5541900065536", MAX_BODY_BYTES));

        assertJsonError(over, 413, "PAYLOAD_TOO_LARGE");
        assertThat(Json.MAPPER.readTree(over.body()).path("message").asText()).contains("65536 bytes");
        assertJsonError(streamedOver, 413, "PAYLOAD_TOO_LARGE");
        assertThat(zapi.requestsFor("5541900000413")).isEmpty();
        assertThat(atTheLimit.statusCode()).isEqualTo(200);
        assertThat(zapi.requestsFor("5541900065536")).hasSize(1);
    }

    @Test
    void theBodyLimitIsASetting() throws Exception {
        Map<String, String> key = Map.of("X-API-Key", API_KEY);
        HttpResponse<String> over = send(withHeaders(keyedModule, key, padded("5541900001025", 1025)));
        HttpResponse<String> atTheLimit = send(withHeaders(keyedModule, key, padded("5541900001024", 1024)));

        assertJsonError(over, 413, "PAYLOAD_TOO_LARGE");
        assertThat(Json.MAPPER.readTree(over.body()).path("message").asText()).contains("1024 bytes");
        assertThat(zapi.requestsFor("5541900001025")).isEmpty();
        assertThat(atTheLimit.statusCode()).isEqualTo(200);
    }

    @ParameterizedTest(name = "{0} /send-call is a 405")
    @ValueSource(strings = {"GET", "PUT", "DELETE", "PATCH", "OPTIONS"})
    void otherMethodsAreA405ThatNamesPost(String method) throws Exception {
        HttpResponse<String> response = send(request(module, "/send-call").header("Content-Type", "application/json")
                .method(method, BodyPublishers.ofString("{\"phone\": \"5541900000405\"}")));

        assertJsonError(response, 405, "METHOD_NOT_ALLOWED");
        assertThat(response.headers().allValues("Allow")).containsExactly("POST");
        assertThat(zapi.requestsFor("5541900000405")).isEmpty();
    }

    @Test
    void anUnknownPathIsAJson404() throws Exception {
        HttpResponse<String> response = send(request(module, "/send-calls").header("Content-Type", "application/json")
                .POST(BodyPublishers.ofString("{\"phone\": \"5541900000404\"}")));

        assertJsonError(response, 404, "NOT_FOUND");
        assertThat(zapi.requestsFor("5541900000404")).isEmpty();
    }

    @Test
    void withAnApiKeyAMissingOrWrongKeyIsA401AndNothingIsSent() throws Exception {
        HttpResponse<String> missing = post(keyedModule, "{\"phone\": \"5551900000401\"}");
        String lastCharacterWrong = API_KEY.substring(0, API_KEY.length() - 1) + "x";
        HttpResponse<String> wrong = send(withHeaders(keyedModule, Map.of("X-API-Key", lastCharacterWrong),
                "{\"phone\": \"5551900000401\"}"));
        HttpResponse<String> longer = send(withHeaders(keyedModule, Map.of("X-API-Key", API_KEY + "0"),
                "{\"phone\": \"5551900000401\"}"));

        assertJsonError(missing, 401, "UNAUTHORIZED");
        assertJsonError(wrong, 401, "UNAUTHORIZED");
        assertJsonError(longer, 401, "UNAUTHORIZED");
        assertThat(zapi.requestsFor("5551900000401")).isEmpty();
        assertThat(keyedModule.allRecords()).noneMatch(r -> r.path("request").path("phone").asText()
                .equals("5551900000401"));
    }

    @Test
    void withAnApiKeyTheRightKeyIsServed() throws Exception {
        HttpResponse<String> response = send(withHeaders(keyedModule, Map.of("X-API-Key", API_KEY),
                "{\"phone\": \"5551900000200\"}"));

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(Json.MAPPER.readTree(response.body()).path("outcome").asText()).isEqualTo("success");
        assertThat(zapi.requestsFor("5551900000200")).hasSize(1);
        assertThat(response.body()).doesNotContain(API_KEY);
    }

    @Test
    void theApiKeyIsASecretTheLogsMask() {
        assertThat(SecretMasking.mask("X-API-Key=" + API_KEY)).isEqualTo("X-API-Key=" + SecretMasking.MASK);
    }

    @Test
    void aShortApiKeyOrNoServerIsRefusedAtStartUp(@TempDir Path refusedDataDir) {
        assertThatThrownBy(() -> RunningModule.start(zapi.baseUrl(), refusedDataDir,
                Map.of("zapi.http.api-key", "short-key")))
                .rootCause().isInstanceOf(StartupException.class)
                .hasMessage("zapi.http.api-key (env ZAPI_HTTP_API_KEY) must be at least 16 characters long, e.g. the "
                            + "output of: openssl rand -hex 32");
        assertThatThrownBy(() -> RunningModule.start(zapi.baseUrl(), refusedDataDir,
                Map.of("camel.server.enabled", "false")))
                .rootCause().isInstanceOf(StartupException.class)
                .hasMessageStartingWith("camel.server.enabled must be true")
                .hasMessageContaining("env CAMEL_SERVER_ENABLED");
    }

    @Test
    void noInboundHeaderIsEchoedOnAnyAnswer() throws Exception {
        Map<String, String> inbound = Map.of(
                "X-API-Key", API_KEY,
                "Authorization", "Bearer inbound-bearer-token",
                "Idempotency-Key", "echo-check-1",
                "Cookie", "session=inbound-cookie",
                "X-Request-Marker", "inbound-marker");
        List<HttpResponse<String>> answers = List.of(
                send(withHeaders(module, inbound, "{\"phone\": \"5561900000200\"}")),
                send(withHeaders(module, inbound, "{\"phone\": \"55\"}")),
                send(withHeaders(keyedModule, Map.of("X-API-Key", "wrong-key-value-0000", "X-Request-Marker",
                        "inbound-marker"), "{\"phone\": \"5561900000401\"}")),
                send(request(module, "/send-call").header("X-Request-Marker", "inbound-marker")
                        .header("X-API-Key", API_KEY).GET()));

        assertThat(answers).extracting(HttpResponse::statusCode).containsExactly(200, 400, 401, 405);
        for (HttpResponse<String> answer : answers) {
            assertThat(answer.headers().map().keySet()).map(String::toLowerCase)
                    .doesNotContain("x-api-key", "authorization", "idempotency-key", "cookie", "set-cookie",
                            "x-request-marker");
            assertThat(allValues(answer.headers())).noneMatch(v -> v.contains(API_KEY)
                    || v.contains("inbound-bearer-token") || v.contains("echo-check-1") || v.contains("inbound-"));
            assertThat(answer.body()).doesNotContain(API_KEY).doesNotContain("inbound-bearer-token");
        }
    }

    /** One record type is both what is written and what the document describes: the same fields, version 1. */
    @Test
    void theRecordAnsweredHasExactlyTheFieldsTheDocumentDescribes() throws Exception {
        JsonNode schema = Json.MAPPER.readTree(send(request(module, "/openapi.json").GET()).body())
                .path("components").path("schemas").path("OutcomeRecord").path("properties");

        JsonNode record = Json.MAPPER.readTree(post(module, "{\"phone\": \"5511977770077\"}").body());

        assertThat(record.fieldNames()).toIterable().containsExactlyInAnyOrderElementsOf(() -> schema.fieldNames());
        assertThat(record.path("recordVersion").asInt()).isEqualTo(1);
    }

    @Test
    void theOpenApiDocumentDescribesTheEndpointAndItsSchemas() throws Exception {
        HttpResponse<String> response = send(request(module, "/openapi.json").GET());

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.headers().firstValue("Content-Type")).hasValue("application/json");
        JsonNode document = Json.MAPPER.readTree(response.body());
        assertThat(document.path("openapi").asText()).startsWith("3.");
        JsonNode post = document.path("paths").path("/send-call").path("post");
        assertThat(post.path("requestBody").path("content").path("application/json").path("schema")
                .path("$ref").asText()).isEqualTo("#/components/schemas/SendCallRequest");
        assertThat(post.path("responses").path("200").path("content").path("application/json").path("schema")
                .path("$ref").asText()).isEqualTo("#/components/schemas/OutcomeRecord");
        assertThat(post.path("responses").fieldNames()).toIterable()
                .contains("200", "400", "401", "405", "406", "409", "413", "415", "502");
        assertThat(post.path("parameters").findValuesAsText("name")).contains("Idempotency-Key");
        JsonNode schemas = document.path("components").path("schemas");
        assertThat(schemas.fieldNames()).toIterable().contains("SendCallRequest", "OutcomeRecord", "Source", "Error");
        assertThat(schemas.path("SendCallRequest").path("properties").fieldNames()).toIterable()
                .containsExactlyInAnyOrder("phone", "callDuration", "id", "callAudioUrl", "instance", "notBefore");
        assertThat(schemas.path("SendCallRequest").path("required")).containsExactly(Json.MAPPER.getNodeFactory()
                .textNode("phone"));
        assertThat(schemas.path("OutcomeRecord").path("properties").fieldNames()).toIterable()
                .containsExactlyInAnyOrder("recordVersion", "outcome", "correlationId", "id", "source", "request", "instance",
                        "status", "response", "error", "attempts", "duplicateOf", "timestamp", "node",
                        "precheck", "redial", "redialOf");
        assertThat(document.path("components").path("securitySchemes").path("api-key").path("name").asText())
                .isEqualTo("X-API-Key");
    }

    @ParameterizedTest(name = "Accept {0} on the OpenAPI document is a 406: it is JSON only")
    @ValueSource(strings = {"text/yaml", "application/yaml", "TEXT/YAML", "text/html"})
    void theOpenApiDocumentIsJsonOnly(String accept) throws Exception {
        HttpResponse<String> response = send(request(module, "/openapi.json").header("Accept", accept).GET());

        assertJsonError(response, 406, "NOT_ACCEPTABLE");
        assertThat(Json.MAPPER.readTree(response.body()).path("message").asText()).contains("application/json");
    }

    @ParameterizedTest(name = "Accept {0} on the OpenAPI document gets JSON")
    @ValueSource(strings = {"application/json", "APPLICATION/JSON", "*/*", "application/*",
        "text/yaml, application/json;q=0.5"})
    void theOpenApiDocumentIsServedToAnAcceptThatTakesJson(String accept) throws Exception {
        HttpResponse<String> response = send(request(module, "/openapi.json").header("Accept", accept).GET());

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.headers().firstValue("Content-Type")).hasValue("application/json");
        assertThat(Json.MAPPER.readTree(response.body()).path("openapi").asText()).startsWith("3.");
    }

    /** An answer the server makes before any route, read off the wire: status, JSON {"error","message"} body. */
    private static void assertRawJsonError(RawHttp.Answer answer, int status, String error) throws Exception {
        assertThat(answer.status()).isEqualTo(status);
        assertThat(answer.header("Content-Type")).isEqualTo("application/json");
        JsonNode body = Json.MAPPER.readTree(answer.body());
        assertThat(body.path("error").asText()).isEqualTo(error);
        assertThat(body.path("message").asText()).isNotBlank();
    }

    /** The answer is the record, as JSON, and the same record is in the outcome's folder like every input's. */
    private static JsonNode assertRecord(RunningModule target, HttpResponse<String> response, int status,
                                         String outcome) throws Exception {
        assertThat(response.statusCode()).isEqualTo(status);
        assertThat(response.headers().firstValue("Content-Type")).hasValue("application/json");
        JsonNode record = Json.MAPPER.readTree(response.body());
        assertThat(record.path("outcome").asText()).isEqualTo(outcome);
        Path written = target.outbox(outcome).resolve(record.path("correlationId").asText() + ".json");
        assertThat(Files.readString(written)).isEqualTo(response.body());
        return record;
    }

    /** An answer the HTTP input makes before the pipeline: its status, with a JSON {"error","message"} body. */
    static void assertJsonError(HttpResponse<String> response, int status, String error) throws Exception {
        assertThat(response.statusCode()).isEqualTo(status);
        assertThat(response.headers().firstValue("Content-Type")).hasValue("application/json");
        JsonNode body = Json.MAPPER.readTree(response.body());
        assertThat(body.path("error").asText()).isEqualTo(error);
        assertThat(body.path("message").asText()).isNotBlank();
    }

    private static HttpResponse<String> post(RunningModule target, String json) throws Exception {
        return send(request(target, "/send-call").header("Content-Type", "application/json")
                .POST(BodyPublishers.ofString(json)));
    }

    private static HttpRequest.Builder withHeaders(RunningModule target, Map<String, String> headers, String json) {
        HttpRequest.Builder builder = request(target, "/send-call").header("Content-Type", "application/json");
        headers.forEach(builder::header);
        return builder.POST(BodyPublishers.ofString(json));
    }

    /** A request to the module's embedded server, on loopback. */
    private static HttpRequest.Builder request(RunningModule target, String path) {
        String port = target.context().resolvePropertyPlaceholders("{{camel.server.port}}");
        return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).timeout(Duration.ofSeconds(30));
    }

    private static HttpResponse<String> send(HttpRequest.Builder request) throws Exception {
        return HTTP.send(request.build(), BodyHandlers.ofString(StandardCharsets.UTF_8));
    }

    /** A valid request for this phone, padded with spaces to exactly this many bytes. */
    private static String padded(String phone, long bytes) {
        String request = "{\"phone\": \"" + phone + "\"}";
        return request + " ".repeat((int) (bytes - request.length()));
    }

    /** Sent without a Content-Length, in chunks, as a client streaming a body of unknown size does. */
    private static BodyPublisher chunked(String body) {
        return BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(body.getBytes(StandardCharsets.UTF_8)));
    }

    private static List<String> allValues(HttpHeaders headers) {
        return headers.map().values().stream().flatMap(List::stream).toList();
    }

    private static List<String> warnings() {
        return STARTUP_LOG.list.stream().filter(e -> e.getLevel() == Level.WARN)
                .map(ILoggingEvent::getFormattedMessage).toList();
    }
}
