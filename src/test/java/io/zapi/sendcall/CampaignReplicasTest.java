package io.zapi.sendcall;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import org.slf4j.LoggerFactory;

import io.zapi.sendcall.inbox.FileReport;
import io.zapi.sendcall.pipeline.Json;

import static io.zapi.sendcall.FilesApiTest.API_KEY;
import static io.zapi.sendcall.FilesApiTest.file;
import static io.zapi.sendcall.FilesApiTest.post;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Campaigns (issue 13) on two replicas sharing one PostgreSQL ledger, one inbox and one outbox: GET /files, pause,
 * resume and cancel work from either replica whichever read the file; rows waiting for their notBefore are called once
 * each though both replicas poll them, and by the other replica when the one that read their file is gone; one opt-out
 * list file (the same path for both) is applied by both.
 */
@Tag("replicas")
class CampaignReplicasTest {

    private static final Duration A_WHILE = Duration.ofSeconds(90);

    @TempDir
    Path folder;

    @RegisterExtension
    static final PostgresDatabases databases = new PostgresDatabases();

    @Test
    void aFileIsWatchedPausedResumedAndCancelledThroughEitherReplica() throws Exception {
        String url = databases.create();
        Path shared = folder.resolve("shared");
        int rows = 60;
        try (ZapiStub zapi = new ZapiStub();
             RunningModule a = RunningModule.start(zapi.baseUrl(), folder.resolve("a"), sharing(url, "node-a", shared));
             RunningModule b = RunningModule.start(zapi.baseUrl(), folder.resolve("b"), sharing(url, "node-b", shared))) {
            drop(shared, "campaign.csv", longRows(rows));

            // the replica that read it says so in its first record; the other one is asked about it
            String reader = await().atMost(A_WHILE).until(() -> records(shared), r -> !r.isEmpty()).get(0)
                    .path("node").asText();
            RunningModule readingReplica = "node-a".equals(reader) ? a : b;
            RunningModule other = readingReplica == a ? b : a;

            JsonNode first = await().atMost(A_WHILE).until(() -> file(other, "campaign.csv"),
                    f -> f != null && f.path("requests").asInt() >= 1);
            String name = first.path("name").asText();
            assertThat(first.path("state").asText()).isEqualTo("running");
            double progressBefore = first.path("progress").asDouble();
            await().atMost(A_WHILE).until(() -> file(other, "campaign.csv").path("progress").asDouble(),
                    progress -> progress > progressBefore);

            assertThat(post(other, "/files/" + name + "/pause", API_KEY).statusCode()).isEqualTo(200);
            // the reading replica sees the pause: its rows wait, and once all are read no call is placed any more
            await().atMost(A_WHILE).until(() -> file(other, "campaign.csv"),
                    f -> "paused".equals(f.path("state").asText()) && f.path("waiting").asInt() > 0
                         && f.path("waiting").asInt() + f.path("outcomes").path("success").asInt() == rows);
            int calledWhenPaused = zapi.allRequests().size();
            assertThat(calledWhenPaused).isLessThan(rows);
            await().during(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(10))
                    .until(() -> zapi.allRequests().size() == calledWhenPaused);

            Set<String> beforeResume = records(shared).stream().map(r -> r.path("correlationId").asText())
                    .collect(Collectors.toSet());
            assertThat(post(readingReplica, "/files/" + name + "/resume", API_KEY).statusCode()).isEqualTo(200);
            await().atMost(A_WHILE).until(() -> zapi.allRequests().size() >= calledWhenPaused + 3);

            // the waiting rows go on on whichever replica took them: cancelled through the other one, a resume sent
            // right after to the replica running them finds the file cancelled for good
            String runner = records(shared).stream().filter(r -> !beforeResume.contains(r.path("correlationId").asText()))
                    .collect(Collectors.groupingBy(r -> r.path("node").asText(), Collectors.counting())).entrySet()
                    .stream().max(Map.Entry.comparingByValue()).orElseThrow().getKey();
            RunningModule running = "node-a".equals(runner) ? a : b;
            RunningModule canceller = running == a ? b : a;
            assertThat(post(canceller, "/files/" + name + "/cancel", API_KEY).statusCode()).isEqualTo(200);
            HttpResponse<String> resumedAfterCancel = post(running, "/files/" + name + "/resume", API_KEY);
            assertThat(resumedAfterCancel.statusCode()).as(resumedAfterCancel.body()).isEqualTo(409);
            List<JsonNode> records = await().atMost(A_WHILE).until(() -> records(shared), r -> r.size() >= rows);
            JsonNode ended = await().atMost(A_WHILE).until(() -> file(readingReplica, "campaign.csv"),
                    f -> "cancelled".equals(f.path("state").asText()));
            int placed = zapi.allRequests().size();
            records = records(shared);
            assertThat(perRow(records)).hasSize(rows)
                    .allSatisfy((row, count) -> assertThat(count).as("records of row %s", row).isEqualTo(1));
            Map<String, Long> byOutcome = records.stream().collect(Collectors.groupingBy(
                    r -> r.path("outcome").asText(), Collectors.counting()));
            assertThat(byOutcome).containsOnlyKeys("success", "cancelled");
            assertThat(byOutcome.get("success")).isEqualTo(placed);
            assertThat(byOutcome.get("cancelled")).isEqualTo(rows - placed);
            assertThat(callsPerPhone(zapi)).hasSize(placed).allSatisfy((phone, calls) -> assertThat(calls).isEqualTo(1));
            assertThat(ended.path("outcomes").path("cancelled").asInt()).isEqualTo(rows - placed);
            assertThat(ended.path("waiting").asInt()).isZero();
            await().during(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(10))
                    .until(() -> zapi.allRequests().size() == placed);
            assertThat(post(other, "/files/" + name + "/resume", API_KEY).statusCode()).isEqualTo(409);
        }
    }

