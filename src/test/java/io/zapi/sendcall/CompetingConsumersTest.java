package io.zapi.sendcall;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import jakarta.jms.Connection;
import jakarta.jms.MessageProducer;
import jakarta.jms.Session;
import org.apache.activemq.artemis.core.server.embedded.EmbeddedActiveMQ;
import org.apache.activemq.artemis.jms.client.ActiveMQConnectionFactory;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static com.github.tomakehurst.wiremock.client.WireMock.okJson;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Replicas reading one queue of an external broker (zapi.jms.broker-url) are competing consumers: a replica busy with
 * a slow call holds no message another replica could take.
 */
@Tag("replicas")
class CompetingConsumersTest {

    private static final String OK = "{\"zaapId\":\"Z\",\"messageId\":\"M\",\"id\":\"M\"}";
    private static final String SLOW_PHONE = "5561955550000";
    private static final int FAST = 9;
    private static final Duration SLOW_ANSWER = Duration.ofSeconds(20);

    @TempDir
    Path folder;

    @Test
    void whileOneReplicaIsStuckOnASlowCallTheOtherTakesEveryOtherMessage() throws Exception {
        int port = RunningModule.freePort();
        EmbeddedActiveMQ broker = HealthTest.externalBroker(port);
        String url = "tcp://127.0.0.1:" + port;
        try (ZapiStub zapi = new ZapiStub();
             RunningModule a = RunningModule.start(zapi.baseUrl(), folder.resolve("a"), replica(url, "node-a"));
             RunningModule b = RunningModule.start(zapi.baseUrl(), folder.resolve("b"), replica(url, "node-b"));
             Connection client = new ActiveMQConnectionFactory(url).createConnection()) {
            zapi.answer(SLOW_PHONE, okJson(OK).withFixedDelay((int) SLOW_ANSWER.toMillis()));
            for (int i = 1; i <= FAST; i++) {
                zapi.answer(phone(i), okJson(OK).withFixedDelay(100));
            }
            try (Session session = client.createSession(false, Session.AUTO_ACKNOWLEDGE);
                 MessageProducer producer = session.createProducer(session.createQueue("send-call"))) {
                producer.send(session.createTextMessage("{\"phone\": \"" + SLOW_PHONE + "\", \"id\": \"slow\"}"));
                // one replica is now stuck in its call, its only consumer busy
                await().atMost(Duration.ofSeconds(30)).until(() -> zapi.requestsFor(SLOW_PHONE).size() == 1);
                for (int i = 1; i <= FAST; i++) {
                    producer.send(session.createTextMessage("{\"phone\": \"" + phone(i) + "\", \"id\": \"fast-" + i
                                                            + "\"}"));
                }
            }

            // every other message is done by the free replica before the stuck one has its answer
            List<JsonNode> fast = await().atMost(SLOW_ANSWER.minusSeconds(2)).until(
                    () -> records(a, b).stream().filter(r -> r.path("id").asText().startsWith("fast-")).toList(),
                    r -> r.size() == FAST);
            assertThat(records(a, b)).noneMatch(r -> r.path("id").asText().equals("slow"));
            JsonNode slow = await().atMost(SLOW_ANSWER.multipliedBy(2)).until(
                    () -> records(a, b).stream().filter(r -> r.path("id").asText().equals("slow")).toList(),
                    r -> r.size() == 1).get(0);

            String stuck = slow.path("node").asText();
            assertThat(fast).allSatisfy(r -> assertThat(r.path("node").asText()).isNotEqualTo(stuck));
            assertThat(List.of(stuck, fast.get(0).path("node").asText()))
                    .containsExactlyInAnyOrder("node-a", "node-b");
            // each message one record, each phone called once
            assertThat(records(a, b)).hasSize(FAST + 1)
                    .allSatisfy(r -> assertThat(r.path("outcome").asText()).isEqualTo("success"));
            assertThat(zapi.allRequests()).hasSize(FAST + 1);
            for (int i = 1; i <= FAST; i++) {
                assertThat(zapi.requestsFor(phone(i))).hasSize(1);
            }
        } finally {
            broker.stop();
        }
    }

    private static List<JsonNode> records(RunningModule... replicas) {
        List<JsonNode> records = new ArrayList<>();
        for (RunningModule replica : replicas) {
            records.addAll(replica.allRecords());
        }
        return records;
    }

    private static String phone(int i) {
        return "55619555500" + String.format("%02d", i);
    }

    private static Map<String, String> replica(String brokerUrl, String nodeId) {
        Map<String, String> settings = new HashMap<>();
        settings.put("zapi.jms.broker-url", brokerUrl);
        settings.put("zapi.concurrency", "1");
        settings.put("zapi.node-id", nodeId);
        return settings;
    }
}
