package io.zapi.sendcall;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.dataformat.csv.CsvMapper;
import com.fasterxml.jackson.dataformat.csv.CsvSchema;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.okJson;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The results file of an inbox file ({@code outbox/results/<kept name>.results.csv|jsonl}): one entry per request in
 * the input's order, written while the file is read, kept across a resume and a re-drop, and its {@code event} filled
 * in when the call's event comes. The real module, Z-API as WireMock, real folders, a real CSV parser.
 */
class ResultsFileTest {

    static final String HEADER = "index,phone,id,outcome,correlationId,status,zaapId,error,event";
    private static final CsvMapper CSV = new CsvMapper();
    private static final String TOKEN = "results-webhook-token-5e1a9c";

    @TempDir
    static Path dataDir;
    static ZapiStub zapi;
    static RunningModule module;

    @BeforeAll
    static void start() {
        zapi = new ZapiStub();
        module = RunningModule.start(zapi.baseUrl(), dataDir, Map.of("zapi.webhook.token", TOKEN,
                "zapi.reports.progress-interval-ms", "200"));
    }

    @AfterAll
    static void stop() {
        module.close();
        zapi.close();
    }

    @Test
    void aCsvFileHasAHeaderThenOneLinePerRequestInItsOrderWithEveryOutcome() throws Exception {
        String earlier = "results-earlier-" + UUID.randomUUID();
        assertThat(module.post("{\"phone\":\"5511981000009\",\"id\":\"" + earlier + "\"}").statusCode())
                .isEqualTo(200);
        zapi.answer("5511981000003", aResponse().withStatus(500).withBody("{\"error\":\"boom\"}"));
        module.drop("mixed.csv", "phone;id\n+55 (11) 98100-0001;mixed-a-" + UUID.randomUUID() + "\nnot-a-phone;mixed-b\n"
                                 + "5511981000003;mixed-c-" + UUID.randomUUID() + "\n5511981000009;" + earlier + "\n");

        List<JsonNode> records = module.awaitRecords("mixed.csv", 4);
        Reports.awaitReport(dataDir, "mixed.csv");
        Path results = results("mixed.csv", ".results.csv");
        assertThat(Files.readString(results)).startsWith(HEADER + "\n");
        List<Map<String, String>> lines = csv(results);

        assertThat(lines).extracting(l -> l.get("index")).containsExactly("1", "2", "3", "4");
        assertThat(lines).extracting(l -> l.get("outcome"))
                .containsExactly("success", "rejected", "failed", "duplicate");
        assertThat(lines.get(0).get("phone")).as("normalised").isEqualTo("5511981000001");
        assertThat(lines.get(1).get("phone")).as("as given").isEqualTo("not-a-phone");
        assertThat(lines.get(0).get("status")).isEqualTo("200");
        assertThat(lines.get(0).get("zaapId")).isEqualTo(ZapiStub.ZAAP_ID);
        assertThat(lines.get(0).get("error")).isEmpty();
        assertThat(lines.get(1).get("id")).isEqualTo("mixed-b");
        assertThat(lines.get(1).get("error")).isNotEmpty();
        assertThat(lines.get(2).get("status")).isEqualTo("500");
        assertThat(lines.get(2).get("error")).isNotEmpty();
        assertThat(lines.get(3).get("id")).isEqualTo(earlier);
        assertThat(lines).allSatisfy(l -> assertThat(l.get("event")).isEmpty());
        for (Map<String, String> line : lines) {
            JsonNode record = records.stream()
                    .filter(r -> r.path("source").path("index").asText().equals(line.get("index"))).findFirst()
                    .orElseThrow();
            assertThat(line.get("correlationId")).isEqualTo(record.path("correlationId").asText());
            assertThat(line.get("outcome")).isEqualTo(record.path("outcome").asText());
        }
    }