    @Test
    void rowsWaitingForTheirNotBeforeAreCalledOnceByEitherReplicaAndByTheOtherWhenTheReaderIsGone() throws Exception {
        String url = databases.create();
        Path shared = folder.resolve("shared");
        int later = 60;
        ListAppender<ILoggingEvent> reportLog = new ListAppender<>();
        Logger reportLogger = (Logger) LoggerFactory.getLogger(FileReport.class);
        reportLog.start();
        reportLogger.addAppender(reportLog);
        try (ZapiStub zapi = new ZapiStub();
             RunningModule a = RunningModule.start(zapi.baseUrl(), folder.resolve("a"), unpaced(url, "node-a", shared));
             RunningModule b = RunningModule.start(zapi.baseUrl(), folder.resolve("b"), unpaced(url, "node-b", shared))) {
            // both replicas poll the waiting rows, all due at once and called as fast as they go: each row is still
            // called once, and the file's report and entry end up counting every one of them, on both replicas
            drop(shared, "both.jsonl", laterRows("5511944410", later, Instant.now().plusSeconds(5)));
            List<JsonNode> records = await().atMost(A_WHILE).until(() -> recordsOf(shared, "both.jsonl"),
                    r -> r.size() == later + 1);
            await().during(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(10))
                    .until(() -> recordsOf(shared, "both.jsonl").size() == later + 1);
            assertThat(records).allSatisfy(r -> assertThat(r.path("outcome").asText()).isEqualTo("success"));
            assertThat(records.stream().filter(r -> r.path("source").path("index").asInt() > 1)
                    .map(r -> r.path("node").asText()).distinct()).containsExactlyInAnyOrder("node-a", "node-b");
            assertThat(perRow(recordsOf(shared, "both.jsonl"))).hasSize(later + 1)
                    .allSatisfy((row, count) -> assertThat(count).as("records of row %s", row).isEqualTo(1));
            assertThat(callsPerPhone(zapi)).hasSize(later + 1)
                    .allSatisfy((phone, calls) -> assertThat(calls).as("calls to %s", phone).isEqualTo(1));
            for (RunningModule replica : List.of(a, b)) {
                JsonNode entry = await().atMost(A_WHILE).until(() -> file(replica, "both.jsonl"),
                        f -> !"waiting".equals(f.path("state").asText()));
                assertThat(entry.path("state").asText()).isEqualTo("done");
                assertThat(entry.path("waiting").asInt()).isZero();
                assertThat(entry.path("outcomes").path("success").asInt()).isEqualTo(later + 1);
            }
            JsonNode report = RunningModule.read(Reports.of(shared, "both.jsonl").get(0));
            assertThat(report.path("state").asText()).isEqualTo("done");
            assertThat(report.path("waiting").asInt()).isZero();
            assertThat(report.path("outcomes").path("success").asInt()).isEqualTo(later + 1);
            // the two replicas rewrote the one report as their rows ended, one at a time: none got in the other's way
            synchronized (reportLog) {
                assertThat(reportLog.list).filteredOn(e -> e.getLevel() == Level.WARN)
                        .extracting(ILoggingEvent::getFormattedMessage).isEmpty();
            }

            // the replica that read the file stops before its rows are due: the other one calls them
            zapi.resetRequests();
            drop(shared, "orphaned.jsonl", laterRows("5511944420", later, Instant.now().plusSeconds(8)));
            JsonNode now = await().atMost(A_WHILE).until(() -> recordsOf(shared, "orphaned.jsonl"),
                    r -> !r.isEmpty()).get(0);
            RunningModule reader = "node-a".equals(now.path("node").asText()) ? a : b;
            RunningModule other = reader == a ? b : a;
            String otherNode = reader == a ? "node-b" : "node-a";
            await().atMost(A_WHILE).until(() -> file(other, "orphaned.jsonl"),
                    f -> f != null && f.path("waiting").asInt() == later);
            reader.close();
            List<JsonNode> called = await().atMost(A_WHILE).until(() -> recordsOf(shared, "orphaned.jsonl"),
                    r -> r.size() == later + 1);
            assertThat(called).allSatisfy(r -> assertThat(r.path("outcome").asText()).isEqualTo("success"));
            assertThat(called.stream().filter(r -> r.path("source").path("index").asInt() > 1))
                    .allSatisfy(r -> assertThat(r.path("node").asText()).isEqualTo(otherNode));
            assertThat(callsPerPhone(zapi)).hasSize(later + 1)
                    .allSatisfy((phone, calls) -> assertThat(calls).as("calls to %s", phone).isEqualTo(1));
            JsonNode done = await().atMost(A_WHILE).until(() -> file(other, "orphaned.jsonl"),
                    f -> "done".equals(f.path("state").asText()));
            assertThat(done.path("waiting").asInt()).isZero();
            assertThat(done.path("outcomes").path("success").asInt()).isEqualTo(later + 1);
        } finally {
            reportLogger.detachAppender(reportLog);
        }
    }

