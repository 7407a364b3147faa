package io.zapi.sendcall;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import io.zapi.sendcall.pipeline.Json;

import static com.github.tomakehurst.wiremock.client.WireMock.anyUrl;
import static com.github.tomakehurst.wiremock.client.WireMock.okJson;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Replicas sharing one inbox and one outbox (zapi.inbox-dir, zapi.outbox-dir) and one ledger on a real PostgreSQL
 * (see {@link PostgresLedgerTest} for the database the tests need): each file is read by one replica at a time, and
 * the file of a replica killed in the middle of it is taken over and finished by another.
 */
@Tag("replicas")
class SharedInboxTest {

    private static final Duration A_WHILE = Duration.ofSeconds(120);

    @TempDir
    Path folder;

    @RegisterExtension
    static final PostgresDatabases databases = new PostgresDatabases();

    @Test
    void eachFileOfASharedInboxIsReadByOneReplica() throws Exception {
        String url = databases.create();
        Path shared = folder.resolve("shared");
        int files = 6;
        int rows = 5;
        try (ZapiStub zapi = new ZapiStub()) {
            // each call takes a while: a file is read long enough for the other replica to look at it meanwhile
            zapi.stubFor(post(anyUrl()).willReturn(okJson("{\"zaapId\":\"Z\",\"messageId\":\"M\",\"id\":\"M\"}")
                    .withFixedDelay(300)));
            try (RunningModule a = RunningModule.start(zapi.baseUrl(), folder.resolve("a"),
                    sharing(url, "node-a", shared, 30_000));
                 RunningModule b = RunningModule.start(zapi.baseUrl(), folder.resolve("b"),
                         sharing(url, "node-b", shared, 30_000))) {
                for (int file = 0; file < files; file++) {
                    drop(shared, "batch-" + file + ".csv", csv(file * 100, rows));
                }
                for (int file = 0; file < files; file++) {
                    Path report = awaitReport(shared, "batch-" + file + ".csv");
                    assertThat(RunningModule.read(report).path("state").asText()).isEqualTo("done");
                    assertThat(kept(shared, "batch-" + file + ".csv")).hasSize(1);
                }
                List<JsonNode> records = records(shared);
                Map<String, Long> perRow = records.stream().collect(Collectors.groupingBy(
                        r -> r.path("source").path("name").asText() + "#" + r.path("source").path("index").asInt(),
                        Collectors.counting()));
                assertThat(perRow).hasSize(files * rows).allSatisfy((row, count) -> assertThat(count)
                        .as("records of %s", row).isEqualTo(1));
                assertThat(records).allSatisfy(r -> assertThat(r.path("outcome").asText()).isEqualTo("success"));
                assertThat(callsPerPhone(zapi)).hasSize(files * rows)
                        .allSatisfy((phone, calls) -> assertThat(calls).isEqualTo(1));
                // every row of a file by the replica that read it; and both replicas had files to read
                Map<String, Set<String>> nodesPerFile = records.stream().collect(Collectors.groupingBy(
                        r -> r.path("source").path("name").asText(),
                        Collectors.mapping(r -> r.path("node").asText(), Collectors.toSet())));
                assertThat(nodesPerFile.values()).allSatisfy(nodes -> assertThat(nodes).hasSize(1));
                assertThat(records.stream().map(r -> r.path("node").asText()).collect(Collectors.toSet()))
                        .containsExactlyInAnyOrder("node-a", "node-b");
            }
        }
    }

