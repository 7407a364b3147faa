package io.zapi.sendcall;

import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

import io.zapi.sendcall.pipeline.Json;

import static com.github.tomakehurst.wiremock.client.WireMock.okJson;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The report of a long inbox file is rewritten while the file is read (state running, counts, progress, rate, eta)
 * and ends done, unreadable or interrupted; progress is logged at INFO, a file's rows at DEBUG.
 */
class FileProgressTest {

    /** Rows of about 2 KB (an ignored column pads them): the file is several times the readers' 64 KiB buffers. */
    private static final int ROWS = 150;
    private static final String PADDING = "x".repeat(2000);
    private static final String PROGRESS_LOG = "io.zapi.sendcall.inbox.FileReport";
    private static final String OUTCOME_LOG = "io.zapi.sendcall.outcome";

    @TempDir
    Path dataDir;
    private ZapiStub zapi;
    private final ListAppender<ILoggingEvent> log = new ListAppender<>();
    private final List<Logger> watched = new ArrayList<>();

    @BeforeEach
    void slowZapi() {
        zapi = new ZapiStub();
        // one call at a time, each taking 40 ms: the file takes several seconds, many report intervals
        zapi.stubFor(post(urlEqualTo(RunningModule.SEND_CALL_PATH)).atPriority(1)
                .willReturn(okJson("{\"zaapId\":\"z\",\"messageId\":\"m\",\"id\":\"m\"}").withFixedDelay(40)));
        log.start();
        for (String name : List.of(PROGRESS_LOG, OUTCOME_LOG)) {
            Logger logger = (Logger) LoggerFactory.getLogger(name);
            logger.addAppender(log);
            watched.add(logger);
        }
    }

    @AfterEach
    void stop() {
        watched.forEach(logger -> {
            logger.detachAppender(log);
            logger.setLevel(null);
        });
        zapi.close();
    }

    @Test
    void aLongFileIsReportedRunningWithGrowingCountsThenDone() throws Exception {
        List<JsonNode> seen;
        List<String> deleted = new ArrayList<>();
        try (RunningModule module = start();
             WatchService folder = FileSystems.getDefault().newWatchService()) {
            dataDir.resolve("outbox/reports").register(folder, StandardWatchEventKinds.ENTRY_DELETE);
            module.drop("long.csv", csv(ROWS, -1));
            seen = watchReport("long.csv", r -> r.path("state").asText().equals("done"));
            for (WatchKey key = folder.poll(); key != null; key = folder.poll()) {
                key.pollEvents().forEach(event -> deleted.add(String.valueOf(event.context())));
                key.reset();
            }
        }
        // each rewrite replaced the report in one rename: it was never deleted first, so never missing for a reader
        assertThat(seen.size()).isGreaterThan(2);
        assertThat(deleted).doesNotContain(Reports.awaitOne(dataDir, "long.csv").getFileName().toString());

        List<JsonNode> running = seen.stream().filter(r -> r.path("state").asText().equals("running")).toList();
        List<JsonNode> midway = running.stream()
                .filter(r -> r.path("progress").asDouble() > 0 && r.path("progress").asDouble() < 1).toList();
        assertThat(midway).as("running reports midway: %s", running).hasSizeGreaterThanOrEqualTo(2);
        assertThat(midway.get(midway.size() - 1).path("requests").asLong())
                .isGreaterThan(midway.get(0).path("requests").asLong());
        assertThat(midway).allSatisfy(r -> {
            assertThat(r.path("file").asText()).isEqualTo("long.csv");
            assertThat(r.path("finishedAt").isNull()).isTrue();
            assertThat(r.path("outcomes").path("success").asLong()).isEqualTo(r.path("requests").asLong());
        });
        // once rows have finished, a rate and an estimate (the whole file takes seconds, not minutes)
        assertThat(midway).filteredOn(r -> r.path("requests").asLong() > 0).isNotEmpty().allSatisfy(r -> {
            assertThat(r.path("rowsPerSecond").asDouble()).isPositive();
            assertThat(r.path("etaSeconds").asLong()).isBetween(0L, 120L);
        });
        for (int i = 1; i < seen.size(); i++) {
            assertThat(seen.get(i).path("progress").asDouble())
                    .isGreaterThanOrEqualTo(seen.get(i - 1).path("progress").asDouble());
            assertThat(seen.get(i).path("requests").asLong())
                    .isGreaterThanOrEqualTo(seen.get(i - 1).path("requests").asLong());
        }

        JsonNode done = seen.get(seen.size() - 1);
        assertThat(done.path("progress").asDouble()).isEqualTo(1.0);
        assertThat(done.path("requests").asLong()).isEqualTo(ROWS);
        assertThat(done.path("outcomes").path("success").asLong()).isEqualTo(ROWS);
        assertThat(done.path("etaSeconds").asLong()).isZero();
        assertThat(done.path("rowsPerSecond").asDouble()).isPositive();
        assertThat(done.path("unreadable").isNull()).isTrue();
        assertThat(done.path("finishedAt").isTextual()).isTrue();

        List<String> progressLines = lines(PROGRESS_LOG, Level.INFO);
        assertThat(progressLines).anySatisfy(line -> assertThat(line).startsWith("long.csv: running")
                .contains("% read").contains("success").contains("rows/s"));
        assertThat(progressLines).filteredOn(line -> line.startsWith("long.csv: done")).singleElement()
                .satisfies(line -> assertThat(line).contains(ROWS + " requests").contains("success " + ROWS));
        // a file's rows log at DEBUG: not one INFO line per row
        assertThat(lines(OUTCOME_LOG, Level.INFO)).isEmpty();
    }

