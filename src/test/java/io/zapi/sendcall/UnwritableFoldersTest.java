package io.zapi.sendcall;

import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import org.apache.camel.builder.NotifyBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import io.zapi.sendcall.pipeline.Json;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * An outcome folder that cannot take a record: a full file system (a real tmpfs, filled up) or a read-only one (a real
 * read-only bind mount; chmod does not stop root). A placed call keeps its outcome, its record is written once the
 * folder takes it again, nothing is called twice, no temporary file is left behind and no answer shows a path.
 */
class UnwritableFoldersTest {

    @TempDir
    Path dataDir;

    @RegisterExtension
    final Mounts mounts = new Mounts();

    @Test
    void aPlacedCallWhoseRecordCannotBeWrittenStaysPlacedAndIsRecordedOnceThereIsRoom() throws Exception {
        Path success = Files.createDirectories(dataDir.resolve("outbox/success"));
        mounts.tmpfs(success, "64k");
        Path filler = success.resolve("filler");
        Mounts.fill(filler);
        Path reports = Files.createDirectories(dataDir.resolve("outbox/reports"));
        mounts.tmpfs(reports, "64k");
        Path reportFiller = reports.resolve("filler");
        Mounts.fill(reportFiller);
        try (ZapiStub zapi = new ZapiStub(); RunningModule module = RunningModule.start(zapi.baseUrl(), dataDir,
                Map.of("zapi.records.retry-delay-ms", "200"))) {
            HttpResponse<String> answer = module.post("{\"phone\": \"5561955550001\", \"id\": \"full-1\"}");

            assertThat(answer.statusCode()).isEqualTo(200);
            JsonNode placed = Json.MAPPER.readTree(answer.body());
            assertThat(placed.path("outcome").asText()).isEqualTo("success");
            assertThat(placed.path("response").path("zaapId").asText()).isEqualTo(ZapiStub.ZAAP_ID);
            assertThat(placed.path("recordPending").asText()).contains("No space left on device");
            assertThat(answer.body()).doesNotContain(dataDir.toString()).doesNotContain("/tmp/");

            // an inbox file while the disk is full (its report's too): every row is called once, the file is done,
            // not read again and again
            NotifyBuilder polls = new NotifyBuilder(module.context()).fromRoute("inbox-files").whenDone(1).create();
            module.drop("while-full.jsonl", "{\"phone\": \"5561955550002\"}\n{\"phone\": \"5561955550003\"}\n");
            await().atMost(Duration.ofSeconds(20)).until(() -> module.kept(".done", "while-full.jsonl").size() == 1);
            assertThat(polls.matches(5, TimeUnit.SECONDS)).isTrue();
            assertThat(hiddenFiles(reports)).as("temporary report files left behind").isEmpty();

            // the same id again: a duplicate of the placed call, not another call
            HttpResponse<String> again = module.post("{\"phone\": \"5561955550001\", \"id\": \"full-1\"}");
            assertThat(again.statusCode()).isEqualTo(409);
            assertThat(Json.MAPPER.readTree(again.body()).path("duplicateOf").asText())
                    .isEqualTo(placed.path("correlationId").asText());

            assertThat(hiddenFiles(success)).as("temporary files left behind").isEmpty();

            Files.delete(filler);
            JsonNode record = await().atMost(Duration.ofSeconds(20)).until(
                    () -> recordIn(success, placed.path("correlationId").asText()), r -> r != null);
            assertThat(record.path("outcome").asText()).isEqualTo("success");
            assertThat(record.has("recordPending")).isFalse();
            await().atMost(Duration.ofSeconds(20)).until(() -> module.recordsOf("while-full.jsonl").size() == 2);
            Files.delete(reportFiller);
            assertThat(Reports.awaitReport(dataDir, "while-full.jsonl").path("requests").asInt()).isEqualTo(2);
            assertThat(module.recordsOf("while-full.jsonl")).extracting(r -> r.path("outcome").asText())
                    .containsOnly("success");
            assertThat(zapi.allRequests()).hasSize(3);
            assertThat(module.allRecords()).hasSize(4);
        }
    }

    @Test
    void aReadOnlyOutcomeFolderKeepsTheOutcomeAndShowsNoPath() throws Exception {
        Path failed = Files.createDirectories(dataDir.resolve("outbox/failed"));
        mounts.readOnly(failed);
        try (ZapiStub zapi = new ZapiStub(); RunningModule module = RunningModule.start(zapi.baseUrl(), dataDir,
                Map.of("zapi.records.retry-delay-ms", "200"))) {
            zapi.answer("5561955550009", aResponse().withStatus(500));

            HttpResponse<String> answer = module.post("{\"phone\": \"5561955550009\"}");

            assertThat(answer.statusCode()).isEqualTo(502);
            JsonNode record = Json.MAPPER.readTree(answer.body());
            assertThat(record.path("outcome").asText()).isEqualTo("failed");
            assertThat(record.path("status").asInt()).isEqualTo(500);
            assertThat(record.path("recordPending").asText()).contains("Read-only file system");
            assertThat(answer.body()).doesNotContain(dataDir.toString());
            assertThat(zapi.allRequests()).hasSize(1);

            mounts.writable(failed);
            JsonNode written = await().atMost(Duration.ofSeconds(20)).until(
                    () -> recordIn(failed, record.path("correlationId").asText()), r -> r != null);
            assertThat(written.path("outcome").asText()).isEqualTo("failed");
            assertThat(zapi.allRequests()).hasSize(1);
        }
    }

    @Test
    void anOriginalThatCannotBeMovedIsNotReadAgainAndMovesOnceItCan() throws Exception {
        Path done = Files.createDirectories(dataDir.resolve("inbox/.done"));
        mounts.readOnly(done);
        try (ZapiStub zapi = new ZapiStub(); RunningModule module = RunningModule.start(zapi.baseUrl(), dataDir,
                Map.of("zapi.inbox.settle-ms", "0"))) {
            module.drop("stuck.jsonl", "{\"phone\": \"5561955550021\"}\n{\"phone\": \"5561955550022\"}\n");
            module.awaitRecords("stuck.jsonl", 2);

            // the file is taken again at every poll while it cannot be moved: its rows are not read again. Counted
            // once its rows are recorded: a row's exchanges (and their enrich copies) also end as done
            NotifyBuilder polls = new NotifyBuilder(module.context()).fromRoute("inbox-files").whenDone(3).create();
            assertThat(polls.matches(30, TimeUnit.SECONDS)).isTrue();
            assertThat(module.recordsOf("stuck.jsonl")).hasSize(2);
            assertThat(zapi.allRequests()).hasSize(2);

            mounts.writable(done);
            await().atMost(Duration.ofSeconds(20)).until(() -> module.kept(".done", "stuck.jsonl").size() == 1);
            assertThat(module.recordsOf("stuck.jsonl")).extracting(r -> r.path("outcome").asText())
                    .containsExactly("success", "success");
            assertThat(zapi.allRequests()).hasSize(2);
        }
    }

    private static List<Path> hiddenFiles(Path folder) throws IOException {
        try (Stream<Path> files = Files.list(folder)) {
            return files.filter(f -> f.getFileName().toString().startsWith(".")).toList();
        }
    }

    private static JsonNode recordIn(Path folder, String correlationId) {
        Path record = folder.resolve(correlationId + ".json");
        return Files.exists(record) ? RunningModule.read(record) : null;
    }
}