    @Test
    void rowsWaitingOnAReplicaKilledBeforeTheyAreDueAreCalledByTheOtherOnce() throws Exception {
        String url = databases.create();
        Path shared = folder.resolve("shared");
        int later = 6;
        try (ZapiStub zapi = new ZapiStub()) {
            Map<String, String> settings = new HashMap<>(sharing(url, "node-killed", shared));
            settings.putAll(zapi.moduleSettings());
            settings.put("zapi.data-dir", folder.resolve("killed").toString());
            settings.put("zapi.inbox.poll-delay-ms", "100");
            settings.put("zapi.inbox.settle-ms", "100");
            settings.put("zapi.ledger.node-timeout-ms", "3000");
            int httpPort = RunningModule.freePort();
            int managementPort = RunningModule.freePort();
            settings.put("camel.server.port", String.valueOf(httpPort));
            settings.put("camel.management.port", String.valueOf(managementPort));
            try (ModuleProcess killed = ModuleProcess.start(settings, Map.of())) {
                await().atMost(A_WHILE).pollInterval(Duration.ofMillis(200))
                        .until(() -> ModuleProcess.ready(managementPort) || !killed.isAlive());
                assertThat(killed.isAlive()).as(killed.output()).isTrue();
                // read by the one replica running: its row for now is called, the others wait in the ledger
                drop(shared, "killed.jsonl", laterRows("5511944430", later, Instant.now().plusSeconds(25)));
                await().atMost(A_WHILE).failFast(() -> !killed.isAlive())
                        .until(() -> filesAt(httpPort, "killed.jsonl"), f -> f != null && f.path("waiting").asInt() == later);
                try (RunningModule survivor = RunningModule.start(zapi.baseUrl(), folder.resolve("survivor"),
                        with(sharing(url, "node-survivor", shared), "zapi.ledger.node-timeout-ms", "3000"))) {
                    killed.kill();
                    assertThat(zapi.allRequests()).as("only the row for now was called before the kill").hasSize(1);
                    List<JsonNode> records = await().atMost(A_WHILE).until(() -> recordsOf(shared, "killed.jsonl"),
                            r -> r.size() == later + 1);
                    assertThat(records).allSatisfy(r -> assertThat(r.path("outcome").asText()).isEqualTo("success"));
                    assertThat(records.stream().filter(r -> r.path("source").path("index").asInt() > 1))
                            .allSatisfy(r -> assertThat(r.path("node").asText()).isEqualTo("node-survivor"));
                    assertThat(callsPerPhone(zapi)).hasSize(later + 1)
                            .allSatisfy((phone, calls) -> assertThat(calls).as("calls to %s", phone).isEqualTo(1));
                    JsonNode done = await().atMost(A_WHILE).until(() -> file(survivor, "killed.jsonl"),
                            f -> "done".equals(f.path("state").asText()));
                    assertThat(done.path("outcomes").path("success").asInt()).isEqualTo(later + 1);
                }
            }
        }
    }