    @Test
    void aFileStoppedMidwayIsReportedInterruptedThenResumedToDone() {
        try (RunningModule module = start()) {
            module.drop("stopped.csv", csv(ROWS, -1));
            watchReport("stopped.csv", r -> r.path("state").asText().equals("running")
                                            && r.path("requests").asLong() >= 5);
        }
        JsonNode interrupted = RunningModule.read(Reports.awaitOne(dataDir, "stopped.csv"));
        assertThat(interrupted.path("state").asText()).isEqualTo("interrupted");
        assertThat(interrupted.path("requests").asLong()).isBetween(5L, ROWS - 1L);
        assertThat(interrupted.path("progress").asDouble()).isStrictlyBetween(0.0, 1.0);
        assertThat(interrupted.path("unreadable").isNull()).isTrue();
        assertThat(dataDir.resolve("inbox/stopped.csv")).exists();
        assertThat(lines(PROGRESS_LOG, Level.INFO)).anySatisfy(line -> assertThat(line)
                .startsWith("stopped.csv: interrupted"));

        try (RunningModule module = start()) {
            List<JsonNode> seen = watchReport("stopped.csv", r -> r.path("state").asText().equals("done"));
            JsonNode done = seen.get(seen.size() - 1);
            assertThat(done.path("requests").asLong()).isEqualTo(ROWS);
            assertThat(done.path("outcomes").path("success").asLong()).isEqualTo(ROWS);
            assertThat(done.path("progress").asDouble()).isEqualTo(1.0);
            assertThat(module.recordsOf("stopped.csv")).hasSize(ROWS);
        }
        assertThat(Reports.of(dataDir, "stopped.csv")).hasSize(1);
    }

    @Test
    void aFileUnreadableMidwayIsReportedRunningThenUnreadable() {
        List<JsonNode> seen;
        try (RunningModule module = start()) {
            // bytes that are not UTF-8 in row 100: the CSV cannot be read past them
            module.drop("broken.csv", csv(ROWS, 100));
            seen = watchReport("broken.csv", r -> r.path("state").asText().equals("unreadable"));
            await().atMost(Duration.ofSeconds(30)).until(() -> module.kept(".error", "broken.csv").size() == 1);
        }
        assertThat(seen).anySatisfy(r -> assertThat(r.path("state").asText()).isEqualTo("running"));
        JsonNode unreadable = seen.get(seen.size() - 1);
        assertThat(unreadable.path("unreadable").asText()).contains("UTF-8");
        assertThat(unreadable.path("outcomes").path("success").asLong()).isEqualTo(99);
        assertThat(unreadable.path("outcomes").path("rejected").asLong()).isEqualTo(1);
        assertThat(unreadable.path("progress").asDouble()).isStrictlyBetween(0.0, 1.0);
        assertThat(unreadable.path("etaSeconds").isNull()).isTrue();
    }