    @Test
    void aJsonLinesFileHasOneObjectPerLineWithEveryColumn() throws Exception {
        module.drop("lines.jsonl", "{\"phone\":\"5511981000101\",\"id\":\"lines-a-" + UUID.randomUUID() + "\"}\n\n"
                                   + "{\"phone\":\"12\"}\nnot json\n");
        module.awaitRecords("lines.jsonl", 3);
        Reports.awaitReport(dataDir, "lines.jsonl");
        List<JsonNode> lines = jsonl(results("lines.jsonl", ".results.jsonl"));

        assertThat(lines).hasSize(3);
        assertThat(lines).allSatisfy(l -> assertThat(fieldNames(l)).containsExactly("index", "phone", "id", "outcome",
                "correlationId", "status", "zaapId", "error", "event"));
        assertThat(lines).extracting(l -> l.path("index").asInt()).as("the input's line numbers").containsExactly(1, 3, 4);
        assertThat(lines).extracting(l -> l.path("outcome").asText()).containsExactly("success", "rejected", "rejected");
        assertThat(lines.get(0).path("phone").asText()).isEqualTo("5511981000101");
        assertThat(lines.get(0).path("status").asInt()).isEqualTo(200);
        assertThat(lines.get(1).path("phone").asText()).isEqualTo("12");
        assertThat(lines.get(2).path("phone").isNull()).isTrue();
        assertThat(lines.get(2).path("error").asText()).contains("not valid JSON");
    }

    @Test
    void hostileValuesNeitherBreakTheFileNorRunAsFormulasNorShowASecret() throws Exception {
        String formula = "=HYPERLINK(\"http://x\",\"y\")";
        String broken = "a,\"b\";c\nd";
        String secret = "s-" + RunningModule.CLIENT_TOKEN;
        module.drop("hostile.csv", "phone,id\n5511981000201,\"" + formula.replace("\"", "\"\"") + "\"\n"
                                   + "5511981000202,\"" + broken.replace("\"", "\"\"") + "\"\n"
                                   + "+5511981000203x,\"" + secret + "\"\n@SUM(1),-1+1\n");
        module.awaitRecords("hostile.csv", 4);
        Reports.awaitReport(dataDir, "hostile.csv");
        Path results = results("hostile.csv", ".results.csv");
        String text = Files.readString(results);
        List<Map<String, String>> lines = csv(results);

        assertThat(lines).hasSize(4);
        assertThat(lines.get(0).get("id")).isEqualTo("'" + formula);
        assertThat(lines.get(1).get("id")).isEqualTo(broken);
        assertThat(lines.get(2).get("phone")).as("the raw value, as a text").isEqualTo("'+5511981000203x");
        assertThat(lines.get(3).get("phone")).isEqualTo("'@SUM(1)");
        assertThat(lines.get(3).get("id")).isEqualTo("'-1+1");
        assertThat(text).doesNotContain(RunningModule.CLIENT_TOKEN);
        assertThat(lines.get(2).get("id")).isEqualTo("s-****");
    }

    @Test
    void aLargeFileIsInItsOrderWhileItsRowsEndOutOfOrder() throws Exception {
        int rows = 400;
        List<String> phones = IntStream.rangeClosed(1, rows).mapToObj("55119820%05d"::formatted).toList();
        for (int i = 0; i < rows; i += 9) {
            // every ninth call is slow: the rows after it end first
            zapi.answer(phones.get(i), okJson("{\"zaapId\":\"slow\",\"messageId\":\"m\",\"id\":\"m\"}")
                    .withFixedDelay(300));
        }
        String run = UUID.randomUUID().toString();
        module.drop("large.csv", IntStream.range(0, rows).mapToObj(i -> phones.get(i) + ";large-" + run + "-" + i)
                .collect(Collectors.joining("\n", "phone;id\n", "\n")));
        Reports.awaitReport(dataDir, "large.csv");
        List<JsonNode> records = module.recordsOf("large.csv");
        List<Map<String, String>> lines = csv(results("large.csv", ".results.csv"));

        assertThat(lines).extracting(l -> Integer.parseInt(l.get("index")))
                .containsExactlyElementsOf(IntStream.rangeClosed(1, rows).boxed().toList());
        assertThat(lines).extracting(l -> l.get("phone")).containsExactlyElementsOf(phones);
        assertThat(lines).allSatisfy(l -> assertThat(l.get("outcome")).isEqualTo("success"));
        JsonNode slowFirst = byIndex(records, 1);
        JsonNode fastSecond = byIndex(records, 2);
        assertThat(fastSecond.path("timestamp").asText()).as("row 2 ended before row 1")
                .isLessThan(slowFirst.path("timestamp").asText());
    }

