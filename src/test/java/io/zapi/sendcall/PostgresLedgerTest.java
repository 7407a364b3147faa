package io.zapi.sendcall;

import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.OutputStreamAppender;
import ch.qos.logback.core.encoder.LayoutWrappingEncoder;
import com.fasterxml.jackson.databind.JsonNode;
import com.zaxxer.hikari.HikariDataSource;
import jakarta.jms.MessageProducer;
import jakarta.jms.Session;
import org.apache.camel.Exchange;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.DefaultExchange;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.datasource.SingleConnectionDataSource;
import org.sqlite.SQLiteConfig;
import org.sqlite.SQLiteDataSource;

import io.zapi.sendcall.pipeline.CallLedger;
import io.zapi.sendcall.pipeline.Json;
import io.zapi.sendcall.records.OutcomeRecord;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * The ledger shared by several replicas on a real PostgreSQL (zapi.ledger.url): on 127.0.0.1:5432, role zapi, password
 * zapi-test, CREATEDB, as {@code .ci/postgres.sh} sets it up (run by {@code bash .ci/run}). Each test makes a database
 * of its own. Without that PostgreSQL every test here fails, saying so: none is skipped.
 */
@Tag("replicas")
class PostgresLedgerTest {

    static final String USER = PostgresDatabases.USER;
    static final String PASSWORD = PostgresDatabases.PASSWORD;
    static final Duration A_WHILE = Duration.ofSeconds(90);
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @TempDir
    Path folder;

    static final ByteArrayOutputStream LOG = new ByteArrayOutputStream();
    static OutputStreamAppender<ILoggingEvent> capture;
    static final Map<Logger, Level> LEVELS = new HashMap<>();
    @RegisterExtension
    static final PostgresDatabases databases = new PostgresDatabases();

    /** Every log line, through the module's own masking layout, every logger at DEBUG: where a password could leak. */
    @BeforeAll
    static void captureLogs() {
        LoggerContext logging = (LoggerContext) LoggerFactory.getILoggerFactory();
        Logger root = logging.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        var console = (ch.qos.logback.core.ConsoleAppender<ILoggingEvent>) root.getAppender("CONSOLE");
        LayoutWrappingEncoder<ILoggingEvent> encoder = new LayoutWrappingEncoder<>();
        encoder.setContext(logging);
        encoder.setLayout(((LayoutWrappingEncoder<ILoggingEvent>) console.getEncoder()).getLayout());
        encoder.start();
        capture = new OutputStreamAppender<>();
        capture.setContext(logging);
        capture.setEncoder(encoder);
        capture.setOutputStream(LOG);
        capture.start();
        root.addAppender(capture);
        for (String name : List.of("com.zaxxer.hikari", "org.postgresql", "io.zapi.sendcall")) {
            Logger logger = logging.getLogger(name);
            LEVELS.put(logger, logger.getLevel());
            logger.setLevel(Level.DEBUG);
        }
    }

