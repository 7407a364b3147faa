package io.zapi.sendcall;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.github.tomakehurst.wiremock.http.Request;
import com.github.tomakehurst.wiremock.http.RequestListener;
import com.github.tomakehurst.wiremock.http.Response;
import jakarta.jms.MessageProducer;
import jakarta.jms.Session;
import org.apache.activemq.artemis.jms.client.ActiveMQConnectionFactory;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Several replicas as an enterprise runs them: three JVMs of the shipped jar, an ActiveMQ Artemis broker in a JVM of
 * its own, one ledger on the real PostgreSQL, one shared inbox and outbox, each replica its own data folder and ports.
 * A 10,000-row file, 2,000 JMS messages and 500 HTTP requests; the replica reading the file is killed with kill -9 in
 * the middle and restarted. Each request ends in exactly one record, no phone is called twice, the file is finished
 * by another replica, and zapi.rate-limit holds for all three together in every sliding second.
 */
@Tag("replicas")
class ThreeReplicasIT {

    private static final int ROWS = 10_000;
    private static final int JMS_MESSAGES = 2_000;
    private static final int HTTP_REQUESTS = 500;
    private static final int RATE = 150;
    private static final long NODE_TIMEOUT_MS = 5_000;
    private static final Duration A_WHILE = Duration.ofMinutes(8);
    private static final String FILE = "campaign.csv";
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    @RegisterExtension
    static final PostgresDatabases databases = new PostgresDatabases();

    @TempDir
    Path folder;

