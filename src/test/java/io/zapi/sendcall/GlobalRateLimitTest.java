package io.zapi.sendcall;

import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.okJson;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * zapi.rate-limit holds for all replicas sharing a PostgreSQL ledger together: at most that many calls reach Z-API in
 * any sliding second, whichever replica makes them. Needs the PostgreSQL of {@code .ci/postgres.sh}, as
 * PostgresLedgerTest does.
 */
@Tag("replicas")
class GlobalRateLimitTest {

    private static final String OK = "{\"zaapId\":\"Z\",\"messageId\":\"M\",\"id\":\"M\"}";
    private static final int RATE = 5;
    private static final int REQUESTS = 30;

    @TempDir
    Path folder;

    @RegisterExtension
    static final PostgresDatabases databases = new PostgresDatabases();

    @Test
    void threeReplicasTogetherMakeNoMoreThanTheRateInAnySlidingSecond() throws Exception {
        String url = databases.create();
        try (ZapiStub zapi = new ZapiStub();
             RunningModule a = RunningModule.start(zapi.baseUrl(), folder.resolve("a"), replica(url, "node-a"));
             RunningModule b = RunningModule.start(zapi.baseUrl(), folder.resolve("b"), replica(url, "node-b"));
             RunningModule c = RunningModule.start(zapi.baseUrl(), folder.resolve("c"), replica(url, "node-c"))) {
            List<RunningModule> replicas = List.of(a, b, c);
            // each replica's first call opens its HTTP connection and loads its classes: a delay after its turn that
            // no limiter controls. One call each beforehand, then only the calls after count
            for (RunningModule replica : replicas) {
                assertThat(replica.post("{\"phone\": \"5561944440000\"}").statusCode()).isEqualTo(200);
            }
            zapi.resetRequests();
            ExecutorService clients = Executors.newFixedThreadPool(REQUESTS);
            try {
                List<Future<HttpResponse<String>>> answers = new ArrayList<>();
                for (int i = 0; i < REQUESTS; i++) {
                    RunningModule replica = replicas.get(i % replicas.size());
                    String body = "{\"phone\": \"55619333" + String.format("%05d", i) + "\", \"id\": \"paced-" + i
                                  + "\"}";
                    answers.add(clients.submit(() -> replica.post(body)));
                }
                for (Future<HttpResponse<String>> answer : answers) {
                    assertThat(answer.get().statusCode()).isEqualTo(200);
                }
            } finally {
                clients.shutdownNow();
            }

            List<Long> received = zapi.allRequests().stream().map(r -> r.getLoggedDate().getTime()).sorted().toList();
            assertThat(received).hasSize(REQUESTS);
            assertThat(zapi.busiestSecond()).as("calls in the busiest sliding second, all replicas together, of %s",
                    received.stream().map(t -> t - received.get(0)).toList()).isLessThanOrEqualTo(RATE);
            // the calls did flow, and all three replicas made some
            assertThat(Duration.ofMillis(received.get(REQUESTS - 1) - received.get(0)))
                    .isGreaterThanOrEqualTo(Duration.ofMillis((REQUESTS - RATE) * 1000L / RATE));
            for (RunningModule replica : replicas) {
                assertThat(replica.allRecords()).hasSize(REQUESTS / replicas.size() + 1)
                        .allSatisfy(r -> assertThat(r.path("outcome").asText()).isEqualTo("success"));
            }
        }
    }

