package io.zapi.sendcall;

import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.github.tomakehurst.wiremock.verification.LoggedRequest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.okJson;
import static org.assertj.core.api.Assertions.assertThat;

/** Retries: only what is safe and transient, with backoff, honouring Retry-After, up to zapi.retry.max-attempts. */
class RetryTest {

    private static final Map<String, String> FAST_RETRIES = Map.of("zapi.retry.max-attempts", "3",
            "zapi.retry.initial-delay-ms", "50", "zapi.retry.max-delay-ms", "3000",
            "zapi.http.response-timeout-ms", "1000");

    @RegisterExtension
    static final ModuleUnderTest app = new ModuleUnderTest(FAST_RETRIES);

    @Test
    void aServiceUnavailableIsRetriedUntilItSucceeds() {
        app.zapi().answerInTurn("5511900000001", aResponse().withStatus(503), aResponse().withStatus(503),
                okJson("{\"zaapId\":\"Z\",\"messageId\":\"M\",\"id\":\"M\"}"));

        app.module().drop("recovers.json", "{\"phone\": \"5511900000001\"}");

        JsonNode record = app.module().awaitRecord("recovers.json");
        assertThat(record.path("outcome").asText()).isEqualTo("success");
        assertThat(record.path("attempts").asInt()).isEqualTo(3);
        assertThat(record.path("response").path("zaapId").asText()).isEqualTo("Z");
        assertThat(app.zapi().requestsFor("5511900000001")).hasSize(3)
                .allSatisfy(r -> assertThat(r.getBodyAsString()).isEqualTo("{\"phone\":\"5511900000001\",\"callDuration\":5}"));
    }

    @Test
    void tooManyRequestsWaitsAsLongAsRetryAfterSays() {
        app.zapi().answerInTurn("5511900000002", aResponse().withStatus(429).withHeader("Retry-After", "2"),
                okJson("{\"zaapId\":\"Z\",\"messageId\":\"M\",\"id\":\"M\"}"));

        app.module().drop("busy.json", "{\"phone\": \"5511900000002\"}");

        JsonNode record = app.module().awaitRecord("busy.json");
        assertThat(record.path("outcome").asText()).isEqualTo("success");
        assertThat(record.path("attempts").asInt()).isEqualTo(2);
        List<LoggedRequest> calls = app.zapi().requestsFor("5511900000002");
        assertThat(calls).hasSize(2);
        Duration gap = Duration.between(calls.get(0).getLoggedDate().toInstant(), calls.get(1).getLoggedDate().toInstant());
        assertThat(gap).isGreaterThanOrEqualTo(Duration.ofMillis(1900));
    }

    /**
     * A negative Retry-After is not one: the normal back-off applies (1.5 s ±20 % in this module), never no wait at
     * all.
     */
    @Test
    void aNegativeRetryAfterWaitsTheNormalBackOff(@TempDir Path otherDataDir) {
        try (ZapiStub zapi = new ZapiStub();
             RunningModule slowBackOff = RunningModule.start(zapi.baseUrl(), otherDataDir,
                     Map.of("zapi.retry.initial-delay-ms", "1500"))) {
            zapi.answerInTurn("5511900000015", aResponse().withStatus(429).withHeader("Retry-After", "-1"),
                    okJson("{\"zaapId\":\"Z\",\"messageId\":\"M\",\"id\":\"M\"}"));

            slowBackOff.drop("negative.json", "{\"phone\": \"5511900000015\"}");

            JsonNode record = slowBackOff.awaitRecord("negative.json");
            assertThat(record.path("outcome").asText()).isEqualTo("success");
            List<LoggedRequest> calls = zapi.requestsFor("5511900000015");
            assertThat(calls).hasSize(2);
            Duration gap = Duration.between(calls.get(0).getLoggedDate().toInstant(),
                    calls.get(1).getLoggedDate().toInstant());
            assertThat(gap).isGreaterThanOrEqualTo(Duration.ofMillis(1150));
        }
    }

