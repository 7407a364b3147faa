package io.zapi.sendcall;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.zapi.sendcall.pipeline.Json;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** No call twice: a re-dropped file, an id seen on another input, a restart in between. */
class IdempotencyTest {

    private static final String CSV = "phone,callDuration\n5561911110001,5\n5561911110002,6\n5561911110003,7\n";

    @TempDir
    Path dataDir;

    @Test
    void droppingTheSameFileTwicePlacesEachCallOnceAcrossARestart() {
        try (ZapiStub zapi = new ZapiStub()) {
            List<JsonNode> first;
            try (RunningModule module = RunningModule.start(zapi.baseUrl(), dataDir)) {
                module.drop("calls.csv", CSV);
                first = module.awaitRecords("calls.csv", 3);
                await().until(() -> module.kept(".done", "calls.csv"), f -> f.size() == 1);
            }
            try (RunningModule restarted = RunningModule.start(zapi.baseUrl(), dataDir)) {
                restarted.drop("calls.csv", CSV);

                List<JsonNode> all = restarted.awaitRecords("calls.csv", 6);
                List<JsonNode> duplicates = all.stream()
                        .filter(r -> r.path("outcome").asText().equals("duplicate")).toList();
                assertThat(duplicates).hasSize(3).allSatisfy(d -> {
                    assertThat(d.path("attempts").asInt()).isZero();
                    JsonNode original = first.stream().filter(f -> f.path("source").path("index").asInt()
                                                                   == d.path("source").path("index").asInt())
                            .findFirst().orElseThrow();
                    assertThat(d.path("duplicateOf").asText()).isEqualTo(original.path("correlationId").asText());
                    assertThat(d.path("correlationId").asText()).isNotEqualTo(original.path("correlationId").asText());
                });
                assertThat(restarted.outbox("duplicate").resolve(duplicates.get(0).path("correlationId").asText()
                                                                  + ".json")).exists();
            }
            for (String phone : List.of("5561911110001", "5561911110002", "5561911110003")) {
                assertThat(zapi.requestsFor(phone)).hasSize(1);
            }
        }
    }

    @Test
    void anIdSeenOnOneInputIsADuplicateOnAnother() throws Exception {
        try (ZapiStub zapi = new ZapiStub(); RunningModule module = RunningModule.start(zapi.baseUrl(), dataDir)) {
            module.drop("order.json", "{\"phone\": \"5561922220001\", \"id\": \"order-77\"}");
            JsonNode first = module.awaitRecord("order.json");
            assertThat(first.path("outcome").asText()).isEqualTo("success");

            String port = module.context().resolvePropertyPlaceholders("{{camel.server.port}}");
            HttpResponse<String> again = HttpClient.newHttpClient().send(
                    HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/send-call"))
                            .header("Content-Type", "application/json").header("Idempotency-Key", "order-77")
                            .POST(HttpRequest.BodyPublishers.ofString("{\"phone\": \"5561922220001\"}")).build(),
                    HttpResponse.BodyHandlers.ofString());

            assertThat(again.statusCode()).isEqualTo(409);
            JsonNode duplicate = Json.MAPPER.readTree(again.body());
            assertThat(duplicate.path("outcome").asText()).isEqualTo("duplicate");
            assertThat(duplicate.path("duplicateOf").asText()).isEqualTo(first.path("correlationId").asText());
            assertThat(duplicate.path("error").asText()).contains("id:order-77");
            assertThat(zapi.requestsFor("5561922220001")).hasSize(1);
        }
    }

    @Test
    void theSameIdTwiceInOneFileIsCalledOnce() {
        try (ZapiStub zapi = new ZapiStub(); RunningModule module = RunningModule.start(zapi.baseUrl(), dataDir)) {
            module.drop("twice.jsonl", "{\"phone\": \"5561933330001\", \"id\": \"same\"}\n"
                                       + "{\"phone\": \"5561933330001\", \"id\": \"same\"}\n");

            List<JsonNode> records = module.awaitRecords("twice.jsonl", 2);

            assertThat(records).extracting(r -> r.path("outcome").asText())
                    .containsExactlyInAnyOrder("success", "duplicate");
            assertThat(zapi.requestsFor("5561933330001")).hasSize(1);
        }
    }
}
