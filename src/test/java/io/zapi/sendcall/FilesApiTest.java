package io.zapi.sendcall;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.zapi.sendcall.pipeline.Json;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * GET /files and POST /files/{name}/pause, /resume, /cancel on the running module: a slow file (Z-API paced at a few
 * calls a second) is listed with its progress; paused, no call is placed while its rows wait in the ledger, and it
 * stays paused across a restart; resumed, it goes on; cancelled, its remaining rows get cancelled records and are never
 * called, while calls in flight finish. Behind the API key; unknown names 404, ended files 409.
 */
class FilesApiTest {

    static final String API_KEY = "files-api-key-4c1d9e7a2b";
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    static Map<String, String> slowSettings() {
        return Map.of("zapi.http.api-key", API_KEY, "zapi.rate-limit", "4", "zapi.concurrency", "1",
                "zapi.reports.progress-interval-ms", "1000", "zapi.waiting.poll-ms", "200",
                // several batches of waiting rows in one poll (routes/waiting-rows)
                "zapi.waiting.batch-size", "5");
    }

    static String csv(String prefix, int rows) {
        return "phone,id\n" + IntStream.rangeClosed(1, rows)
                .mapToObj(i -> String.format("55119666%05d,%s-%d", i, prefix, i)).collect(Collectors.joining("\n"))
               + "\n";
    }

    @Test
    void aSlowFileIsListedPausedResumedAndCancelled(@TempDir Path dataDir) throws Exception {
        try (ZapiStub zapi = new ZapiStub(); RunningModule module = RunningModule.start(zapi.baseUrl(), dataDir,
                slowSettings())) {
            module.drop("campaign.csv", csv("c", 40));

            JsonNode listed = await().atMost(Duration.ofSeconds(20)).until(() -> file(module, "campaign.csv"),
                    f -> f != null && f.path("requests").asInt() >= 2);
            String name = listed.path("name").asText();
            assertThat(name).matches("\\d{8}-\\d{9}-campaign\\.csv");
            assertThat(listed.path("originalName").asText()).isEqualTo("campaign.csv");
            assertThat(listed.path("state").asText()).isEqualTo("running");
            assertThat(listed.path("report").asText()).isEqualTo(name + ".json");
            assertThat(listed.path("results").asText()).isEqualTo(name + ".results.csv");
            assertThat(listed.path("progress").asDouble()).isBetween(0.0, 1.0);

            HttpResponse<String> paused = post(module, "/files/" + name + "/pause", API_KEY);
            assertThat(paused.statusCode()).isEqualTo(200);
            assertThat(Json.MAPPER.readTree(paused.body()).path("state").asText()).isEqualTo("paused");
            // the read goes on, but its rows wait: once every row is read, no more calls come
            JsonNode waiting = await().atMost(Duration.ofSeconds(30)).until(() -> file(module, "campaign.csv"),
                    f -> f.path("waiting").asInt() > 0 && "paused".equals(f.path("state").asText())
                         && f.path("waiting").asInt() + f.path("outcomes").path("success").asInt() == 40);
            int calledWhenPaused = zapi.allRequests().size();
            assertThat(calledWhenPaused).isLessThan(40);
            await().during(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(5))
                    .until(() -> zapi.allRequests().size() == calledWhenPaused);
            assertThat(file(module, "campaign.csv").path("nextWindow").isNull()).isTrue();

            HttpResponse<String> resumed = post(module, "/files/" + name + "/resume", API_KEY);
            assertThat(resumed.statusCode()).isEqualTo(200);
            await().atMost(Duration.ofSeconds(20)).until(() -> zapi.allRequests().size() >= calledWhenPaused + 4);

            HttpResponse<String> cancelled = post(module, "/files/" + name + "/cancel", API_KEY);
            assertThat(cancelled.statusCode()).isEqualTo(200);
            assertThat(Json.MAPPER.readTree(cancelled.body()).path("state").asText()).isEqualTo("cancelling");

            List<JsonNode> records = module.awaitRecords("campaign.csv", 40);
            int placed = zapi.allRequests().size();
            Map<String, Long> byOutcome = records.stream().collect(Collectors.groupingBy(
                    r -> r.path("outcome").asText(), Collectors.counting()));
            assertThat(byOutcome.get("success")).isEqualTo(placed);
            assertThat(byOutcome.get("cancelled")).isEqualTo(40L - placed);
            JsonNode cancelledRecord = records.stream().filter(r -> "cancelled".equals(r.path("outcome").asText()))
                    .findFirst().orElseThrow();
            assertThat(cancelledRecord.path("error").asText()).contains("was cancelled");
            assertThat(module.outbox("cancelled").resolve(cancelledRecord.path("correlationId").asText() + ".json"))
                    .exists();
            assertThat(MetricsScrape.of(module).sum("zapi_requests_total", Map.of("outcome", "cancelled")))
                    .isEqualTo(40.0 - placed);

            JsonNode ended = await().atMost(Duration.ofSeconds(10)).until(() -> file(module, "campaign.csv"),
                    f -> "cancelled".equals(f.path("state").asText()));
            assertThat(ended.path("waiting").asInt()).isZero();
            assertThat(ended.path("outcomes").path("cancelled").asInt()).isEqualTo(40 - placed);
            JsonNode report = awaitReport(module, name + ".json",
                    r -> "cancelled".equals(r.path("state").asText()));
            assertThat(report.path("outcomes").path("success").asInt()).isEqualTo(placed);
            assertThat(report.path("requests").asInt()).isEqualTo(40);
            await().during(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(3))
                    .until(() -> zapi.allRequests().size() == placed);

            // the results file: every row once, in order, as its record ended
            Path results = module.dataDir().resolve("outbox/results").resolve(name + ".results.csv");
            List<Map<String, String>> lines = await().atMost(Duration.ofSeconds(15)).until(
                    () -> ResultsFileTest.csv(results), l -> l.stream().noneMatch(x -> "waiting".equals(x.get("outcome"))));
            assertThat(lines).hasSize(40);
            for (int i = 0; i < 40; i++) {
                Map<String, String> line = lines.get(i);
                assertThat(line.get("index")).isEqualTo(String.valueOf(i + 1));
                JsonNode record = records.stream().filter(r -> r.path("correlationId").asText()
                        .equals(line.get("correlationId"))).findFirst().orElseThrow();
                assertThat(record.path("outcome").asText()).isEqualTo(line.get("outcome"));
                assertThat(record.path("source").path("index").asInt()).isEqualTo(i + 1);
            }

            assertThat(post(module, "/files/" + name + "/resume", API_KEY).statusCode()).isEqualTo(409);
            assertThat(post(module, "/files/no-such-file.csv/pause", API_KEY).statusCode()).isEqualTo(404);
        }
    }