    /** A Retry-After too big for a long, or whose milliseconds overflow one, waits zapi.retry.max-delay-ms (3 s). */
    @ParameterizedTest(name = "Retry-After: {0} is capped at max-delay-ms")
    @ValueSource(strings = {"99999999999999999999", "9223372036854775807"})
    void aHugeRetryAfterIsCappedAtTheMaximumDelay(String retryAfter) {
        String phone = "55119000" + retryAfter.substring(retryAfter.length() - 5);
        app.zapi().answerInTurn(phone, aResponse().withStatus(503).withHeader("Retry-After", retryAfter),
                okJson("{\"zaapId\":\"Z\",\"messageId\":\"M\",\"id\":\"M\"}"));

        app.module().drop("huge-" + retryAfter + ".json", "{\"phone\": \"" + phone + "\"}");

        JsonNode record = app.module().awaitRecord("huge-" + retryAfter + ".json");
        assertThat(record.path("outcome").asText()).isEqualTo("success");
        List<LoggedRequest> calls = app.zapi().requestsFor(phone);
        assertThat(calls).hasSize(2);
        Duration gap = Duration.between(calls.get(0).getLoggedDate().toInstant(), calls.get(1).getLoggedDate().toInstant());
        assertThat(gap).isBetween(Duration.ofMillis(2900), Duration.ofSeconds(10));
    }

    @ParameterizedTest(name = "HTTP {0} is retried up to max-attempts, then failed")
    @ValueSource(ints = {429, 502, 503, 504})
    void exhaustedRetriesFailWithTheLastStatusAndTheAttempts(int status) {
        String phone = "55119000" + status + "0";
        app.zapi().answer(phone, aResponse().withStatus(status));
        Instant start = Instant.now();

        app.module().drop("exhausted-" + status + ".json", "{\"phone\": \"" + phone + "\"}");

        JsonNode record = app.module().awaitRecord("exhausted-" + status + ".json");
        assertThat(record.path("outcome").asText()).isEqualTo("failed");
        assertThat(record.path("status").asInt()).isEqualTo(status);
        assertThat(record.path("attempts").asInt()).isEqualTo(3);
        assertThat(record.path("error").asText()).isEqualTo("Z-API answered HTTP " + status + "; gave up after 3 attempts");
        assertThat(app.zapi().requestsFor(phone)).hasSize(3);
        // two waits of about 50 ms and 100 ms (exponential, with jitter)
        assertThat(Duration.between(start, Instant.now())).isGreaterThanOrEqualTo(Duration.ofMillis(100));
    }

    @ParameterizedTest(name = "HTTP {0} is not retried")
    @ValueSource(ints = {400, 401, 404, 405, 415, 500})
    void whatMayHaveBeenPlacedOrWillNotChangeIsNotRetried(int status) {
        String phone = "55119100" + status + "0";
        app.zapi().answer(phone, aResponse().withStatus(status));

        app.module().drop("once-" + status + ".json", "{\"phone\": \"" + phone + "\"}");

        JsonNode record = app.module().awaitRecord("once-" + status + ".json");
        assertThat(record.path("attempts").asInt()).isEqualTo(1);
        assertThat(record.path("status").asInt()).isEqualTo(status);
        assertThat(app.zapi().requestsFor(phone)).hasSize(1);
    }

    @Test
    void aResponseTimeoutIsNotRetriedBecauseTheCallMayHaveBeenPlaced() {
        app.zapi().answer("5511900000003", okJson("{}").withFixedDelay(3000));

        app.module().drop("slow.json", "{\"phone\": \"5511900000003\"}");

        JsonNode record = app.module().awaitRecord("slow.json");
        assertThat(record.path("outcome").asText()).isEqualTo("failed");
        assertThat(record.path("attempts").asInt()).isEqualTo(1);
        assertThat(record.path("error").asText()).containsIgnoringCase("timed out");
        assertThat(app.zapi().requestsFor("5511900000003")).hasSize(1);
    }

    @Test
    void aRefusedConnectionIsRetriedThenFailed(@TempDir Path otherDataDir) throws Exception {
        int port;
        try (ServerSocket socket = new ServerSocket(0)) {
            port = socket.getLocalPort();
        }
        try (RunningModule unreachable = RunningModule.start("http://127.0.0.1:" + port, otherDataDir, FAST_RETRIES)) {
            unreachable.drop("refused.json", "{\"phone\": \"5511900000004\"}");

            JsonNode record = unreachable.awaitRecord("refused.json");
            assertThat(record.path("outcome").asText()).isEqualTo("failed");
            assertThat(record.path("attempts").asInt()).isEqualTo(3);
            assertThat(record.path("status").isNull()).isTrue();
            assertThat(record.path("error").asText()).contains("Connection refused").endsWith("gave up after 3 attempts");
        }
    }
}