    @Test
    void linesAreWrittenWhileTheFileIsStillRead() throws Exception {
        String slow = "5511981000303";
        zapi.answer(slow, okJson("{\"zaapId\":\"z\",\"messageId\":\"m\",\"id\":\"m\"}").withFixedDelay(6000));
        module.drop("growing.csv", "phone\n5511981000301\n5511981000302\n" + slow + "\n");

        Path results = await().atMost(Duration.ofSeconds(30)).until(() -> resultsOrNull("growing.csv"),
                path -> path != null && csvLines(path) == 2);
        assertThat(Reports.ended(dataDir, "growing.csv")).as("the file is still read").isFalse();
        assertThat(csv(results)).extracting(l -> l.get("index")).containsExactly("1", "2");

        Reports.awaitReport(dataDir, "growing.csv");
        assertThat(csv(results)).extracting(l -> l.get("index")).containsExactly("1", "2", "3");
    }

    @Test
    void aFileResumedAfterAStopKeepsTheLinesOfItsRowsRecordedBefore(@TempDir Path ownDataDir) throws Exception {
        int rows = 200;
        try (ZapiStub slowZapi = new ZapiStub()) {
            slowZapi.stubFor(post(urlEqualTo(RunningModule.SEND_CALL_PATH)).atPriority(1)
                    .willReturn(okJson("{\"zaapId\":\"z\",\"messageId\":\"m\",\"id\":\"m\"}").withFixedDelay(200)));
            String run = UUID.randomUUID().toString();
            String content = IntStream.rangeClosed(1, rows).mapToObj(i -> "55619830%05d;resumed-%s-%d".formatted(i, run, i))
                    .collect(Collectors.joining("\n", "phone;id\n", "\n"));
            try (RunningModule first = RunningModule.start(slowZapi.baseUrl(), ownDataDir)) {
                first.drop("resumed.csv", content);
                await().atMost(Duration.ofSeconds(30)).until(() -> first.recordsOf("resumed.csv").size() >= 20);
            }
            int recordedBefore = countRecords(ownDataDir);
            assertThat(recordedBefore).isLessThan(rows);

            try (RunningModule second = RunningModule.start(slowZapi.baseUrl(), ownDataDir)) {
                Reports.awaitOne(ownDataDir, "resumed.csv");
                await().atMost(Duration.ofSeconds(30)).until(() -> second.kept(".done", "resumed.csv").size() == 1);
                String kept = second.kept(".done", "resumed.csv").get(0).getFileName().toString();
                List<Map<String, String>> lines = csv(ownDataDir.resolve("outbox/results").resolve(kept + ".results.csv"));
                List<JsonNode> records = second.recordsOf("resumed.csv");
                assertThat(records).hasSize(rows);

                assertThat(lines).extracting(l -> Integer.parseInt(l.get("index")))
                        .containsExactlyElementsOf(IntStream.rangeClosed(1, rows).boxed().toList());
                for (Map<String, String> line : lines) {
                    JsonNode record = byIndex(records, Integer.parseInt(line.get("index")));
                    assertThat(line.get("correlationId")).isEqualTo(record.path("correlationId").asText());
                    assertThat(line.get("outcome")).isEqualTo(record.path("outcome").asText());
                    assertThat(line.get("id")).isEqualTo(record.path("id").asText());
                }
            }
        }
    }

    @Test
    void aFileDroppedAgainGetsResultsOfItsOwnAndTheEarlierStayByteForByte() throws Exception {
        String content = "phone;id\n5511981000401;again-" + UUID.randomUUID() + "\n";
        module.drop("again.csv", content);
        Path firstReport = Reports.awaitOne(dataDir, "again.csv");
        Path firstResults = results("again.csv", ".results.csv");
        byte[] reportBytes = Files.readAllBytes(firstReport);
        byte[] resultsBytes = Files.readAllBytes(firstResults);

        module.drop("again.csv", content);
        await().atMost(Duration.ofSeconds(30)).until(() -> Reports.of(dataDir, "again.csv").size() == 2
                && !RunningModule.read(Reports.of(dataDir, "again.csv").get(1)).path("state").asText().equals("running")
                && module.kept(".done", "again.csv").size() == 2);
        List<Path> all = allResults("again.csv");
        assertThat(all).hasSize(2);
        assertThat(Files.readAllBytes(firstReport)).isEqualTo(reportBytes);
        assertThat(Files.readAllBytes(firstResults)).isEqualTo(resultsBytes);
        Path second = all.stream().filter(p -> !p.equals(firstResults)).findFirst().orElseThrow();
        assertThat(csv(second)).extracting(l -> l.get("outcome")).containsExactly("duplicate");
    }