    @Test
    void threeReplicasHandleEveryRequestOnceThroughAKillAndARestart() throws Exception {
        String ledger = databases.create();
        Path shared = folder.resolve("shared");
        try (ZapiStub zapi = new ZapiStub();
             ExternalBroker broker = ExternalBroker.start(RunningModule.freePort())) {
            Calls calls = new Calls();
            zapi.listen(calls);
            List<Replica> replicas = new ArrayList<>();
            ExecutorService clients = Executors.newFixedThreadPool(8);
            try {
                for (int i = 1; i <= 3; i++) {
                    replicas.add(new Replica("node-" + i, settings(ledger, broker, zapi, shared, "node-" + i,
                            RATE)));
                }
                replicas.forEach(Replica::start);
                replicas.forEach(Replica::awaitReady);

                drop(shared, FILE, csv(ROWS));
                // the other inputs come while the file is read: JMS message i once 4×i rows are called (so they span
                // the kill), HTTP request i once 8×i rows are, to the replicas in turn
                Future<?> jms = clients.submit(() -> sendJms(broker.url(), calls));
                List<Future<HttpResponse<String>>> httpBeforeKill = new ArrayList<>();
                for (int i = 0; i < HTTP_REQUESTS / 2; i++) {
                    int rowsFirst = 8 * i;
                    await().atMost(A_WHILE).until(() -> calls.fileRows.get() >= rowsFirst);
                    Replica to = replicas.get(i % replicas.size());
                    int request = i;
                    httpBeforeKill.add(clients.submit(() -> to.post(request)));
                }
                for (Future<HttpResponse<String>> answer : httpBeforeKill) {
                    assertThat(answer.get().statusCode()).as(answer.get().body()).isEqualTo(200);
                }

                // kill -9 the replica reading the file, a quarter of the way through it
                await().atMost(A_WHILE).until(() -> calls.fileRows.get() >= ROWS / 4);
                String reader = readerOf(ledger, FILE);
                Replica killed = replicas.stream().filter(r -> r.nodeId.equals(reader)).findFirst().orElseThrow();
                long killedAt = System.nanoTime();
                killed.kill();
                int rowsCalledAtKill = calls.fileRows.get();
                assertThat(rowsCalledAtKill).isLessThan(ROWS / 2);

                // another replica takes the file over once the killed one's heartbeat is older than the node timeout
                String taker = await().atMost(A_WHILE).pollInterval(Duration.ofMillis(100))
                        .until(() -> readerOf(ledger, FILE), owner -> owner != null && !owner.equals(reader));
                // not before the node timeout less one heartbeat interval (a third of it: the last heartbeat may have
                // been that long before the kill); the heartbeats are stamped by the database as their updates run,
                // so one interval may be a few ms longer than the schedule's: 100 ms of slack (a run failed at 3,331)
                assertThat(Duration.ofNanos(System.nanoTime() - killedAt).toMillis())
                        .isGreaterThanOrEqualTo(NODE_TIMEOUT_MS * 2 / 3 - 100);
                assertThat(taker).isNotEqualTo(reader);

                // restarted, with its node id, data folder and settings (new ports: the old ones may linger)
                killed.start();
                killed.awaitReady();
                long restartedAt = System.currentTimeMillis();
                List<Future<HttpResponse<String>>> httpAfterRestart = new ArrayList<>();
                for (int i = HTTP_REQUESTS / 2; i < HTTP_REQUESTS; i++) {
                    Replica to = replicas.get(i % replicas.size());
                    int request = i;
                    httpAfterRestart.add(clients.submit(() -> to.post(request)));
                }
                for (Future<HttpResponse<String>> answer : httpAfterRestart) {
                    assertThat(answer.get().statusCode()).as(answer.get().body()).isEqualTo(200);
                }
                jms.get();

                await().atMost(A_WHILE).pollInterval(Duration.ofSeconds(1))
                        .until(() -> Files.isDirectory(shared.resolve("outbox/reports")) && Reports.ended(shared, FILE)
                                     && recordFiles(shared).size() >= ROWS + JMS_MESSAGES + HTTP_REQUESTS);
                // nothing more comes: no late second record of anything
                await().during(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(30))
                        .until(() -> recordFiles(shared).size() == ROWS + JMS_MESSAGES + HTTP_REQUESTS);

                List<JsonNode> records = recordFiles(shared).stream().map(RunningModule::read).toList();
                assertEachRequestHasOneRecord(records);
                assertThat(records).allSatisfy(record -> {
                    if (!record.path("outcome").asText().equals("success")) {
                        // only what was in flight on the killed replica: its call may have been placed
                        assertThat(record.path("outcome").asText()).as(record.toString()).isEqualTo("failed");
                        assertThat(record.path("error").asText()).contains("may have been placed");
                        assertThat(record.path("node").asText()).isNotEqualTo(reader);
                    }
                });
                List<JsonNode> failed = records.stream()
                        .filter(record -> record.path("outcome").asText().equals("failed")).toList();
                assertThat(failed).as("in flight on the killed replica").hasSizeLessThanOrEqualTo(10);

                // no phone called twice; every success called once
                assertThat(calls.perPhone).allSatisfy((phone, count) -> assertThat(count.get())
                        .as("calls to %s", phone).isEqualTo(1));
                assertThat(records).filteredOn(record -> record.path("outcome").asText().equals("success"))
                        .allSatisfy(record -> assertThat(calls.perPhone)
                                .containsKey(record.path("request").path("phone").asText()));

                // the file: finished by another replica, reported done once, kept once
                JsonNode report = RunningModule.read(Reports.of(shared, FILE).get(0));
                assertThat(report.path("state").asText()).isEqualTo("done");
                assertThat(report.path("requests").asInt()).isEqualTo(ROWS);
                assertThat(Reports.of(shared, FILE)).hasSize(1);
                assertThat(shared.resolve("inbox").resolve(FILE)).doesNotExist();
                try (Stream<Path> kept = Files.list(shared.resolve("inbox/.done"))) {
                    assertThat(kept.filter(f -> f.getFileName().toString().endsWith("-" + FILE))).hasSize(1);
                }
                Map<String, Long> rowsByNode = records.stream()
                        .filter(record -> record.path("source").path("channel").asText().equals("file"))
                        .collect(Collectors.groupingBy(record -> record.path("node").asText(), Collectors.counting()));
                assertThat(rowsByNode).containsKeys(reader, taker);
                assertThat(rowsByNode.get(taker)).isGreaterThan(ROWS / 3);

                // every replica took JMS messages; the restarted one works again
                assertThat(records.stream().filter(r -> r.path("source").path("channel").asText().equals("jms"))
                        .map(r -> r.path("node").asText()).collect(Collectors.toSet()))
                        .containsExactlyInAnyOrder("node-1", "node-2", "node-3");
                assertThat(records).anySatisfy(record -> {
                    assertThat(record.path("node").asText()).isEqualTo(reader);
                    assertThat(java.time.Instant.parse(record.path("timestamp").asText()).toEpochMilli())
                            .isGreaterThan(restartedAt);
                });

                // the rate limit, all three replicas together, in every sliding second
                assertThat(zapi.busiestSecond()).as("calls in the busiest sliding second").isLessThanOrEqualTo(RATE);
            } finally {
                clients.shutdownNow();
                for (Replica replica : replicas) {
                    replica.close();
                }
            }
        }
    }

