package io.zapi.sendcall;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import org.apache.activemq.artemis.core.server.embedded.EmbeddedActiveMQ;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import io.zapi.sendcall.pipeline.Json;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * deploy/kubernetes/replicas/ run: two replicas as processes, each with the environment its pod would get (the
 * ConfigMap, the Secret, its node id from its pod name), only what points outside this machine replaced: the volumes by
 * folders, the PostgreSQL ledger by a database here, the Artemis broker by one in this JVM, Z-API by the sandbox. Both
 * become ready, and files dropped into the shared inbox are called once, recorded in the shared outbox by the pods.
 */
@Tag("replicas")
class KubernetesReplicasTest {

    private static final Duration A_WHILE = Duration.ofSeconds(120);
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @TempDir
    Path folder;

    @RegisterExtension
    static final PostgresDatabases databases = new PostgresDatabases();

    @Test
    void replicasWithTheVariantsSettingsShareTheInboxTheLedgerAndTheBroker() throws Exception {
        Map<String, List<JsonNode>> manifests = new HashMap<>();
        KubernetesManifestsTest.read(KubernetesManifestsTest.REPLICAS, manifests);
        JsonNode statefulSet = KubernetesManifestsTest.only(manifests, "StatefulSet");
        JsonNode container = statefulSet.path("spec").path("template").path("spec").path("containers").get(0);
        String ledgerUrl = databases.create();
        Path shared = folder.resolve("shared");
        int brokerPort = RunningModule.freePort();
        EmbeddedActiveMQ broker = HealthTest.externalBroker(brokerPort);
        List<String> pods = List.of(statefulSet.path("metadata").path("name").asText() + "-0",
                statefulSet.path("metadata").path("name").asText() + "-1");
        List<ModuleProcess> replicas = new ArrayList<>();
        List<Integer> managementPorts = new ArrayList<>();
        try {
            for (String pod : pods) {
                Map<String, String> environment = KubernetesManifestsTest.environment(manifests, container, pod);
                String sharedMount = KubernetesManifestsTest.mountHolding(container,
                        environment.get("ZAPI_INBOX_DIR")).path("mountPath").asText();
                // what the manifests point at, here: each a setting they must set
                Map<String, String> here = new HashMap<>();
                here.put("CAMEL_SERVER_PORT", String.valueOf(RunningModule.freePort()));
                here.put("CAMEL_MANAGEMENT_PORT", String.valueOf(RunningModule.freePort()));
                here.put("ZAPI_DATA_DIR", folder.resolve(pod).toString());
                for (String setting : List.of("ZAPI_INBOX_DIR", "ZAPI_OUTBOX_DIR")) {
                    here.put(setting, shared + environment.get(setting).substring(sharedMount.length()));
                }
                here.put("ZAPI_LEDGER_URL", ledgerUrl);
                here.put("ZAPI_LEDGER_USERNAME", PostgresDatabases.USER);
                here.put("ZAPI_LEDGER_PASSWORD", PostgresDatabases.PASSWORD);
                here.put("ZAPI_JMS_BROKER_URL", "tcp://127.0.0.1:" + brokerPort);
                assertThat(environment).containsKeys(here.keySet().toArray(String[]::new));
                environment.putAll(here);
                // the Secret's placeholder credentials never reach Z-API
                environment.put("ZAPI_SANDBOX", "true");
                managementPorts.add(Integer.parseInt(here.get("CAMEL_MANAGEMENT_PORT")));
                replicas.add(ModuleProcess.start(Map.of(), environment));
            }
            for (int replica = 0; replica < replicas.size(); replica++) {
                awaitReady(replicas.get(replica), managementPorts.get(replica));
            }

            int files = 4;
            int rows = 5;
            for (int file = 0; file < files; file++) {
                drop(shared, "batch-" + file + ".csv", csv(file * 100, rows));
            }
            for (int file = 0; file < files; file++) {
                String name = "batch-" + file + ".csv";
                await().atMost(A_WHILE).pollInterval(Duration.ofMillis(200)).until(() -> Files.isDirectory(
                        shared.resolve("outbox/reports")) && Reports.ended(shared, name));
                assertThat(RunningModule.read(Reports.of(shared, name).get(0)).path("state").asText())
                        .isEqualTo("done");
            }
            List<JsonNode> records = records(shared.resolve("outbox/success"));
            // one record per row, each by one of the pods, named by its pod name (the node id)
            Map<String, Long> perRow = records.stream().collect(Collectors.groupingBy(
                    r -> r.path("source").path("name").asText() + "#" + r.path("source").path("index").asInt(),
                    Collectors.counting()));
            assertThat(perRow).hasSize(files * rows).allSatisfy((row, count) -> assertThat(count)
                    .as("records of %s", row).isEqualTo(1));
            assertThat(records).allSatisfy(record -> assertThat(pods).contains(record.path("node").asText()));
            for (ModuleProcess replica : replicas) {
                assertThat(replica.isAlive()).as(replica.output()).isTrue();
                assertThat(replica.output()).doesNotContain(PostgresDatabases.PASSWORD);
            }
        } finally {
            for (ModuleProcess replica : replicas) {
                replica.close();
            }
            broker.stop();
        }
    }

    /** Readiness as the pod's readinessProbe asks it: every check UP, the shared ledger and the broker among them. */
    private static void awaitReady(ModuleProcess module, int managementPort) throws IOException {
        URI ready = URI.create("http://127.0.0.1:" + managementPort + "/observe/health/ready");
        HttpResponse<String> answer = await().atMost(A_WHILE).ignoreExceptionsInstanceOf(IOException.class)
                .until(() -> {
                    assertThat(module.isAlive()).as(module.output()).isTrue();
                    return HTTP.send(HttpRequest.newBuilder(ready).build(), HttpResponse.BodyHandlers.ofString());
                }, response -> response.statusCode() == 200);
        assertThat(Json.MAPPER.readTree(answer.body()).path("status").asText()).isEqualTo("UP");
    }

    private static String csv(int first, int rows) {
        return Stream.concat(Stream.of("phone"), IntStream.range(first, first + rows)
                .mapToObj(row -> "55719%08d".formatted(row))).collect(Collectors.joining("\n")) + "\n";
    }

    private static void drop(Path shared, String name, String content) throws IOException {
        Path inbox = Files.createDirectories(shared.resolve("inbox"));
        Path part = inbox.resolve(name + ".part");
        Files.writeString(part, content);
        Files.move(part, inbox.resolve(name), StandardCopyOption.ATOMIC_MOVE);
    }

    private static List<JsonNode> records(Path outcomeFolder) {
        try (Stream<Path> files = Files.list(outcomeFolder)) {
            return files.filter(f -> f.toString().endsWith(".json") && !f.getFileName().toString().startsWith("."))
                    .map(RunningModule::read).toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
