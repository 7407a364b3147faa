package io.zapi.sendcall;

import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import io.zapi.sendcall.pipeline.Json;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The HTTP client that calls Z-API, against servers that misbehave the way real ones and proxies do: an answer
 * drip-fed byte by byte, a keep-alive connection closed right after answering, a 200 that is not Z-API's.
 */
class ZapiClientTest {

    private static final String ZAAP = "{\"zaapId\":\"Z1\",\"messageId\":\"M1\",\"id\":\"M1\"}";

    @RegisterExtension
    static final ModuleUnderTest app = new ModuleUnderTest(Map.of("zapi.retry.max-attempts", "3",
            "zapi.retry.initial-delay-ms", "50"));

    /** 40 bytes of answer, one every 500 ms: each gap is far below the 2 s timeout, the whole answer is not. */
    @Test
    void aDripFedAnswerIsCutAtTheResponseTimeout(@TempDir Path dataDir) throws Exception {
        String answer = "HTTP/1.1 200 OK\r\nContent-Length: 19\r\n\r\n{\"zaapId\":\"DRIPPY\"}";
        assertThat(answer).hasSizeGreaterThanOrEqualTo(40);
        try (RawHttpServer dripping = new RawHttpServer((server, socket, request) -> {
                 server.dripFeed(socket, answer, 500);
                 return false;
             });
             RunningModule module = RunningModule.start(dripping.baseUrl(), dataDir,
                     Map.of("zapi.http.response-timeout-ms", "2000", "zapi.retry.initial-delay-ms", "50"))) {
            Instant dropped = Instant.now();
            module.drop("drip.json", "{\"phone\": \"5511900000012\"}");

            JsonNode record = await().atMost(Duration.ofSeconds(40))
                    .until(() -> module.recordsOf("drip.json"), r -> r.size() == 1).get(0);
            Duration took = Duration.between(dropped, Instant.parse(record.path("timestamp").asText()));
            assertThat(took).isLessThan(Duration.ofSeconds(8));
            assertThat(record.path("outcome").asText()).isEqualTo("failed");
            assertThat(record.path("attempts").asInt()).isEqualTo(1);
            assertThat(record.path("error").asText()).contains("timed out").contains("2000 ms")
                    .contains("zapi.http.response-timeout-ms").contains("not retried");
            assertThat(dripping.requests).hasSize(1);
        }
    }

    /**
     * The server answers 200 keep-alive and then closes the connection; the next call must not go out on the dead
     * connection (it would fail with "failed to respond" without reaching Z-API) but on a new one.
     */
    @Test
    void aKeepAliveConnectionClosedAfterTheAnswerIsNotReused(@TempDir Path dataDir) throws Exception {
        try (RawHttpServer closing = new RawHttpServer((server, socket, request) -> {
                 RawHttpServer.writeOk(socket, ZAAP);
                 return false;
             });
             RunningModule module = RunningModule.start(closing.baseUrl(), dataDir, Map.of())) {
            HttpResponse<String> first = module.post("{\"phone\": \"5511900000131\"}");
            assertThat(first.statusCode()).as(first.body()).isEqualTo(200);
            // the server has closed the connection it answered on: the module's pooled connection is now stale
            await().atMost(Duration.ofSeconds(10)).until(() -> closing.closedConnections.get() == 1);

            HttpResponse<String> second = module.post("{\"phone\": \"5511900000132\"}");

            assertThat(second.statusCode()).as(second.body()).isEqualTo(200);
            assertThat(Json.MAPPER.readTree(second.body()).path("outcome").asText()).isEqualTo("success");
            assertThat(closing.requests).hasSize(2);
        }
    }

    /** A POST that may have reached Z-API is never sent again by the HTTP client on its own. */
    @Test
    void aConnectionClosedWithoutAnAnswerIsNotSentAgain(@TempDir Path dataDir) throws Exception {
        try (RawHttpServer silent = new RawHttpServer((server, socket, request) -> false);
             RunningModule module = RunningModule.start(silent.baseUrl(), dataDir, Map.of())) {
            HttpResponse<String> answer = module.post("{\"phone\": \"5511900000133\"}");

            JsonNode record = Json.MAPPER.readTree(answer.body());
            assertThat(record.path("outcome").asText()).isEqualTo("failed");
            assertThat(record.path("attempts").asInt()).isEqualTo(1);
            assertThat(silent.requests).hasSize(1);
        }
    }

    @ParameterizedTest(name = "200 with {0}")
    @CsvSource(delimiter = '|', textBlock = """
            an HTML page       | text/html        | <html><body>Bad gateway, try later</body></html> | the body is not JSON
            an empty body      | application/json |                                                  | the body is empty
            an error object    | application/json | {"error":"instance not connected"}               | "error":"instance not connected"
            an empty zaapId    | application/json | {"zaapId":"","messageId":"M"}                    | "zaapId":""
            a null zaapId      | application/json | {"zaapId":null}                                  | "zaapId":null
            a JSON array       | application/json | [{"zaapId":"Z"}]                                 | [{"zaapId":"Z"}]
            """)
    void aTwoHundredWithoutAZaapIdIsFailed(String what, String contentType, String body, String reason) {
        String phone = "551190001" + String.format("%04d", Math.abs(what.hashCode()) % 10_000);
        app.zapi().answer(phone, aResponse().withStatus(200).withHeader("Content-Type", contentType)
                .withBody(body == null ? "" : body));

        String file = "no-zaap-" + what.replace(' ', '-') + ".json";
        app.module().drop(file, "{\"phone\": \"" + phone + "\"}");

        JsonNode record = app.module().awaitRecord(file);
        assertThat(record.path("outcome").asText()).isEqualTo("failed");
        assertThat(record.path("status").asInt()).isEqualTo(200);
        assertThat(record.path("attempts").asInt()).isEqualTo(1);
        assertThat(record.path("error").asText()).startsWith("Z-API answered 200 without a zaapId: ").contains(reason);
        if (body != null && !body.isBlank()) {
            assertThat(record.path("response").isNull()).isFalse();
        }
        assertThat(app.zapi().requestsFor(phone)).hasSize(1);
    }

    @Test
    void aTwoHundredWithAZaapIdIsASuccess() {
        app.zapi().answer("5511900014000", aResponse().withStatus(200).withHeader("Content-Type", "application/json")
                .withBody(ZAAP));

        app.module().drop("zaap.json", "{\"phone\": \"5511900014000\"}");

        JsonNode record = app.module().awaitRecord("zaap.json");
        assertThat(record.path("outcome").asText()).isEqualTo("success");
        assertThat(record.path("error").isNull()).isTrue();
        assertThat(record.path("response").path("zaapId").asText()).isEqualTo("Z1");
    }
}