    /**
     * Not a pass/fail figure (2 cores: the replicas share them): the same work for one replica and for three on the
     * same stub, no rate limit, written to target/replicas-throughput.txt for the README and the closing note.
     */
    @Test
    void throughputOfThreeReplicasAgainstOne() throws Exception {
        double one = requestsPerSecond(1);
        double three = requestsPerSecond(3);
        String figures = ("three replicas %.0f requests/s, one replica %.0f requests/s: %.2f× (3 files of 1,000 "
                          + "rows, 1,500 JMS messages; PostgreSQL ledger, shared inbox and outbox, external broker)")
                .formatted(three, one, three / one);
        System.out.println(figures);
        Files.writeString(Path.of("target/replicas-throughput.txt"), figures + "\n");
        assertThat(one).isPositive();
        assertThat(three).isPositive();
    }

    private double requestsPerSecond(int replicaCount) throws Exception {
        int files = 3;
        int rows = 1_000;
        int messages = 1_500;
        String ledger = databases.create();
        Path shared = folder.resolve("throughput-" + replicaCount);
        try (ZapiStub zapi = new ZapiStub();
             ExternalBroker broker = ExternalBroker.start(RunningModule.freePort())) {
            List<Replica> replicas = new ArrayList<>();
            try {
                for (int i = 1; i <= replicaCount; i++) {
                    replicas.add(new Replica("node-" + i, settings(ledger, broker, zapi, shared, "node-" + i, 0)));
                }
                replicas.forEach(Replica::start);
                replicas.forEach(Replica::awaitReady);
                long started = System.nanoTime();
                for (int file = 0; file < files; file++) {
                    drop(shared, "part-" + file + ".csv", csv(rows).replace("557190", "55719" + (3 + file)));
                }
                try (jakarta.jms.Connection connection = new ActiveMQConnectionFactory(broker.url()).createConnection();
                     Session session = connection.createSession(false, Session.AUTO_ACKNOWLEDGE);
                     MessageProducer producer = session.createProducer(session.createQueue("send-call"))) {
                    for (int i = 0; i < messages; i++) {
                        producer.send(session.createTextMessage("{\"phone\": \"" + jmsPhone(i) + "\"}"));
                    }
                }
                int total = files * rows + messages;
                await().atMost(A_WHILE).pollInterval(Duration.ofMillis(200))
                        .until(() -> recordFiles(shared).size() >= total);
                double seconds = (System.nanoTime() - started) / 1e9;
                List<JsonNode> records = recordFiles(shared).stream().map(RunningModule::read).toList();
                assertThat(records).hasSize(total)
                        .allSatisfy(record -> assertThat(record.path("outcome").asText()).isEqualTo("success"));
                return total / seconds;
            } finally {
                for (Replica replica : replicas) {
                    replica.close();
                }
            }
        }
    }

    private static void assertEachRequestHasOneRecord(List<JsonNode> records) {
        Map<String, Long> perRequest = records.stream().collect(Collectors.groupingBy(record -> {
            JsonNode source = record.path("source");
            return switch (source.path("channel").asText()) {
                case "file" -> "row " + source.path("index").asInt();
                case "jms" -> "jms " + record.path("id").asText();
                default -> "http " + source.path("name").asText();
            };
        }, Collectors.counting()));
        Set<String> expected = Stream.of(
                IntStream.rangeClosed(1, ROWS).mapToObj(i -> "row " + i),
                IntStream.range(0, JMS_MESSAGES).mapToObj(i -> "jms jms-" + i),
                IntStream.range(0, HTTP_REQUESTS).mapToObj(i -> "http http-" + i)).flatMap(s -> s)
                .collect(Collectors.toSet());
        assertThat(perRequest.keySet()).isEqualTo(expected);
        assertThat(perRequest).allSatisfy((request, count) -> assertThat(count).as("records of %s", request)
                .isEqualTo(1));
    }

    /** JMS message i is sent once 4×i rows of the file have been called: the messages span the whole file. */
    private static void sendJms(String brokerUrl, Calls calls) {
        try (jakarta.jms.Connection connection = new ActiveMQConnectionFactory(brokerUrl).createConnection();
             Session session = connection.createSession(false, Session.AUTO_ACKNOWLEDGE);
             MessageProducer producer = session.createProducer(session.createQueue("send-call"))) {
            for (int i = 0; i < JMS_MESSAGES; i++) {
                int rowsFirst = 4 * i;
                await().atMost(A_WHILE).until(() -> calls.fileRows.get() >= rowsFirst);
                producer.send(session.createTextMessage("{\"phone\": \"" + jmsPhone(i) + "\", \"id\": \"jms-" + i
                                                        + "\"}"));
            }
        } catch (jakarta.jms.JMSException e) {
            throw new IllegalStateException(e);
        }
    }