    @Test
    void aFileWhoseReplicaIsKilledIsTakenOverAfterTheNodeTimeoutAndFinishedOnce() throws Exception {
        String url = databases.create();
        Path shared = folder.resolve("shared");
        long nodeTimeoutMs = 6_000;
        int rows = 30;
        try (ZapiStub zapi = new ZapiStub()) {
            zapi.stubFor(post(anyUrl()).willReturn(okJson("{\"zaapId\":\"Z\",\"messageId\":\"M\",\"id\":\"M\"}")
                    .withFixedDelay(1_000)));
            Map<String, String> settings = new HashMap<>(sharing(url, "node-killed", shared, nodeTimeoutMs));
            settings.putAll(zapi.moduleSettings());
            settings.put("zapi.data-dir", folder.resolve("killed").toString());
            settings.put("zapi.inbox.poll-delay-ms", "100");
            settings.put("zapi.inbox.settle-ms", "100");
            int managementPort = RunningModule.freePort();
            settings.put("camel.management.port", String.valueOf(managementPort));
            long killedAt;
            Set<String> inFlight;
            RunningModule survivor = null;
            try {
                try (ModuleProcess killed = ModuleProcess.start(settings, Map.of())) {
                    await().atMost(A_WHILE).pollInterval(Duration.ofMillis(200))
                            .until(() -> ModuleProcess.ready(managementPort) || !killed.isAlive());
                    assertThat(killed.isAlive()).as(killed.output()).isTrue();
                    drop(shared, "big.csv", csv(0, rows));
                    await().atMost(A_WHILE).failFast(() -> !killed.isAlive())
                            .until(() -> zapi.allRequests().size() >= 2);
                    // the other replica runs while the killed one reads the file: it must leave that file alone
                    survivor = RunningModule.start(zapi.baseUrl(), folder.resolve("survivor"),
                            sharing(url, "node-survivor", shared, nodeTimeoutMs));
                    await().atMost(A_WHILE).pollInterval(Duration.ofMillis(20)).failFast(() -> !killed.isAlive())
                            .until(() -> zapi.allRequests().size() >= 6);
                    killed.kill();
                    killedAt = System.nanoTime();
                    // called, and not recorded when the replica died: in flight (one, or two when the reading thread
                    // ran a row itself as the pool was busy)
                    inFlight = new java.util.TreeSet<>(callsPerPhone(zapi).keySet());
                    inFlight.removeAll(records(shared).stream().map(SharedInboxTest::phoneOf).toList());
                    assertThat(inFlight).isNotEmpty();
                }
                Path report = awaitReport(shared, "big.csv");
                assertThat(Duration.ofNanos(System.nanoTime() - killedAt).toMillis())
                        .as("taken over only once the killed replica's heartbeat is older than the node timeout")
                        .isGreaterThanOrEqualTo(nodeTimeoutMs * 2 / 3);
                JsonNode done = RunningModule.read(report);
                assertThat(done.path("state").asText()).isEqualTo("done");
                assertThat(done.path("requests").asInt()).isEqualTo(rows);
                assertThat(Reports.of(shared, "big.csv")).hasSize(1);
                assertThat(kept(shared, "big.csv")).hasSize(1);
                assertThat(Reports.prefix(kept(shared, "big.csv").get(0))).isEqualTo(Reports.prefix(report));
                assertThat(shared.resolve("inbox/big.csv")).doesNotExist();

                List<JsonNode> records = records(shared);
                assertThat(records.stream().collect(Collectors.groupingBy(r -> r.path("source").path("index").asInt(),
                        Collectors.counting()))).hasSize(rows).allSatisfy((row, count) -> assertThat(count)
                        .as("records of row %d", row).isEqualTo(1));
                List<JsonNode> failed = records.stream().filter(r -> r.path("outcome").asText().equals("failed"))
                        .toList();
                assertThat(failed.stream().map(SharedInboxTest::phoneOf).collect(Collectors.toSet()))
                        .isEqualTo(inFlight);
                assertThat(failed).allSatisfy(record -> {
                    assertThat(record.path("error").asText()).contains("may have been placed");
                    assertThat(record.path("node").asText()).isEqualTo("node-survivor");
                });
                assertThat(records).filteredOn(r -> r.path("outcome").asText().equals("success"))
                        .hasSize(rows - inFlight.size());
                assertThat(records.stream().map(r -> r.path("node").asText()).collect(Collectors.toSet()))
                        .containsExactlyInAnyOrder("node-killed", "node-survivor");
                assertThat(callsPerPhone(zapi)).hasSize(rows).allSatisfy((phone, calls) -> assertThat(calls)
                        .as("calls to %s", phone).isEqualTo(1));
            } finally {
                if (survivor != null) {
                    survivor.close();
                }
            }
        }
    }

    /** One replica's settings: its own data folder elsewhere, the shared inbox, outbox and ledger. */
    private static Map<String, String> sharing(String url, String nodeId, Path shared, long nodeTimeoutMs) {
        Map<String, String> settings = new HashMap<>(PostgresDatabases.replica(url, nodeId));
        settings.put("zapi.inbox-dir", shared.resolve("inbox").toString());
        settings.put("zapi.outbox-dir", shared.resolve("outbox").toString());
        settings.put("zapi.ledger.node-timeout-ms", String.valueOf(nodeTimeoutMs));
        settings.put("zapi.concurrency", "1");
        return settings;
    }

    private static String csv(int first, int rows) {
        return Stream.concat(Stream.of("phone"), IntStream.range(first, first + rows).mapToObj(SharedInboxTest::phone))
                .collect(Collectors.joining("\n")) + "\n";
    }

    private static String phone(int row) {
        return "55719%08d".formatted(row);
    }

    private static void drop(Path shared, String name, String content) throws IOException {
        Path inbox = Files.createDirectories(shared.resolve("inbox"));
        Path part = inbox.resolve(name + ".part");
        Files.writeString(part, content);
        Files.move(part, inbox.resolve(name), java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }

    private static Path awaitReport(Path shared, String name) {
        await().atMost(A_WHILE).pollInterval(Duration.ofMillis(200)).until(() -> Files.isDirectory(
                shared.resolve("outbox/reports")) && Reports.ended(shared, name));
        return Reports.of(shared, name).get(0);
    }

    private static List<Path> kept(Path shared, String name) throws IOException {
        Path done = shared.resolve("inbox/.done");
        if (!Files.isDirectory(done)) {
            return List.of();
        }
        try (Stream<Path> files = Files.list(done)) {
            return files.filter(f -> f.getFileName().toString().endsWith("-" + name)).toList();
        }
    }

    private static List<JsonNode> records(Path shared) {
        return RunningModule.recordFiles(shared.resolve("outbox")).stream().map(RunningModule::read).toList();
    }

    private static String phoneOf(JsonNode record) {
        return record.path("request").path("phone").asText();
    }

    private static Map<String, Long> callsPerPhone(ZapiStub zapi) {
        return zapi.allRequests().stream().map(request -> {
            try {
                return Json.MAPPER.readTree(request.getBodyAsString()).path("phone").asText();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }).collect(Collectors.groupingBy(Function.identity(), Collectors.counting()));
    }
}
