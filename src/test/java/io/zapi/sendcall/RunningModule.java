package io.zapi.sendcall;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import org.apache.camel.CamelContext;
import org.apache.camel.main.Main;

import io.zapi.sendcall.jms.EmbeddedBroker;
import io.zapi.sendcall.pipeline.Json;
import io.zapi.sendcall.runtime.ModuleConfiguration;

import static org.awaitility.Awaitility.await;

/**
 * The module as it runs in production (routes/*.yaml, application.properties, ModuleConfiguration), started in this
 * JVM from the project root against a Z-API stand-in, with its data folders in a temporary directory.
 */
final class RunningModule implements AutoCloseable {

    static final String INSTANCE_ID = "test-instance-42";
    static final String INSTANCE_TOKEN = "INSTANCE-TOKEN-7f3a9c2e";
    static final String CLIENT_TOKEN = "CLIENT-TOKEN-b81d4e6f";
    static final String SEND_CALL_PATH = "/instances/" + INSTANCE_ID + "/token/" + INSTANCE_TOKEN + "/send-call";

    static final List<String> OUTCOMES = ModuleConfiguration.OUTCOMES;

    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private final Main main;
    private final Path dataDir;

    private RunningModule(Main main, Path dataDir) {
        this.main = main;
        this.dataDir = dataDir;
    }