    @Test
    void aNumberAddedToTheSharedOptOutListIsRejectedOnBothReplicas() throws Exception {
        String url = databases.create();
        Path shared = folder.resolve("shared");
        Path list = Files.createDirectories(folder.resolve("lists")).resolve("opt-out.txt");
        writeList(list, "5511933330001\n");
        String added = "5511933330002";
        try (ZapiStub zapi = new ZapiStub()) {
            Map<String, String> settings = new HashMap<>(sharing(url, "node-a", shared));
            settings.put("zapi.opt-out-file", list.toString());
            try (RunningModule a = RunningModule.start(zapi.baseUrl(), folder.resolve("a"), settings);
                 RunningModule b = RunningModule.start(zapi.baseUrl(), folder.resolve("b"),
                         with(settings, "zapi.node-id", "node-b"))) {
                // a probe number added with it, asked for on each replica until that replica has read the new list
                writeList(list, "5511933330001\n+55 11 93333-0003\n" + added + "\n");
                int[] probe = {0};
                for (RunningModule replica : List.of(a, b)) {
                    await().atMost(A_WHILE).until(() -> postWithKey(replica, "{\"phone\": \"5511933330003\", \"id\": "
                            + "\"probe-" + probe[0]++ + "\"}").statusCode() == 400);
                }
                for (RunningModule replica : List.of(a, b)) {
                    var answer = postWithKey(replica, "{\"phone\": \"" + added + "\", \"id\": \"added-"
                            + probe[0]++ + "\"}");
                    assertThat(answer.statusCode()).isEqualTo(400);
                    assertThat(answer.body()).contains("opted out");
                }
                drop(shared, "listed.csv", "phone\n" + added + "\n5511933330001\n5511933330009\n");
                List<JsonNode> rows = await().atMost(A_WHILE).until(() -> recordsOf(shared, "listed.csv"),
                        r -> r.size() == 3);
                Map<String, String> outcomeByPhone = rows.stream().collect(Collectors.toMap(
                        r -> r.path("request").path("phone").asText(), r -> r.path("outcome").asText()));
                assertThat(outcomeByPhone).containsEntry(added, "rejected").containsEntry("5511933330001", "rejected")
                        .containsEntry("5511933330009", "success");
                assertThat(zapi.requestsFor(added)).isEmpty();
                assertThat(zapi.requestsFor("5511933330001")).isEmpty();
            }
        }
    }

    /** One replica's settings: its own data folder, the shared inbox, outbox, ledger; Z-API paced at 4 calls/s. */
    private static Map<String, String> sharing(String url, String nodeId, Path shared) {
        Map<String, String> settings = new HashMap<>(PostgresDatabases.replica(url, nodeId));
        settings.putAll(FilesApiTest.slowSettings());
        settings.put("zapi.inbox-dir", shared.resolve("inbox").toString());
        settings.put("zapi.outbox-dir", shared.resolve("outbox").toString());
        return settings;
    }

