package io.zapi.sendcall;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import io.zapi.sendcall.runtime.StartupException;

import static com.github.tomakehurst.wiremock.client.WireMock.okJson;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * zapi.http.idle-timeout-ms over raw sockets: a connection that sends nothing, half a request or half a body, or
 * stays open unused after its answer, is closed by the server; one whose request waits for a slow Z-API is not.
 * The module runs with a 1 s timeout; every wait is bounded well above it.
 */
class HttpIdleConnectionsTest {

    private static final Duration BOUNDED_WAIT = Duration.ofSeconds(20);

    @RegisterExtension
    static final ModuleUnderTest app = new ModuleUnderTest(Map.of("zapi.http.idle-timeout-ms", "1000"));

    @Test
    void aConnectionThatSendsNothingIsClosed() throws Exception {
        try (RawHttp connection = new RawHttp(app.module(), BOUNDED_WAIT)) {
            assertThat(connection.closedByServer()).isTrue();
        }
    }

    @Test
    void aConnectionThatSendsHalfARequestHeadIsClosed() throws Exception {
        try (RawHttp connection = new RawHttp(app.module(), BOUNDED_WAIT)) {
            connection.write("POST /send-call HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n");
            assertThat(connection.closedByServer()).isTrue();
        }
    }

    @Test
    void aBodyThatStopsComingIsClosedAndNothingIsPlaced() throws Exception {
        try (RawHttp connection = new RawHttp(app.module(), BOUNDED_WAIT)) {
            connection.write("POST /send-call HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                             + "Content-Length: 200\r\n\r\n{\"phone\": \"5591900000001\"}");
            assertThat(connection.closedByServer()).isTrue();
        }
        assertThat(app.zapi().requestsFor("5591900000001")).isEmpty();
    }

    @Test
    void aKeptAliveConnectionIsClosedWhenIdleAfterItsAnswer() throws Exception {
        try (RawHttp connection = new RawHttp(app.module(), BOUNDED_WAIT)) {
            connection.write(post("5591900000002"));
            assertThat(connection.readAnswer().status()).isEqualTo(200);
            assertThat(connection.closedByServer()).isTrue();
        }
    }

    @Test
    void aRequestWaitingLongerThanTheTimeoutForZapiGetsItsAnswer() throws Exception {
        app.zapi().answer("5591900000003", okJson("{\"zaapId\":\"z\",\"messageId\":\"m\",\"id\":\"m\"}")
                .withFixedDelay(3500));

        try (RawHttp connection = new RawHttp(app.module(), BOUNDED_WAIT)) {
            connection.write(post("5591900000003"));
            RawHttp.Answer answer = connection.readAnswer();

            assertThat(answer.status()).isEqualTo(200);
            assertThat(answer.body()).contains("\"outcome\":\"success\"");
        }
        assertThat(app.zapi().requestsFor("5591900000003")).hasSize(1);
    }

    @ParameterizedTest(name = "zapi.http.idle-timeout-ms={0} is refused at start-up")
    @ValueSource(strings = {"0", "-5", "1m", "3000000000"})
    void aTimeoutThatIsNotAPositiveWholeNumberIsRefusedAtStartUp(String timeout, @TempDir Path refusedDataDir) {
        assertThatThrownBy(() -> RunningModule.start(app.zapi().baseUrl(), refusedDataDir,
                Map.of("zapi.http.idle-timeout-ms", timeout)))
                .rootCause().isInstanceOf(StartupException.class)
                .hasMessage("zapi.http.idle-timeout-ms (env ZAPI_HTTP_IDLE_TIMEOUT_MS) must be a whole number from 1 "
                            + "to 3600000, was \"" + timeout + "\".");
    }

    private static String post(String phone) {
        return RawHttp.request("POST", "/send-call", Map.of("Content-Type", "application/json"),
                "{\"phone\": \"" + phone + "\"}");
    }
}