    @Test
    void aPausedFileStaysPausedAcrossARestart(@TempDir Path dataDir) throws Exception {
        String name;
        int calledBefore;
        try (ZapiStub zapi = new ZapiStub()) {
            try (RunningModule module = RunningModule.start(zapi.baseUrl(), dataDir, slowSettings())) {
                module.drop("restart.csv", csv("r", 20));
                name = await().atMost(Duration.ofSeconds(20)).until(() -> file(module, "restart.csv"),
                        f -> f != null && f.path("requests").asInt() >= 1).path("name").asText();
                assertThat(post(module, "/files/" + name + "/pause", API_KEY).statusCode()).isEqualTo(200);
                await().atMost(Duration.ofSeconds(30)).until(() -> file(module, "restart.csv"),
                        f -> "paused".equals(f.path("state").asText()) && f.path("waiting").asInt()
                             + f.path("outcomes").path("success").asInt() == 20);
                calledBefore = zapi.allRequests().size();
            }
            try (RunningModule module = RunningModule.start(zapi.baseUrl(), dataDir, slowSettings())) {
                JsonNode listed = await().atMost(Duration.ofSeconds(20)).until(() -> file(module, "restart.csv"),
                        f -> f != null);
                assertThat(listed.path("state").asText()).isEqualTo("paused");
                await().during(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(5))
                        .until(() -> zapi.allRequests().size() == calledBefore);
                assertThat(post(module, "/files/" + name + "/resume", API_KEY).statusCode()).isEqualTo(200);
                List<JsonNode> records = module.awaitRecords("restart.csv", 20);
                assertThat(records).allMatch(r -> "success".equals(r.path("outcome").asText()));
                assertThat(zapi.allRequests()).hasSize(20);
                JsonNode report = awaitReport(module, name + ".json",
                        r -> "done".equals(r.path("state").asText()));
                assertThat(report.path("outcomes").path("success").asInt()).isEqualTo(20);
                assertThat(report.path("waiting").asInt()).isZero();
                assertThat(report.path("progress").asDouble()).isEqualTo(1.0);
            }
        }
    }

