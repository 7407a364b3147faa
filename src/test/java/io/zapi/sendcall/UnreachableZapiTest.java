package io.zapi.sendcall;

import java.net.ServerSocket;
import java.nio.file.Path;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.assertj.core.api.Assertions.assertThat;

/** Z-API cannot be reached: the request fails with the reason, and the module keeps serving. */
class UnreachableZapiTest {

    @TempDir
    Path dataDir;

    @Test
    void connectionRefusedIsAFailedRecordAndTheModuleKeepsRunning() throws Exception {
        int port;
        try (ServerSocket socket = new ServerSocket(0)) {
            port = socket.getLocalPort();
        }
        try (RunningModule module = RunningModule.start("http://127.0.0.1:" + port, dataDir)) {
            module.drop("first.json", "{\"phone\": \"5511999999999\", \"id\": \"a-1\"}");
            module.drop("second.json", "{\"phone\": \"5511999999998\"}");

            JsonNode record = module.awaitRecord("first.json");
            assertThat(record.path("outcome").asText()).isEqualTo("failed");
            assertThat(record.path("status").isNull()).isTrue();
            assertThat(record.path("error").asText()).contains("Connection refused")
                    .endsWith("gave up after 4 attempts");
            assertThat(record.path("request").path("phone").asText()).isEqualTo("5511999999999");
            assertThat(record.path("id").asText()).isEqualTo("a-1");
            // a refused connection placed no call: it is retried, zapi.retry.max-attempts (4) in all
            assertThat(record.path("attempts").asInt()).isEqualTo(4);
            assertThat(module.awaitRecord("second.json").path("outcome").asText()).isEqualTo("failed");
            assertThat(module.context().getStatus().isStarted()).isTrue();
        }
    }
}
