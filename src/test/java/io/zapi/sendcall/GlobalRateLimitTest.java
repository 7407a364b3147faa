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