    @Test
    void theFilesApiWantsTheApiKey(@TempDir Path dataDir) throws Exception {
        try (ZapiStub zapi = new ZapiStub(); RunningModule module = RunningModule.start(zapi.baseUrl(), dataDir,
                slowSettings())) {
            assertThat(get(module, "/files", null).statusCode()).isEqualTo(401);
            assertThat(get(module, "/files", "wrong-key-000000000").statusCode()).isEqualTo(401);
            assertThat(post(module, "/files/x.csv/pause", null).statusCode()).isEqualTo(401);
            HttpResponse<String> listed = get(module, "/files", API_KEY);
            assertThat(listed.statusCode()).isEqualTo(200);
            assertThat(listed.headers().firstValue("Content-Type")).hasValueSatisfying(
                    type -> assertThat(type).startsWith("application/json"));
            assertThat(Json.MAPPER.readTree(listed.body()).path("files").isArray()).isTrue();
            assertThat(listed.headers().firstValue("X-API-Key")).isEmpty();
            assertThat(listed.headers().firstValue("Cache-Control")).hasValue("no-store");
            // the OpenAPI document describes them, behind the API key
            JsonNode paths = Json.MAPPER.readTree(get(module, "/openapi.json", null).body()).path("paths");
            assertThat(paths.path("/files").path("get").path("security").toString()).contains("api-key");
            assertThat(paths.path("/files/{name}/{action}").path("post").path("responses").fieldNames())
                    .toIterable().contains("200", "401", "404", "409");
            // another method is answered 405 with the methods served
            assertThat(get(module, "/files/x.csv/pause", API_KEY).statusCode()).isEqualTo(405);
        }
    }

    /** The report of this name once it says what the condition wants. */
    static JsonNode awaitReport(RunningModule module, String reportName,
                                java.util.function.Predicate<JsonNode> condition) {
        Path report = module.dataDir().resolve("outbox/reports").resolve(reportName);
        return await().atMost(Duration.ofSeconds(30)).until(
                () -> java.nio.file.Files.exists(report) ? RunningModule.read(report) : null,
                r -> r != null && condition.test(r));
    }

    /** The entry of the file dropped under this name, or null while it is not listed. */
    static JsonNode file(RunningModule module, String originalName) throws IOException, InterruptedException {
        JsonNode files = Json.MAPPER.readTree(get(module, "/files", API_KEY).body()).path("files");
        for (JsonNode file : files) {
            if (originalName.equals(file.path("originalName").asText())) {
                return file;
            }
        }
        return null;
    }

    static HttpResponse<String> get(RunningModule module, String path, String key)
            throws IOException, InterruptedException {
        HttpRequest.Builder request = HttpRequest.newBuilder(uri(module, path)).timeout(Duration.ofSeconds(20)).GET();
        if (key != null) {
            request.header("X-API-Key", key);
        }
        return HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    }

    static HttpResponse<String> post(RunningModule module, String path, String key)
            throws IOException, InterruptedException {
        HttpRequest.Builder request = HttpRequest.newBuilder(uri(module, path)).timeout(Duration.ofSeconds(20))
                .POST(HttpRequest.BodyPublishers.noBody());
        if (key != null) {
            request.header("X-API-Key", key);
        }
        return HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    }

    static URI uri(RunningModule module, String path) {
        return URI.create("http://127.0.0.1:" + module.context().resolvePropertyPlaceholders("{{camel.server.port}}")
                          + path);
    }
}