    @Test
    void aFilesRowsLogAtDebugWhileAnHttpRequestLogsOneInfoLine() throws Exception {
        ((Logger) LoggerFactory.getLogger(OUTCOME_LOG)).setLevel(Level.DEBUG);
        try (RunningModule module = RunningModule.start(zapi.baseUrl(), dataDir)) {
            module.drop("few.jsonl", "{\"phone\": \"5561940000001\"}\n{\"phone\": \"5561940000002\"}\n"
                                     + "{\"phone\": \"12\"}\n");
            assertThat(Reports.awaitReport(dataDir, "few.jsonl").path("state").asText()).isEqualTo("done");
            HttpResponse<String> answer = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(
                            "http://127.0.0.1:" + module.context().resolvePropertyPlaceholders("{{camel.server.port}}")
                            + "/send-call")).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"phone\": \"5561940000003\"}")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(answer.statusCode()).isEqualTo(200);
        }

        assertThat(lines(OUTCOME_LOG, Level.DEBUG)).hasSize(3)
                .allSatisfy(line -> assertThat(line).contains("source=file:few.jsonl"));
        assertThat(lines(OUTCOME_LOG, Level.INFO)).singleElement()
                .satisfies(line -> assertThat(line).startsWith("success correlationId=").contains("source=http:"));
        assertThat(lines(PROGRESS_LOG, Level.INFO)).singleElement().satisfies(line -> assertThat(line)
                .startsWith("few.jsonl: done").contains("3 requests").contains("rejected 1").contains("success 2"));
    }

    private RunningModule start() {
        return RunningModule.start(zapi.baseUrl(), dataDir, Map.of("zapi.concurrency", "1",
                "zapi.reports.progress-interval-ms", "200"));
    }

    /**
     * Reads the file's report as often as it can until it matches, keeping every version seen. Once there, the report
     * never disappears and every read of it is whole JSON: it is replaced by a rename, never written in place.
     */
    private List<JsonNode> watchReport(String fileName, Predicate<JsonNode> until) {
        List<JsonNode> seen = new ArrayList<>();
        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(20)).until(() -> {
            List<Path> reports = Reports.of(dataDir, fileName);
            assertThat(reports.size() == 1 || seen.isEmpty()).as("the report disappeared").isTrue();
            if (reports.isEmpty()) {
                return false;
            }
            JsonNode report = Json.MAPPER.readTree(Files.readString(reports.get(0), StandardCharsets.UTF_8));
            if (seen.isEmpty() || !seen.get(seen.size() - 1).equals(report)) {
                seen.add(report);
            }
            return until.test(report);
        });
        return seen;
    }

    /** The messages this logger wrote at this level. */
    private List<String> lines(String logger, Level level) {
        return log.list.stream().filter(e -> e.getLoggerName().equals(logger) && e.getLevel() == level)
                .map(ILoggingEvent::getFormattedMessage).toList();
    }

    /** A CSV of rows, each padded by an ignored column; the row numbered badRow (if any) holds bytes not UTF-8. */
    private static byte[] csv(int rows, int badRow) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes("phone,note\n".getBytes(StandardCharsets.UTF_8));
        for (int row = 1; row <= rows; row++) {
            out.writeBytes(("5561940%06d,".formatted(row) + PADDING).getBytes(StandardCharsets.UTF_8));
            if (row == badRow) {
                out.writeBytes(new byte[] {(byte) 0xC3, (byte) 0x28});
            }
            out.write('\n');
        }
        return out.toByteArray();
    }
}