    /** Starts the module against the given Z-API base URL; extra settings override the defaults. */
    static RunningModule start(String baseUrl, Path dataDir, Map<String, String> settings) {
        Map<String, String> overrides = new HashMap<>();
        overrides.put("zapi.base-url", baseUrl);
        overrides.put("zapi.instance-id", INSTANCE_ID);
        overrides.put("zapi.instance-token", INSTANCE_TOKEN);
        overrides.put("zapi.client-token", CLIENT_TOKEN);
        overrides.put("zapi.data-dir", dataDir.toString());
        overrides.put("zapi.inbox.poll-delay-ms", "100");
        // tests drop whole files (written, then renamed): a short settle keeps each drop from waiting a second
        overrides.put("zapi.inbox.settle-ms", "100");
        overrides.put("camel.server.port", String.valueOf(freePort()));
        overrides.put("camel.management.port", String.valueOf(freePort()));
        overrides.put("zapi.jms.embedded-port", String.valueOf(freePort()));
        overrides.putAll(settings);
        Main main = ZapiSendCall.newMain(overrides);
        try {
            main.start();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
        return new RunningModule(main, dataDir);
    }

    /** Starts the module in sandbox mode, with no Z-API settings at all. */
    static RunningModule startSandbox(Path dataDir) {
        return startSandbox(dataDir, Map.of());
    }

    /** Starts the module in sandbox mode, with no Z-API settings at all; extra settings override the defaults. */
    static RunningModule startSandbox(Path dataDir, Map<String, String> settings) {
        Map<String, String> overrides = new HashMap<>(Map.of("zapi.sandbox", "true",
                "zapi.data-dir", dataDir.toString(), "zapi.inbox.poll-delay-ms", "100", "zapi.inbox.settle-ms", "100",
                "camel.server.port", String.valueOf(freePort()),
                "camel.management.port", String.valueOf(freePort()),
                "zapi.jms.embedded-port", String.valueOf(freePort())));
        overrides.putAll(settings);
        Main main = ZapiSendCall.newMain(overrides);
        try {
            main.start();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
        return new RunningModule(main, dataDir);
    }

    static RunningModule start(String baseUrl, Path dataDir) {
        return start(baseUrl, dataDir, Map.of());
    }

    CamelContext context() {
        return main.getCamelContext();
    }

    Path dataDir() {
        return dataDir;
    }

    /** The embedded broker's TCP port. */
    /** The queue's consumers of this module: one per zapi.concurrency (each message its own transaction). */
    int jmsConsumers() {
        return Integer.parseInt(context().resolvePropertyPlaceholders("{{zapi.concurrency}}"));
    }

    int jmsPort() {
        return Integer.parseInt(context().resolvePropertyPlaceholders("{{zapi.jms.embedded-port}}"));
    }

    /** The embedded broker, or null when the module uses an external one. */
    EmbeddedBroker broker() {
        return context().hasService(EmbeddedBroker.class);
    }

    Path inbox() {
        return dataDir.resolve("inbox");
    }

    Path outbox(String outcome) {
        return dataDir.resolve("outbox").resolve(outcome);
    }

    /** Drops a file the way producers should: written under a .part name, then renamed. */
    void drop(String name, byte[] content) {
        try {
            Path part = inbox().resolve(name + ".part");
            Files.write(part, content);
            Files.move(part, inbox().resolve(name), StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    void drop(String name, String content) {
        drop(name, content.getBytes(StandardCharsets.UTF_8));
    }

    /** The records whose source name is the given file, waiting until there are {@code count} of them. */
    List<JsonNode> awaitRecords(String sourceName, int count) {
        return await().atMost(Duration.ofSeconds(20)).until(() -> recordsOf(sourceName), r -> r.size() == count);
    }

    JsonNode awaitRecord(String sourceName) {
        return awaitRecords(sourceName, 1).get(0);
    }

    /** Every record in every outcome folder, read from disk (files still under their hidden temp name excluded). */
    List<JsonNode> allRecords() {
        return recordFiles(dataDir.resolve("outbox")).stream().map(RunningModule::read).toList();
    }

    /**
     * The record files in every outcome folder under this outbox (one module's, or one shared by several), files still
     * under their hidden temp name excluded; an outcome folder not made yet has none.
     */
    static List<Path> recordFiles(Path outbox) {
        List<Path> records = new ArrayList<>();
        for (String outcome : OUTCOMES) {
            if (!Files.isDirectory(outbox.resolve(outcome))) {
                continue;
            }
            try (Stream<Path> files = Files.list(outbox.resolve(outcome))) {
                files.filter(f -> f.toString().endsWith(".json") && !f.getFileName().toString().startsWith("."))
                        .forEach(records::add);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return records;
    }

    /** The one record whose request carried this id, waiting for it. */
    JsonNode awaitRecordWithId(String id) {
        return await().atMost(Duration.ofSeconds(20)).until(
                () -> allRecords().stream().filter(r -> id.equals(r.path("id").asText())).toList(),
                r -> r.size() == 1).get(0);
    }

    List<JsonNode> recordsOf(String sourceName) {
        return allRecords().stream().filter(r -> sourceName.equals(r.path("source").path("name").asText())).toList();
    }

    /** The files in inbox/.done or inbox/.error whose name ends with the dropped name. */
    List<Path> kept(String folder, String name) {
        try (Stream<Path> files = Files.list(inbox().resolve(folder))) {
            return files.filter(f -> f.getFileName().toString().endsWith("-" + name)).toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** POSTs this JSON to the module's {@code /send-call} on loopback and returns its answer. */
    HttpResponse<String> post(String json) throws IOException, InterruptedException {
        String port = context().resolvePropertyPlaceholders("{{camel.server.port}}");
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/send-call"))
                .timeout(Duration.ofSeconds(60)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json)).build();
        return HTTP.send(request, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    }

    /** A loopback port nobody listens on right now. */
    /** Ports handed out in this JVM: a port closed again may be the system's next free one too. */
    private static final java.util.Set<Integer> HANDED_OUT = java.util.concurrent.ConcurrentHashMap.newKeySet();

    /**
     * A port free now and never handed out before in this JVM: the system may give a port it just gave (closed, not
     * bound yet) again, and two listeners of one test on one port (an HTTP client talking to a broker) hang it.
     */
    static int freePort() {
        while (true) {
            try (java.net.ServerSocket socket = new java.net.ServerSocket(0)) {
                if (HANDED_OUT.add(socket.getLocalPort())) {
                    return socket.getLocalPort();
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    static JsonNode read(Path file) {
        try {
            return Json.MAPPER.readTree(file.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() {
        main.stop();
    }
}