    /**
     * Two replicas, two named instances with their own rates (2 and 4 a second), requests naming each spread over both
     * replicas: each instance's stand-in gets no more than its own rate in any sliding second, and the faster one is
     * not held to the slower one's pace.
     */
    @Test
    void eachInstanceHasItsOwnLimitForAllReplicasTogether() throws Exception {
        String url = databases.create();
        try (ZapiStub slow = new ZapiStub("slow-id", "SLOW-TOKEN-91aa", "SLOW-CLIENT-2bb7");
             ZapiStub fast = new ZapiStub("fast-id", "FAST-TOKEN-c3d4", "FAST-CLIENT-e5f6")) {
            Map<String, String> instances = new HashMap<>();
            instances.put("zapi.rate-limit", "0");
            instances.put("zapi.instances.slow.instance-id", "slow-id");
            instances.put("zapi.instances.slow.instance-token", "SLOW-TOKEN-91aa");
            instances.put("zapi.instances.slow.client-token", "SLOW-CLIENT-2bb7");
            instances.put("zapi.instances.slow.base-url", slow.baseUrl());
            instances.put("zapi.instances.slow.rate-limit", "2");
            instances.put("zapi.instances.fast.instance-id", "fast-id");
            instances.put("zapi.instances.fast.instance-token", "FAST-TOKEN-c3d4");
            instances.put("zapi.instances.fast.client-token", "FAST-CLIENT-e5f6");
            instances.put("zapi.instances.fast.base-url", fast.baseUrl());
            instances.put("zapi.instances.fast.rate-limit", "4");
            Map<String, String> settingsA = replica(url, "node-a");
            settingsA.putAll(instances);
            Map<String, String> settingsB = replica(url, "node-b");
            settingsB.putAll(instances);
            try (RunningModule a = RunningModule.start(slow.baseUrl(), folder.resolve("a"), settingsA);
                 RunningModule b = RunningModule.start(slow.baseUrl(), folder.resolve("b"), settingsB)) {
                List<RunningModule> replicas = List.of(a, b);
                // one call each first: a replica's first call is delayed by its own warming up (see above)
                for (RunningModule replica : replicas) {
                    for (String instance : List.of("slow", "fast")) {
                        assertThat(replica.post("{\"phone\": \"5561944440000\", \"instance\": \"" + instance
                                                + "\"}").statusCode()).isEqualTo(200);
                    }
                }
                slow.resetRequests();
                fast.resetRequests();
                int perInstance = 12;
                ExecutorService clients = Executors.newFixedThreadPool(2 * perInstance);
                try {
                    List<Future<HttpResponse<String>>> answers = new ArrayList<>();
                    for (int i = 0; i < 2 * perInstance; i++) {
                        RunningModule replica = replicas.get(i % 2);
                        String body = "{\"phone\": \"55619222" + String.format("%05d", i) + "\", \"instance\": \""
                                      + (i / 2 % 2 == 0 ? "slow" : "fast") + "\"}";
                        answers.add(clients.submit(() -> replica.post(body)));
                    }
                    for (Future<HttpResponse<String>> answer : answers) {
                        assertThat(answer.get().statusCode()).isEqualTo(200);
                    }
                } finally {
                    clients.shutdownNow();
                }
                assertThat(slow.allRequests()).hasSize(perInstance);
                assertThat(fast.allRequests()).hasSize(perInstance);
                assertThat(slow.busiestSecond()).as("the slow instance's busiest second").isLessThanOrEqualTo(2);
                assertThat(fast.busiestSecond()).as("the fast instance's busiest second").isBetween(3, 4);
            }
        }
    }

    @Test
    void aRetryWaitsForItsTokenWhileTheDatabaseIsLostThenGoesOut() throws Exception {
        String url = databases.create();
        String database = PostgresDatabases.nameOf(url);
        String phone = "5561944440001";
        Map<String, String> settings = replica(url, "node-a");
        settings.put("zapi.retry.initial-delay-ms", "200");
        try (ZapiStub zapi = new ZapiStub();
             RunningModule module = RunningModule.start(zapi.baseUrl(), folder.resolve("a"), settings)) {
            // the first answer is a slow 503: the database is cut while it is awaited, before its retry asks a token
            zapi.answerInTurn(phone, aResponse().withStatus(503).withFixedDelay(2000), okJson(OK));
            ExecutorService client = Executors.newSingleThreadExecutor();
            try {
                Future<HttpResponse<String>> answer = client.submit(() -> module.post(
                        "{\"phone\": \"" + phone + "\", \"id\": \"retried\"}"));
                await().atMost(Duration.ofSeconds(30)).until(() -> zapi.requestsFor(phone).size() == 1);
                PostgresDatabases.admin("ALTER DATABASE " + database + " ALLOW_CONNECTIONS false",
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" + database + "'");
                try {
                    // no token, no call: the retry waits however long the database is gone
                    await().during(Duration.ofSeconds(5)).atMost(Duration.ofSeconds(15))
                            .until(() -> zapi.requestsFor(phone).size() == 1 && !answer.isDone());
                } finally {
                    PostgresDatabases.admin("ALTER DATABASE " + database + " ALLOW_CONNECTIONS true");
                }
                assertThat(answer.get().statusCode()).as(answer.get().body()).isEqualTo(200);
                assertThat(zapi.requestsFor(phone)).hasSize(2);
            } finally {
                client.shutdownNow();
            }
        }
    }

    private static Map<String, String> replica(String url, String nodeId) {
        Map<String, String> settings = new HashMap<>(PostgresDatabases.replica(url, nodeId));
        settings.put("zapi.rate-limit", String.valueOf(RATE));
        return settings;
    }
}
