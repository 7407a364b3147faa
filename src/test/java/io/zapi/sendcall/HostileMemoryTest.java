package io.zapi.sendcall;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpRequest.BodyPublishers;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodyHandlers;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import jakarta.jms.BytesMessage;
import jakarta.jms.Connection;
import jakarta.jms.MessageProducer;
import jakarta.jms.Session;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Memory stays bounded: 20 MB single lines through every reader and a 20 MB JMS message, in the real main() as its own
 * process with a heap of 64 MB, which holding any of them a few times over would exhaust (the JVM is told to exit on
 * OutOfMemoryError, so it cannot limp on). Each is rejected with its reason and the module keeps serving.
 */
class HostileMemoryTest {

    static final int TWENTY_MB = 20 * 1024 * 1024;
    static final String HEAP = "-Xmx64m";

    @TempDir
    Path dataDir;

    @Test
    void twentyMegabyteInputsAreRejectedInA64MegabyteHeap() throws Exception {
        Path inbox = Files.createDirectories(dataDir.resolve("inbox"));
        String line = "{\"phone\": \"" + "5".repeat(TWENTY_MB) + "\"}";
        write(inbox, "line.jsonl", line + "\n{\"phone\": \"12\"}\n");
        write(inbox, "string.json", line);
        write(inbox, "row.csv", "phone\n" + "5".repeat(TWENTY_MB) + "\n");
        StringBuilder fields = new StringBuilder("[{\"phone\": \"12\"");
        for (int i = 0; fields.length() < TWENTY_MB; i++) {
            fields.append(", \"f").append(i).append("\": ").append(i);
        }
        write(inbox, "fields.json", fields.append("}, {\"phone\": \"13\"}]").toString());
        int httpPort = RunningModule.freePort();
        int jmsPort = RunningModule.freePort();
        Map<String, String> settings = Map.of("zapi.instance-id", RunningModule.INSTANCE_ID,
                "zapi.instance-token", RunningModule.INSTANCE_TOKEN, "zapi.client-token", RunningModule.CLIENT_TOKEN,
                "zapi.data-dir", dataDir.toString(), "zapi.inbox.poll-delay-ms", "100",
                "camel.server.port", String.valueOf(httpPort), "zapi.jms.embedded-port", String.valueOf(jmsPort));

        try (ZapiStub zapi = new ZapiStub();
             ModuleProcess module = ModuleProcess.start(List.of(HEAP, "-XX:+ExitOnOutOfMemoryError"),
                     withBaseUrl(settings, zapi.baseUrl()), Map.of())) {
            assertThat(records("line.jsonl", 2)).extracting(r -> r.path("error").asText())
                    .anyMatch(e -> e.equals("line 1 is longer than 1048576 bytes: it was skipped, not read"))
                    .anyMatch(e -> e.startsWith("phone must have 10 to 15 digits"));
            assertThat(records("string.json", 1).get(0).path("error").asText()).contains("String value length");
            assertThat(records("row.csv", 1).get(0).path("error").asText())
                    .contains("the row from line 2 is longer than 1048576 bytes");
            assertThat(records("fields.json", 2)).extracting(r -> r.path("error").asText())
                    .anyMatch(e -> e.startsWith("request is longer than 1048576 bytes"))
                    .anyMatch(e -> e.startsWith("phone must have 10 to 15 digits"));
            String messageId;
            try (Connection jms = JmsQueueTest.connect(jmsPort);
                 Session session = jms.createSession(false, Session.AUTO_ACKNOWLEDGE);
                 MessageProducer producer = session.createProducer(session.createQueue("send-call"))) {
                BytesMessage message = session.createBytesMessage();
                message.writeBytes(line.getBytes(StandardCharsets.UTF_8));
                producer.send(message);
                messageId = message.getJMSMessageID();
            }
            assertThat(records(messageId, 1).get(0).path("error").asText()).startsWith("request is too long");
            HttpResponse<String> tooLarge = post(httpPort, line);
            assertThat(tooLarge.statusCode()).isEqualTo(413);

            // and it keeps serving
            write(inbox, "good.json", "{\"phone\": \"5511966660001\"}");
            assertThat(records("good.json", 1).get(0).path("outcome").asText()).isEqualTo("success");
            assertThat(post(httpPort, "{\"phone\": \"5511966660002\"}").statusCode()).isEqualTo(200);
            assertThat(zapi.allRequests()).hasSize(2);
            assertThat(module.isAlive()).isTrue();
            assertThat(module.output()).doesNotContain("OutOfMemoryError");
        }
    }

    private List<JsonNode> records(String sourceName, int count) {
        return await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100))
                .until(() -> recordsOf(sourceName), r -> r.size() == count);
    }

    private List<JsonNode> recordsOf(String sourceName) throws IOException {
        if (!Files.isDirectory(dataDir.resolve("outbox"))) {
            return List.of();
        }
        try (Stream<Path> files = Files.walk(dataDir.resolve("outbox"))) {
            return files.filter(f -> !f.toString().contains("/reports/") && f.toString().endsWith(".json")
                                     && !f.getFileName().toString().startsWith("."))
                    .map(RunningModule::read)
                    .filter(r -> sourceName.equals(r.path("source").path("name").asText())).toList();
        } catch (java.io.UncheckedIOException e) {
            // a record renamed from its temporary name while the folder was walked: the next poll sees it
            return List.of();
        }
    }

    private static Map<String, String> withBaseUrl(Map<String, String> settings, String baseUrl) {
        var all = new java.util.HashMap<>(settings);
        all.put("zapi.base-url", baseUrl);
        return all;
    }

    private static HttpResponse<String> post(int port, String body) throws Exception {
        try {
            return HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                            URI.create("http://127.0.0.1:" + port + "/send-call"))
                    .header("Content-Type", "application/json").timeout(Duration.ofSeconds(30))
                    .POST(BodyPublishers.ofString(body)).build(), BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Written under a .part name, then renamed, as producers should. */
    private static void write(Path inbox, String name, String content) throws IOException {
        Path part = inbox.resolve(name + ".part");
        Files.writeString(part, content);
        Files.move(part, inbox.resolve(name));
    }
}