    /** The same, Z-API called as fast as it goes, 8 calls at a time on each replica. */
    private static Map<String, String> unpaced(String url, String nodeId, Path shared) {
        Map<String, String> settings = new HashMap<>(sharing(url, nodeId, shared));
        settings.put("zapi.rate-limit", "0");
        settings.put("zapi.concurrency", "8");
        // a few rows per poll: both replicas take some of the rows due at once
        settings.put("zapi.waiting.batch-size", "4");
        return settings;
    }

    private static Map<String, String> with(Map<String, String> settings, String key, String value) {
        Map<String, String> changed = new HashMap<>(settings);
        changed.put(key, value);
        return changed;
    }

    /**
     * Rows with a long ignored column: the share of the file read (its progress), which runs up to 64 KiB ahead of the
     * rows, moves while the rows are called.
     */
    private static String longRows(int rows) {
        String note = "x".repeat(6000);
        return "phone,note\n" + IntStream.range(0, rows).mapToObj(i -> (5511955500000L + i) + "," + note)
                .collect(Collectors.joining("\n")) + "\n";
    }

    /** One row to call now (index 1), then rows (indexes 2...) not before the given time; phones prefix + 2 digits. */
    private static String laterRows(String prefix, int rows, Instant notBefore) {
        return "{\"phone\": \"" + prefix + "00\"}\n" + IntStream.rangeClosed(1, rows)
                .mapToObj(i -> "{\"phone\": \"%s%02d\", \"notBefore\": \"%s\"}".formatted(prefix, i, notBefore))
                .collect(Collectors.joining("\n")) + "\n";
    }

    private static java.net.http.HttpResponse<String> postWithKey(RunningModule module, String json)
            throws IOException, InterruptedException {
        var request = java.net.http.HttpRequest.newBuilder(FilesApiTest.uri(module, "/send-call"))
                .timeout(Duration.ofSeconds(30)).header("Content-Type", "application/json").header("X-API-Key", API_KEY)
                .POST(java.net.http.HttpRequest.BodyPublishers.ofString(json)).build();
        return java.net.http.HttpClient.newHttpClient().send(request,
                java.net.http.HttpResponse.BodyHandlers.ofString());
    }

    /** The GET /files entry of this original name on the module whose HTTP port this is, or null. */
    private static JsonNode filesAt(int httpPort, String originalName) throws IOException, InterruptedException {
        var request = java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + httpPort + "/files"))
                .timeout(Duration.ofSeconds(30)).header("X-API-Key", API_KEY).GET().build();
        HttpResponse<String> answer;
        try {
            answer = java.net.http.HttpClient.newHttpClient().send(request, HttpResponse.BodyHandlers.ofString());
        } catch (java.net.ConnectException e) {
            return null;
        }
        for (JsonNode file : Json.MAPPER.readTree(answer.body()).path("files")) {
            if (originalName.equals(file.path("originalName").asText())) {
                return file;
            }
        }
        return null;
    }

    private static void writeList(Path list, String content) throws IOException {
        Path part = list.resolveSibling("." + list.getFileName() + ".part");
        Files.writeString(part, content);
        Files.move(part, list, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    private static void drop(Path shared, String name, String content) throws IOException {
        Path inbox = Files.createDirectories(shared.resolve("inbox"));
        Path part = inbox.resolve(name + ".part");
        Files.writeString(part, content);
        Files.move(part, inbox.resolve(name), StandardCopyOption.ATOMIC_MOVE);
    }

    private static List<JsonNode> records(Path shared) {
        return RunningModule.recordFiles(shared.resolve("outbox")).stream().map(RunningModule::read).toList();
    }

    private static List<JsonNode> recordsOf(Path shared, String sourceName) {
        return records(shared).stream().filter(r -> sourceName.equals(r.path("source").path("name").asText()))
                .toList();
    }

    /** Records per row of a file ("name#index"). */
    private static Map<String, Long> perRow(List<JsonNode> records) {
        return records.stream().collect(Collectors.groupingBy(
                r -> r.path("source").path("name").asText() + "#" + r.path("source").path("index").asInt(),
                Collectors.counting()));
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
