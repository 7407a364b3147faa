package io.zapi.sendcall;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

import com.github.tomakehurst.wiremock.stubbing.Scenario;
import com.github.tomakehurst.wiremock.verification.LoggedRequest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.anyUrl;
import static com.github.tomakehurst.wiremock.client.WireMock.okJson;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static org.assertj.core.api.Assertions.assertThat;

/** zapi.concurrency bounds the calls in flight; zapi.rate-limit bounds the calls per second. */
class ThrottlingTest {

    private static final String OK = "{\"zaapId\":\"Z\",\"messageId\":\"M\",\"id\":\"M\"}";

    @TempDir
    Path dataDir;

    @Test
    void noMoreThanTheConcurrencyAreInFlightAndTheyDoRunTogether() {
        try (ZapiStub zapi = new ZapiStub();
             RunningModule module = RunningModule.start(zapi.baseUrl(), dataDir, Map.of("zapi.concurrency", "3"))) {
            IntStream.rangeClosed(1, 12).forEach(i -> zapi.answer(phone(i), okJson(OK).withFixedDelay(300)));

            module.drop("slow.csv", csv(12));

            assertThat(module.awaitRecords("slow.csv", 12))
                    .allSatisfy(r -> assertThat(r.path("outcome").asText()).isEqualTo("success"));
            int mostAtOnce = mostAtOnce(zapi.allRequests(), Duration.ofMillis(300));
            assertThat(mostAtOnce).isEqualTo(3);
        }
    }

    /**
     * zapi.concurrency=32 means 32 calls in flight from any one input: Z-API holds every call until released, and each
     * input in turn is given more requests than that. Before, the HTTP input stopped at the embedded server's 20
     * worker threads and the JMS input at its one consumer.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"file", "http", "jms", "jms backlog"})
    void everyInputFillsEveryCallSlot(String input) throws Exception {
        int slots = 32;
        int requests = slots + 8;
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        try (RawHttpServer zapi = new RawHttpServer((server, socket, request) -> {
                 // the call stays in flight until the test has counted the calls at once
                 try {
                     release.await(2, java.util.concurrent.TimeUnit.MINUTES);
                 } catch (InterruptedException e) {
                     Thread.currentThread().interrupt();
                     return false;
                 }
                 RawHttpServer.writeOk(socket, OK);
                 return true;
             });
             RunningModule module = RunningModule.start(zapi.baseUrl(), dataDir,
                     Map.of("zapi.concurrency", String.valueOf(slots)))) {
            java.util.concurrent.ExecutorService clients = java.util.concurrent.Executors.newCachedThreadPool();
            try {
                switch (input) {
                    case "file" -> module.drop("slots.csv", csv(requests));
                    case "http" -> IntStream.rangeClosed(1, requests).forEach(i -> clients.submit(
                            () -> module.post("{\"phone\": \"" + phone(i) + "\"}")));
                    default -> {
                        if (input.equals("jms backlog")) {
                            // queued while no consumer runs, as after a restart: no first consumer may take them all
                            module.context().getRouteController().stopRoute("jms-queue");
                        }
                        try (jakarta.jms.Connection connection = new org.apache.activemq.artemis.jms.client
                                .ActiveMQConnectionFactory("tcp://127.0.0.1:" + module.jmsPort()).createConnection();
                             jakarta.jms.Session session = connection.createSession(false,
                                     jakarta.jms.Session.AUTO_ACKNOWLEDGE);
                             jakarta.jms.MessageProducer producer = session.createProducer(
                                     session.createQueue("send-call"))) {
                            for (int i = 1; i <= requests; i++) {
                                producer.send(session.createTextMessage("{\"phone\": \"" + phone(i) + "\"}"));
                            }
                        }
                        if (input.equals("jms backlog")) {
                            module.context().getRouteController().startRoute("jms-queue");
                        }
                    }
                }
                org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(60))
                        .until(() -> zapi.requests.size() == slots);
                // and no more than that while they are held
                org.awaitility.Awaitility.await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(5))
                        .until(() -> zapi.requests.size() == slots);
                release.countDown();
                org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(60))
                        .until(() -> module.allRecords().size() == requests);
                assertThat(module.allRecords())
                        .allSatisfy(r -> assertThat(r.path("outcome").asText()).isEqualTo("success"));
            } finally {
                release.countDown();
                clients.shutdownNow();
            }
        }
    }

    @Test
    void theRateLimitSpacesTheCalls() {
        try (ZapiStub zapi = new ZapiStub();
             RunningModule module = RunningModule.start(zapi.baseUrl(), dataDir, Map.of("zapi.rate-limit", "4"))) {

            module.drop("paced.csv", csv(9));

            module.awaitRecords("paced.csv", 9);
            List<Instant> received = zapi.allRequests().stream().map(r -> r.getLoggedDate().toInstant()).sorted().toList();
            assertThat(received).hasSize(9);
            // 9 calls at 4 per second need at least two full periods after the first
            assertThat(Duration.between(received.get(0), received.get(8))).isGreaterThanOrEqualTo(Duration.ofMillis(1900));
        }
    }

    @Test
    void a429StormSlowsTheModuleDownInsteadOfFailingEverything() {
        try (ZapiStub zapi = new ZapiStub();
             RunningModule module = RunningModule.start(zapi.baseUrl(), dataDir, Map.of("zapi.concurrency", "4"))) {
            // the first 8 calls, whoever makes them, are told to come back in a second
            for (int i = 0; i < 8; i++) {
                zapi.stubFor(post(anyUrl()).atPriority(1).inScenario("storm")
                        .whenScenarioStateIs(i == 0 ? Scenario.STARTED : "busy-" + i).willSetStateTo("busy-" + (i + 1))
                        .willReturn(aResponse().withStatus(429).withHeader("Retry-After", "1")));
            }

            module.drop("storm.csv", csv(6));

            List<com.fasterxml.jackson.databind.JsonNode> records = module.awaitRecords("storm.csv", 6);
            assertThat(records).allSatisfy(r -> assertThat(r.path("outcome").asText()).isEqualTo("success"));
            // the refusals (8 or more: concurrent calls may share a scenario state) were absorbed by retries, and
            // every call made is counted in some record's attempts
            int calls = zapi.allRequests().size();
            assertThat(calls).isGreaterThanOrEqualTo(6 + 8);
            assertThat(records.stream().mapToInt(r -> r.path("attempts").asInt()).sum()).isEqualTo(calls);
        }
    }

    private static String phone(int i) {
        return "55219%08d".formatted(i);
    }

    private static String csv(int rows) {
        StringBuilder csv = new StringBuilder("phone\n");
        IntStream.rangeClosed(1, rows).forEach(i -> csv.append(phone(i)).append('\n'));
        return csv.toString();
    }

    /** The largest number of requests whose [received, received + service time) windows overlap. */
    private static int mostAtOnce(List<LoggedRequest> requests, Duration serviceTime) {
        List<long[]> events = new ArrayList<>();
        for (LoggedRequest request : requests) {
            long start = request.getLoggedDate().getTime();
            events.add(new long[] {start, 1});
            events.add(new long[] {start + serviceTime.toMillis(), -1});
        }
        events.sort((a, b) -> a[0] != b[0] ? Long.compare(a[0], b[0]) : Long.compare(a[1], b[1]));
        int current = 0;
        int most = 0;
        for (long[] event : events) {
            current += (int) event[1];
            most = Math.max(most, current);
        }
        return most;
    }
}
