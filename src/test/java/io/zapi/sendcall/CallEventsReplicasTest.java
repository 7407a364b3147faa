package io.zapi.sendcall;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Call events on replicas sharing a PostgreSQL ledger: an event posted to one replica is correlated with a success of
 * another, and the same event posted to both replicas is recorded once.
 */
@Tag("replicas")
class CallEventsReplicasTest {

    @TempDir
    Path folder;

    @RegisterExtension
    static final PostgresDatabases databases = new PostgresDatabases();

    @Test
    void anEventIsCorrelatedAndRecordedOnceWhicheverReplicaGetsIt() throws Exception {
        String url = databases.create();
        try (ZapiStub zapi = new ZapiStub();
             RunningModule a = RunningModule.start(zapi.baseUrl(), folder.resolve("a"), replica(url, "node-a"));
             RunningModule b = RunningModule.start(zapi.baseUrl(), folder.resolve("b"), replica(url, "node-b"))) {
            String id = "replicas-" + UUID.randomUUID();
            assertThat(a.post("{\"phone\":\"5511970000200\",\"id\":\"" + id + "\"}").statusCode()).isEqualTo(200);
            String placed = a.awaitRecordWithId(id).path("correlationId").asText();
            String callId = UUID.randomUUID().toString().replace("-", "");
            String event = CallEventsTest.event("5511970000200", "CALL_VOICE", callId, System.currentTimeMillis());

            assertThat(CallEventsTest.postEvent(b, CallEventsTest.TOKEN, event).statusCode()).isEqualTo(200);
            assertThat(CallEventsTest.postEvent(a, CallEventsTest.TOKEN, event).statusCode()).isEqualTo(200);

            Path onB = folder.resolve("b/outbox/events").resolve(callId + "-CALL_VOICE.json");
            await().atMost(Duration.ofSeconds(30)).until(() -> Files.exists(onB));
            JsonNode record = RunningModule.read(onB);
            assertThat(record.path("callOf").asText()).isEqualTo(placed);
            assertThat(record.path("node").asText()).isEqualTo("node-b");
            assertThat(folder.resolve("a/outbox/events").resolve(callId + "-CALL_VOICE.json")).doesNotExist();
            assertThat(MetricsScrape.of(a).sum("zapi_call_events_total", Map.of("event", "answered"))).isZero();
        }
    }

    private static Map<String, String> replica(String url, String nodeId) {
        Map<String, String> settings = new HashMap<>(PostgresDatabases.replica(url, nodeId));
        settings.put("zapi.webhook.token", CallEventsTest.TOKEN);
        return settings;
    }
}