    @AfterAll
    static void restoreLogging() {
        LEVELS.forEach(Logger::setLevel);
        ((LoggerContext) LoggerFactory.getILoggerFactory()).getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME)
                .detachAppender(capture);
    }

    @Test
    void theSameIdempotencyKeySentToThreeReplicasAtOnceIsOneCallAndTwo409s() throws Exception {
        String url = databases.create();
        try (ZapiStub zapi = new ZapiStub();
             RunningModule a = RunningModule.start(zapi.baseUrl(), folder.resolve("a"), PostgresDatabases.replica(url, "node-a"));
             RunningModule b = RunningModule.start(zapi.baseUrl(), folder.resolve("b"), PostgresDatabases.replica(url, "node-b"));
             RunningModule c = RunningModule.start(zapi.baseUrl(), folder.resolve("c"), PostgresDatabases.replica(url, "node-c"))) {
            // a slow answer: the other claims certainly come while the first call is in flight
            zapi.answer("5561933330001", com.github.tomakehurst.wiremock.client.WireMock.okJson(
                    "{\"zaapId\":\"Z\",\"messageId\":\"M\",\"id\":\"M\"}").withFixedDelay(1500));
            String body = "{\"phone\": \"5561933330001\"}";
            Map<String, CompletableFuture<HttpResponse<String>>> answers = Map.of(
                    "node-a", postAsync(a, body, "three-at-once"), "node-b", postAsync(b, body, "three-at-once"),
                    "node-c", postAsync(c, body, "three-at-once"));
            Map<String, HttpResponse<String>> byNode = new HashMap<>();
            for (Map.Entry<String, CompletableFuture<HttpResponse<String>>> answer : answers.entrySet()) {
                byNode.put(answer.getKey(), answer.getValue().get());
            }

            assertThat(byNode.values().stream().map(HttpResponse::statusCode).toList())
                    .containsExactlyInAnyOrder(200, 409, 409);
            assertThat(zapi.requestsFor("5561933330001")).hasSize(1);
            String caller = byNode.entrySet().stream().filter(e -> e.getValue().statusCode() == 200)
                    .map(Map.Entry::getKey).findFirst().orElseThrow();
            JsonNode success = Json.MAPPER.readTree(byNode.get(caller).body());
            assertThat(success.path("node").asText()).isEqualTo(caller);
            for (Map.Entry<String, HttpResponse<String>> other : byNode.entrySet()) {
                if (!other.getKey().equals(caller)) {
                    JsonNode duplicate = Json.MAPPER.readTree(other.getValue().body());
                    assertThat(duplicate.path("outcome").asText()).isEqualTo("duplicate");
                    assertThat(duplicate.path("node").asText()).isEqualTo(other.getKey());
                    assertThat(duplicate.path("duplicateOf").asText())
                            .isEqualTo(success.path("correlationId").asText());
                }
            }
        }
    }

    /**
     * A replica starting while another one writes, as a request's finish does (call_keys, then call_successes, in one
     * transaction): its schema statements must not hold one table's lock while they wait for another's. They did, and
     * a CI run's restarted replica died of "deadlock detected".
     */
    @Test
    void aReplicaStartingWhileAnotherWritesNeitherDeadlocksNorWaitsForIt() throws Exception {
        String url = databases.create();
        try (ZapiStub zapi = new ZapiStub();
             RunningModule a = RunningModule.start(zapi.baseUrl(), folder.resolve("a"),
                     PostgresDatabases.replica(url, "node-a"));
             Connection writer = DriverManager.getConnection(url, USER, PASSWORD);
             Connection watcher = DriverManager.getConnection(url, USER, PASSWORD)) {
            writer.setAutoCommit(false);
            ExecutorService starting = Executors.newSingleThreadExecutor();
            try (java.sql.Statement sql = writer.createStatement()) {
                sql.executeUpdate("UPDATE call_keys SET state = state WHERE key = 'no-such-key'");
                Future<RunningModule> b = starting.submit(() -> RunningModule.start(zapi.baseUrl(),
                        folder.resolve("b"), PostgresDatabases.replica(url, "node-b")));
                // b started, or b waits for a lock the writer holds (what its schema making did)
                await().atMost(Duration.ofSeconds(60)).until(() -> b.isDone() || waitingForALock(watcher));
                sql.executeUpdate("INSERT INTO call_successes (correlation_id, phone, instance, succeeded_at) "
                                  + "VALUES ('" + UUID.randomUUID() + "', '5561900000000', 'default', 0)");
                writer.commit();
                try (RunningModule started = b.get(60, java.util.concurrent.TimeUnit.SECONDS)) {
                    assertThat(started.post("{\"phone\": \"5561933330009\"}").statusCode()).isEqualTo(200);
                }
            } finally {
                starting.shutdownNow();
            }
        }
    }

    private static boolean waitingForALock(Connection watcher) throws SQLException {
        try (java.sql.Statement sql = watcher.createStatement();
             java.sql.ResultSet waiting = sql.executeQuery("SELECT count(*) FROM pg_locks WHERE NOT granted")) {
            return waiting.next() && waiting.getInt(1) > 0;
        }
    }

    @Test
    void aKeySeenOnOneReplicaIsADuplicateOnTheOtherWhateverTheInput() throws Exception {
        String url = databases.create();
        try (ZapiStub zapi = new ZapiStub();
             RunningModule a = RunningModule.start(zapi.baseUrl(), folder.resolve("a"), PostgresDatabases.replica(url, "node-a"));
             RunningModule b = RunningModule.start(zapi.baseUrl(), folder.resolve("b"), PostgresDatabases.replica(url, "node-b"));
             jakarta.jms.Connection jms = JmsQueueTest.connect(a.jmsPort())) {
            Session session = jms.createSession(false, Session.AUTO_ACKNOWLEDGE);
            MessageProducer producer = session.createProducer(session.createQueue("send-call"));
            producer.send(session.createTextMessage("{\"phone\": \"5561933330002\", \"id\": \"across-1\"}"));
            JsonNode first = a.awaitRecordWithId("across-1");
            assertThat(first.path("outcome").asText()).isEqualTo("success");
            assertThat(first.path("node").asText()).isEqualTo("node-a");

            b.drop("across.json", "{\"phone\": \"5561933330002\", \"id\": \"across-1\"}");
            JsonNode fromFile = b.awaitRecord("across.json");
            HttpResponse<String> fromHttp = postAsync(b, "{\"phone\": \"5561933330002\", \"id\": \"across-1\"}").get();

            assertThat(fromFile.path("outcome").asText()).isEqualTo("duplicate");
            assertThat(fromFile.path("duplicateOf").asText()).isEqualTo(first.path("correlationId").asText());
            assertThat(fromFile.path("node").asText()).isEqualTo("node-b");
            assertThat(fromHttp.statusCode()).isEqualTo(409);
            assertThat(zapi.requestsFor("5561933330002")).hasSize(1);
        }
    }

    @Test
    void aReplicaKilledMidCallHasItsKeyInterruptedOnlyAfterTheNodeTimeoutAndNeverCalledTwice() throws Exception {
        String url = databases.create();
        long nodeTimeoutMs = 12_000;
        try (ZapiStub zapi = new ZapiStub()) {
            // the call never answers while the replica lives: it is killed in the middle of it
            zapi.answer("5561933330003", com.github.tomakehurst.wiremock.client.WireMock.okJson(
                    "{\"zaapId\":\"Z\",\"messageId\":\"M\",\"id\":\"M\"}").withFixedDelay(120_000));
            Map<String, String> settings = new HashMap<>(PostgresDatabases.replica(url, "node-killed"));
            settings.put("zapi.ledger.node-timeout-ms", String.valueOf(nodeTimeoutMs));
            settings.putAll(zapi.moduleSettings());
            settings.put("zapi.data-dir", folder.resolve("killed").toString());
            settings.put("zapi.http.response-timeout-ms", "300000");
            int port = RunningModule.freePort();
            settings.put("camel.server.port", String.valueOf(port));
            int managementPort = RunningModule.freePort();
            settings.put("camel.management.port", String.valueOf(managementPort));
            Map<String, String> survivorSettings = new HashMap<>(PostgresDatabases.replica(url, "node-survivor"));
            survivorSettings.put("zapi.ledger.node-timeout-ms", String.valueOf(nodeTimeoutMs));
            // the survivor runs before the kill, so that its first try comes while the killed one's heartbeat is fresh
            try (RunningModule survivor = RunningModule.start(zapi.baseUrl(), folder.resolve("survivor"),
                    survivorSettings)) {
                long killedAt;
                try (ModuleProcess killed = ModuleProcess.start(settings, Map.of())) {
                    await().atMost(A_WHILE).pollInterval(Duration.ofMillis(200)).until(
                            () -> ModuleProcess.ready(managementPort) || !killed.isAlive());
                    assertThat(killed.isAlive()).as(killed.output()).isTrue();
                    HTTP.sendAsync(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/send-call"))
                            .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(
                                    "{\"phone\": \"5561933330003\", \"id\": \"killed-mid-call\"}")).build(),
                            HttpResponse.BodyHandlers.ofString());
                    await().atMost(A_WHILE).failFast(() -> !killed.isAlive())
                            .until(() -> zapi.requestsFor("5561933330003").size() == 1);
                    killed.kill();
                    killedAt = System.nanoTime();
                }
                String body = "{\"phone\": \"5561933330003\", \"id\": \"killed-mid-call\"}";
                // its owner's heartbeat is still recent: the key is in flight there, not interrupted
                HttpResponse<String> tooEarly = postAsync(survivor, body).get();
                assertThat(tooEarly.statusCode()).as(tooEarly.body()).isEqualTo(409);
                // once the heartbeat is older than the node timeout, the key is taken over and recorded as failed
                HttpResponse<String> takenOver = await().atMost(A_WHILE).pollInterval(Duration.ofMillis(500))
                        .until(() -> postAsync(survivor, body).get(), answer -> answer.statusCode() != 409);
                // not before: its last heartbeat was at most a third of the timeout before the kill
                assertThat(Duration.ofNanos(System.nanoTime() - killedAt).toMillis())
                        .isGreaterThanOrEqualTo(nodeTimeoutMs * 2 / 3);
                JsonNode record = Json.MAPPER.readTree(takenOver.body());
                assertThat(record.path("outcome").asText()).as(takenOver.body()).isEqualTo("failed");
                assertThat(record.path("error").asText()).contains("may have been placed");
                assertThat(record.path("node").asText()).isEqualTo("node-survivor");
                assertThat(postAsync(survivor, body).get().statusCode()).isEqualTo(409);
                assertThat(zapi.requestsFor("5561933330003")).hasSize(1);
            }
        }
    }

    @Test
    void aJmsMessageRedeliveredFromAKilledReplicaWaitsForItsNodeTimeoutAndIsRecordedOnceAsFailed() throws Exception {
        String url = databases.create();
        long nodeTimeoutMs = 8_000;
        String phone = "5561933330009";
        int brokerPort = RunningModule.freePort();
        String brokerUrl = "tcp://127.0.0.1:" + brokerPort;
        org.apache.activemq.artemis.core.server.embedded.EmbeddedActiveMQ broker = HealthTest.externalBroker(brokerPort);
        try (ZapiStub zapi = new ZapiStub()) {
            // the call never answers while the replica lives: it is killed in the middle of it
            zapi.answer(phone, com.github.tomakehurst.wiremock.client.WireMock.okJson(
                    "{\"zaapId\":\"Z\",\"messageId\":\"M\",\"id\":\"M\"}").withFixedDelay(120_000));
            Map<String, String> settings = new HashMap<>(PostgresDatabases.replica(url, "node-killed"));
            settings.put("zapi.ledger.node-timeout-ms", String.valueOf(nodeTimeoutMs));
            settings.put("zapi.jms.broker-url", brokerUrl);
            settings.putAll(zapi.moduleSettings());
            settings.put("zapi.data-dir", folder.resolve("killed").toString());
            settings.put("zapi.http.response-timeout-ms", "300000");
            int managementPort = RunningModule.freePort();
            settings.put("camel.management.port", String.valueOf(managementPort));
            long killedAt;
            try (ModuleProcess killed = ModuleProcess.start(settings, Map.of())) {
                await().atMost(A_WHILE).pollInterval(Duration.ofMillis(200)).until(
                        () -> ModuleProcess.ready(managementPort) || !killed.isAlive());
                assertThat(killed.isAlive()).as(killed.output()).isTrue();
                try (jakarta.jms.Connection client = new org.apache.activemq.artemis.jms.client
                        .ActiveMQConnectionFactory(brokerUrl).createConnection();
                     Session session = client.createSession(false, Session.AUTO_ACKNOWLEDGE);
                     MessageProducer producer = session.createProducer(session.createQueue("send-call"))) {
                    producer.send(session.createTextMessage("{\"phone\": \"" + phone + "\"}"));
                }
                await().atMost(A_WHILE).failFast(() -> !killed.isAlive())
                        .until(() -> zapi.requestsFor(phone).size() == 1);
                Map<String, String> survivorSettings = new HashMap<>(PostgresDatabases.replica(url, "node-survivor"));
                survivorSettings.put("zapi.ledger.node-timeout-ms", String.valueOf(nodeTimeoutMs));
                survivorSettings.put("zapi.jms.broker-url", brokerUrl);
                try (RunningModule survivor = RunningModule.start(zapi.baseUrl(), folder.resolve("survivor"),
                        survivorSettings)) {
                    killed.kill();
                    killedAt = System.nanoTime();
                    // the broker hands the message to the survivor at once; its first delivery's replica still looks
                    // alive there: it is neither a duplicate of itself nor called again, it waits for the node timeout
                    List<JsonNode> records = await().atMost(A_WHILE).pollInterval(Duration.ofMillis(200))
                            .until(survivor::allRecords, found -> !found.isEmpty());
                    assertThat(Duration.ofNanos(System.nanoTime() - killedAt).toMillis())
                            .isGreaterThanOrEqualTo(nodeTimeoutMs * 2 / 3);
                    assertThat(records).hasSize(1);
                    assertThat(records.get(0).path("outcome").asText()).as(records.toString()).isEqualTo("failed");
                    assertThat(records.get(0).path("error").asText()).contains("may have been placed");
                    assertThat(records.get(0).path("node").asText()).isEqualTo("node-survivor");
                    // and it stays that way: acknowledged, not delivered again
                    await().during(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(10))
                            .until(() -> survivor.allRecords().size() == 1);
                    assertThat(zapi.requestsFor(phone)).hasSize(1);
                }
            }
        } finally {
            broker.stop();
        }
    }

    @Test
    void aLostDatabaseMakesTheClaimWaitAndReadinessDownThenTheRequestIsCalledOnce() throws Exception {
        String url = databases.create();
        String database = url.substring(url.lastIndexOf('/') + 1);
        try (ZapiStub zapi = new ZapiStub();
             RunningModule module = RunningModule.start(zapi.baseUrl(), folder.resolve("a"), PostgresDatabases.replica(url, "node-a"))) {
            HealthTest.awaitReady(module, 200);
            PostgresDatabases.admin("ALTER DATABASE " + database + " ALLOW_CONNECTIONS false",
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" + database + "'");
            try {
                CompletableFuture<HttpResponse<String>> waiting = postAsync(module,
                        "{\"phone\": \"5561933330004\", \"id\": \"while-lost\"}");
                JsonNode down = HealthTest.awaitReady(module, 503);
                assertThat(down.toString()).contains("ledger");
                await().during(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(10))
                        .until(() -> !waiting.isDone() && zapi.requestsFor("5561933330004").isEmpty());
                PostgresDatabases.admin("ALTER DATABASE " + database + " ALLOW_CONNECTIONS true");

                HttpResponse<String> answer = waiting.get();
                assertThat(answer.statusCode()).as(answer.body()).isEqualTo(200);
                assertThat(zapi.requestsFor("5561933330004")).hasSize(1);
                HealthTest.awaitReady(module, 200);
            } finally {
                PostgresDatabases.admin("ALTER DATABASE " + database + " ALLOW_CONNECTIONS true");
            }
        }
    }

    @Test
    void theLedgerPasswordAppearsInNoLogLineNorStartupFailure() throws Exception {
        String url = databases.create();
        String secret = "Ledger-Pass-" + UUID.randomUUID();
        Map<String, String> settings = new HashMap<>(PostgresDatabases.replica(url + "?password=" + secret, "node-a"));
        settings.put("zapi.ledger.password", secret);
        LOG.reset();
        try (ZapiStub zapi = new ZapiStub()) {
            assertThatThrownBy(() -> RunningModule.start(zapi.baseUrl(), folder.resolve("a"), settings).close())
                    .satisfies(failure -> {
                        for (Throwable cause = failure; cause != null; cause = cause.getCause()) {
                            assertThat(String.valueOf(cause.getMessage())).doesNotContain(secret);
                        }
                        assertThat(rootOf(failure).getMessage()).contains("shared ledger").contains("****");
                    });
        }
        // the pool's configuration was logged (at DEBUG), its URL with it: masked
        assertThat(LOG.toString(StandardCharsets.UTF_8)).contains("zapi-ledger").doesNotContain(secret);
    }

    @Test
    void replicasStartingAtOnceMakeTheSchemaOnce() throws Exception {
        String url = databases.create();
        ExecutorService starting = Executors.newFixedThreadPool(4);
        List<Future<CallLedger>> ledgers = new ArrayList<>();
        List<HikariDataSource> pools = new ArrayList<>();
        try {
            for (int i = 0; i < 4; i++) {
                HikariDataSource pool = pool(url);
                pools.add(pool);
                String node = "node-" + i;
                ledgers.add(starting.submit(() -> {
                    CallLedger ledger = new CallLedger(pool, CallLedger.Dialect.POSTGRESQL, url, node, 30_000, false,
                            Map.of());
                    ledger.open();
                    return ledger;
                }));
            }
            for (Future<CallLedger> ledger : ledgers) {
                assertThat(ledger.get().add("id:schema-" + ledgers.indexOf(ledger))).isTrue();
            }
        } finally {
            starting.shutdownNow();
            pools.forEach(HikariDataSource::close);
        }
    }

    /**
     * The claim itself, two replicas racing for each of 50 keys whose owner's heartbeat went stale: exactly one takes
     * each over; with zapi.resend-interrupted=true it is sent again (not flagged interrupted). A live owner's key is a
     * duplicate.
     */
    @Test
    void ofTwoReplicasTakingOverAStaleKeyOnlyOneGetsIt() throws Exception {
        String url = databases.create();
        List<HikariDataSource> pools = List.of(pool(url), pool(url), pool(url));
        ExecutorService racing = Executors.newFixedThreadPool(2);
        try {
            long nodeTimeoutMs = 1_000;
            CallLedger gone = new CallLedger(pools.get(0), CallLedger.Dialect.POSTGRESQL, url, "node-gone",
                    nodeTimeoutMs, false, Map.of());
            CallLedger b = new CallLedger(pools.get(1), CallLedger.Dialect.POSTGRESQL, url, "node-b", nodeTimeoutMs,
                    true, Map.of());
            CallLedger c = new CallLedger(pools.get(2), CallLedger.Dialect.POSTGRESQL, url, "node-c", nodeTimeoutMs,
                    true, Map.of());
            gone.open();
            b.open();
            c.open();
            DefaultCamelContext camel = new DefaultCamelContext();
            for (int i = 0; i < 50; i++) {
                assertThat(gone.add(new DefaultExchange(camel), "id:stale-" + i)).isTrue();
            }
            // its owner is alive (its heartbeat written at open, a moment ago): in flight there
            assertThat(b.add(new DefaultExchange(camel), "id:stale-0")).isFalse();
            // node-gone writes no heartbeat any more (no scheduler here); b and c do
            await().atMost(A_WHILE).pollInterval(Duration.ofMillis(200)).until(() -> {
                b.heartbeat();
                c.heartbeat();
                return b.add(new DefaultExchange(camel), "id:probe-" + System.nanoTime()) && staleFor(url, "node-gone",
                        nodeTimeoutMs);
            });
            int takenByB = 0;
            int takenByC = 0;
            for (int i = 0; i < 50; i++) {
                String key = "id:stale-" + i;
                Exchange byB = new DefaultExchange(camel);
                Exchange byC = new DefaultExchange(camel);
                Future<Boolean> tookB = racing.submit(() -> b.add(byB, key));
                Future<Boolean> tookC = racing.submit(() -> c.add(byC, key));
                boolean wonB = tookB.get();
                boolean wonC = tookC.get();
                assertThat(wonB ^ wonC).as("exactly one replica takes %s over", key).isTrue();
                Exchange winner = wonB ? byB : byC;
                assertThat(winner.getProperty(CallLedger.CLAIMED, Boolean.class)).isTrue();
                assertThat(winner.getProperty(CallLedger.INTERRUPTED)).as("resend-interrupted=true: sent again")
                        .isNull();
                takenByB += wonB ? 1 : 0;
                takenByC += wonC ? 1 : 0;
            }
            assertThat(takenByB + takenByC).isEqualTo(50);
        } finally {
            racing.shutdownNow();
            pools.forEach(HikariDataSource::close);
        }
    }

    /** Whether the node's heartbeat is older than the timeout by the database's clock. */
    private static boolean staleFor(String url, String node, long timeoutMs) throws SQLException {
        try (Connection connection = DriverManager.getConnection(url, USER, PASSWORD);
             var query = connection.prepareStatement("SELECT heartbeat < now() - make_interval(secs => ?) FROM nodes "
                                                     + "WHERE node_id = ?")) {
            query.setDouble(1, timeoutMs / 1000.0);
            query.setString(2, node);
            try (var result = query.executeQuery()) {
                return result.next() && result.getBoolean(1);
            }
        }
    }

    @Test
    void sqliteRecordsNameTheirNodeByHostAndProcessId() throws Exception {
        try (ZapiStub zapi = new ZapiStub();
             RunningModule module = RunningModule.start(zapi.baseUrl(), folder.resolve("embedded"))) {
            module.drop("alone.json", "{\"phone\": \"5561933330005\", \"id\": \"embedded-1\"}");
            JsonNode record = module.awaitRecord("alone.json");
            assertThat(record.path("node").asText()).endsWith("-" + ProcessHandle.current().pid());
        }
    }

    /**
     * Group commit: the claims and finishes of requests in flight together share transactions. Counted by the
     * transaction ids PostgreSQL hands out (one per writing transaction): one each, as before, would be two per
     * request. And of requests claiming the same keys at once, in the same transactions, exactly one wins each key.
     */
    @Test
    void concurrentRequestsShareTheirCommits() throws Exception {
        String url = databases.create();
        try (HikariDataSource pool = pool(url)) {
            CallLedger ledger = new CallLedger(pool, CallLedger.Dialect.POSTGRESQL, url, "group", 30_000, false,
                    Map.of());
            ledger.open();
            JdbcTemplate sql = new JdbcTemplate(pool);
            int requests = 800;
            long before = sql.queryForObject("SELECT txid_current()", Long.class);
            perRequestMs(ledger, requests, 8, "shared");
            long transactions = sql.queryForObject("SELECT txid_current()", Long.class) - before - 1;
            // 200 warm-up requests one at a time, then 800 at once
            assertThat(transactions).isLessThan(2L * 200 + requests);
            assertThat(sql.queryForObject("SELECT count(*) FROM call_keys WHERE key LIKE 'id:bench-shared%' AND "
                                          + "state = 'done' AND outcome = 'success'", Long.class)).isEqualTo(requests);

            DefaultCamelContext camel = new DefaultCamelContext();
            ExecutorService threads = Executors.newFixedThreadPool(8);
            try {
                List<Future<Integer>> winners = new ArrayList<>();
                for (int t = 0; t < 8; t++) {
                    winners.add(threads.submit(() -> {
                        int won = 0;
                        for (int i = 0; i < 100; i++) {
                            Exchange exchange = new DefaultExchange(camel);
                            won += ledger.add(exchange, "id:contested-" + i) ? 1 : 0;
                        }
                        return won;
                    }));
                }
                int won = 0;
                for (Future<Integer> each : winners) {
                    won += each.get();
                }
                assertThat(won).isEqualTo(100);
            } finally {
                threads.shutdown();
            }
            ledger.closeDatabase();
        }
    }

    /**
     * Not asserted: the ledger's cost per request (claim, then finish) on PostgreSQL against SQLite, same machine, with
     * one request at a time and with 8 at once (where the group commit shares transactions between them).
     */
    @Test
    void measureLedgerCostPerRequest() throws Exception {
        int requests = 4_000;
        Path file = folder.resolve("bench.db");
        SQLiteConfig config = new SQLiteConfig();
        config.setJournalMode(SQLiteConfig.JournalMode.WAL);
        config.setSynchronous(SQLiteConfig.SynchronousMode.NORMAL);
        SQLiteDataSource sqlite = new SQLiteDataSource(config);
        sqlite.setUrl("jdbc:sqlite:" + file);
        SingleConnectionDataSource single = new SingleConnectionDataSource(sqlite.getConnection(), true);
        CallLedger embedded = new CallLedger(single, CallLedger.Dialect.SQLITE, file.toString(), "bench", 0, false,
                Map.of());
        embedded.open();
        double[] sqliteMs = {perRequestMs(embedded, requests, 1, "a"), perRequestMs(embedded, requests, 8, "b")};
        embedded.closeDatabase();

        String url = databases.create();
        try (HikariDataSource pool = pool(url)) {
            CallLedger shared = new CallLedger(pool, CallLedger.Dialect.POSTGRESQL, url, "bench", 30_000, false,
                    Map.of());
            shared.open();
            double[] postgresMs = {perRequestMs(shared, requests, 1, "a"), perRequestMs(shared, requests, 8, "b")};
            shared.closeDatabase();
            System.out.printf("LEDGER COST per request (claim + finish, %d requests; 1 thread | 8 threads, wall ms "
                              + "per request): SQLite %.3f | %.3f ms, PostgreSQL %.3f | %.3f ms%n", requests,
                    sqliteMs[0], sqliteMs[1], postgresMs[0], postgresMs[1]);
            assertThat(postgresMs[0]).isPositive();
            assertThat(postgresMs[1]).isPositive();
        }
    }

    private static double perRequestMs(CallLedger ledger, int requests, int threads, String run) throws Exception {
        DefaultCamelContext camel = new DefaultCamelContext();
        // warm-up, not counted
        for (int i = 0; i < 200; i++) {
            claimAndFinish(ledger, camel, "warm-" + run + i);
        }
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            long start = System.nanoTime();
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int first = t;
                done.add(pool.submit(() -> {
                    for (int i = first; i < requests; i += threads) {
                        claimAndFinish(ledger, camel, "bench-" + run + i);
                    }
                }));
            }
            for (Future<?> each : done) {
                each.get();
            }
            return (System.nanoTime() - start) / 1e6 / requests;
        } finally {
            pool.shutdown();
        }
    }

    private static void claimAndFinish(CallLedger ledger, DefaultCamelContext camel, String id) {
        Exchange exchange = new DefaultExchange(camel);
        String key = "id:" + id;
        exchange.setProperty(CallLedger.KEY, key);
        assertThat(ledger.add(exchange, key)).isTrue();
        exchange.setProperty(OutcomeRecord.OUTCOME, "success");
        ledger.finish(exchange);
    }

    private static HikariDataSource pool(String url) {
        HikariDataSource pool = new HikariDataSource();
        pool.setJdbcUrl(url);
        pool.setUsername(USER);
        pool.setPassword(PASSWORD);
        pool.setMaximumPoolSize(4);
        return pool;
    }

    private static CompletableFuture<HttpResponse<String>> postAsync(RunningModule module, String body) {
        return postAsync(module, body, null);
    }

    private static CompletableFuture<HttpResponse<String>> postAsync(RunningModule module, String body,
                                                                     String idempotencyKey) {
        String port = module.context().resolvePropertyPlaceholders("{{camel.server.port}}");
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/send-call"))
                .timeout(A_WHILE).header("Content-Type", "application/json");
        if (idempotencyKey != null) {
            request.header("Idempotency-Key", idempotencyKey);
        }
        return HTTP.sendAsync(request.POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
    }


    private static Throwable rootOf(Throwable failure) {
        Throwable root = failure;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        return root;
    }
}