    @Test
    void anAnsweredOrMissedCallFillsInTheEventOfItsLine() throws Exception {
        module.drop("called.csv", "phone;id\n5511981000501;called-a-" + UUID.randomUUID() + "\n5511981000502;called-b-"
                                  + UUID.randomUUID() + "\n5511981000503;called-c-" + UUID.randomUUID() + "\n");
        module.awaitRecords("called.csv", 3);
        Reports.awaitReport(dataDir, "called.csv");
        Path results = results("called.csv", ".results.csv");
        List<Map<String, String>> before = csv(results);

        CallEventsTest.postEvent(module, TOKEN, CallEventsTest.event("5511981000501", "CALL_VOICE",
                UUID.randomUUID().toString().replace("-", ""), System.currentTimeMillis()));
        CallEventsTest.postEvent(module, TOKEN, CallEventsTest.event("5511981000503", "CALL_MISSED_VOICE",
                UUID.randomUUID().toString().replace("-", ""), System.currentTimeMillis()));

        List<Map<String, String>> after = await().atMost(Duration.ofSeconds(30)).until(() -> csv(results),
                lines -> lines.get(0).get("event").equals("answered") && lines.get(2).get("event").equals("missed"));
        assertThat(after.get(1)).isEqualTo(before.get(1));
        Map<String, String> answered = new HashMap<>(after.get(0));
        answered.put("event", "");
        assertThat(answered).as("only its event changed").isEqualTo(before.get(0));
        try (var files = Files.list(results.getParent())) {
            assertThat(files.filter(f -> f.getFileName().toString().startsWith("."))).as("no temporary file left")
                    .isEmpty();
        }
    }

    @Test
    void retentionPurgesOldResultsFiles(@TempDir Path ownDataDir) throws Exception {
        Path folder = Files.createDirectories(ownDataDir.resolve("outbox/results"));
        Path old = Files.writeString(folder.resolve("20200101-000000000-old.csv.results.csv"), HEADER + "\n");
        Files.setLastModifiedTime(old, FileTime.from(Instant.now().minus(Duration.ofDays(40))));
        Path recent = Files.writeString(folder.resolve("20200101-000000000-recent.csv.results.csv"), HEADER + "\n");
        try (RunningModule retaining = RunningModule.start(zapi.baseUrl(), ownDataDir,
                Map.of("zapi.retention.days", "30"))) {
            await().atMost(Duration.ofSeconds(30)).until(() -> !Files.exists(old));
            assertThat(recent).exists();
        }
    }

    private static JsonNode byIndex(List<JsonNode> records, int index) {
        return records.stream().filter(r -> r.path("source").path("index").asInt() == index).findFirst().orElseThrow();
    }

    private static int countRecords(Path ownDataDir) {
        return RunningModule.recordFiles(ownDataDir.resolve("outbox")).size();
    }

    /** The one results file of the one drop of this name, once that drop is moved to .done. */
    private static Path results(String name, String suffix) {
        List<Path> kept = await().atMost(Duration.ofSeconds(30)).until(() -> module.kept(".done", name),
                k -> k.size() == 1);
        Path results = dataDir.resolve("outbox/results").resolve(kept.get(0).getFileName() + suffix);
        assertThat(results).exists();
        return results;
    }

    private static Path resultsOrNull(String name) {
        List<Path> found = allResults(name);
        return found.size() == 1 ? found.get(0) : null;
    }

    private static List<Path> allResults(String name) {
        Path folder = dataDir.resolve("outbox/results");
        if (!Files.isDirectory(folder)) {
            return List.of();
        }
        try (var files = Files.list(folder)) {
            return files.filter(f -> f.getFileName().toString().matches("[0-9]{8}-[0-9]{9}-"
                    + java.util.regex.Pattern.quote(name) + "\\.results\\.(csv|jsonl)")).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static int csvLines(Path results) {
        return csv(results).size();
    }

    static List<Map<String, String>> csv(Path results) {
        try (MappingIterator<Map<String, String>> rows = CSV.readerForMapOf(String.class)
                .with(CsvSchema.emptySchema().withHeader()).readValues(results.toFile())) {
            return rows.readAll();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static List<JsonNode> jsonl(Path results) throws IOException {
        List<JsonNode> lines = new ArrayList<>();
        for (String line : Files.readAllLines(results, StandardCharsets.UTF_8)) {
            lines.add(io.zapi.sendcall.pipeline.Json.MAPPER.readTree(line));
        }
        return lines;
    }

    private static List<String> fieldNames(JsonNode node) {
        List<String> names = new ArrayList<>();
        node.fieldNames().forEachRemaining(names::add);
        return names;
    }
}