    private static Map<String, String> settings(String ledger, ExternalBroker broker, ZapiStub zapi, Path shared,
                                                String nodeId, int rate) {
        Map<String, String> settings = new HashMap<>(PostgresDatabases.replica(ledger, nodeId));
        settings.putAll(zapi.moduleSettings());
        settings.put("zapi.data-dir", shared.resolveSibling(shared.getFileName() + "-" + nodeId).toString());
        settings.put("zapi.inbox-dir", shared.resolve("inbox").toString());
        settings.put("zapi.outbox-dir", shared.resolve("outbox").toString());
        settings.put("zapi.jms.broker-url", broker.url());
        settings.put("zapi.ledger.node-timeout-ms", String.valueOf(NODE_TIMEOUT_MS));
        settings.put("zapi.concurrency", "4");
        settings.put("zapi.inbox.poll-delay-ms", "200");
        settings.put("zapi.inbox.settle-ms", "200");
        if (rate > 0) {
            settings.put("zapi.rate-limit", String.valueOf(rate));
        }
        return settings;
    }

    /** Who reads the file now, by the shared ledger's claim on it; null while nobody does. */
    private static String readerOf(String ledger, String file) throws SQLException {
        try (Connection connection = DriverManager.getConnection(ledger, PostgresDatabases.USER,
                PostgresDatabases.PASSWORD);
             PreparedStatement query = connection.prepareStatement("SELECT owner FROM inbox_claims WHERE file = ?")) {
            query.setString(1, file);
            try (ResultSet owner = query.executeQuery()) {
                return owner.next() ? owner.getString(1) : null;
            }
        }
    }

    private static String csv(int rows) {
        return Stream.concat(Stream.of("phone"), IntStream.range(0, rows).mapToObj(i -> "55719%08d".formatted(i)))
                .collect(Collectors.joining("\n")) + "\n";
    }

    private static String jmsPhone(int i) {
        return "55719%08d".formatted(10_000_000 + i);
    }

    private static String httpPhone(int i) {
        return "55719%08d".formatted(20_000_000 + i);
    }

    private static void drop(Path shared, String name, String content) throws IOException {
        Path inbox = Files.createDirectories(shared.resolve("inbox"));
        Path part = inbox.resolve(name + ".part");
        Files.writeString(part, content);
        Files.move(part, inbox.resolve(name), StandardCopyOption.ATOMIC_MOVE);
    }

    private static List<Path> recordFiles(Path shared) {
        return RunningModule.recordFiles(shared.resolve("outbox"));
    }

    /** What the stub was asked, counted as it answers: calls per phone, and rows of the file called so far. */
    private static final class Calls implements RequestListener {

        private static final Pattern PHONE = Pattern.compile("\"phone\"\\s*:\\s*\"(\\d+)\"");
        final Map<String, AtomicInteger> perPhone = new ConcurrentHashMap<>();
        final AtomicInteger fileRows = new AtomicInteger();

        @Override
        public void requestReceived(Request request, Response response) {
            Matcher phone = PHONE.matcher(request.getBodyAsString());
            if (phone.find()) {
                perPhone.computeIfAbsent(phone.group(1), p -> new AtomicInteger()).incrementAndGet();
                if (phone.group(1).startsWith("557190")) {
                    fileRows.incrementAndGet();
                }
            }
        }
    }

    /** One replica: the shipped jar in its own JVM, with its node id, data folder and settings across restarts. */
    private static final class Replica implements AutoCloseable {

        final String nodeId;
        private final Map<String, String> settings;
        private ModuleProcess process;
        private int serverPort;
        private int managementPort;

        Replica(String nodeId, Map<String, String> settings) {
            this.nodeId = nodeId;
            this.settings = settings;
        }

        void start() {
            serverPort = RunningModule.freePort();
            managementPort = RunningModule.freePort();
            Map<String, String> withPorts = new HashMap<>(settings);
            withPorts.put("camel.server.port", String.valueOf(serverPort));
            withPorts.put("camel.management.port", String.valueOf(managementPort));
            process = ModuleProcess.startJar(List.of("-Xmx512m"), withPorts, Map.of());
        }

        void awaitReady() {
            await().atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofMillis(200))
                    .failFast(() -> !process.isAlive())
                    .until(() -> ModuleProcess.ready(managementPort));
        }

        HttpResponse<String> post(int request) throws IOException, InterruptedException {
            return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + serverPort + "/send-call"))
                    .timeout(A_WHILE).header("Content-Type", "application/json")
                    .header("Idempotency-Key", "http-" + request)
                    .POST(HttpRequest.BodyPublishers.ofString("{\"phone\": \"" + httpPhone(request) + "\"}")).build(),
                    HttpResponse.BodyHandlers.ofString());
        }

        void kill() throws InterruptedException {
            process.kill();
        }

        @Override
        public void close() throws InterruptedException {
            if (process != null) {
                process.close();
            }
        }
    }
}
