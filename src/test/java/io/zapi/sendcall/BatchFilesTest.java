package io.zapi.sendcall;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.stream.IntStream;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** Files of many requests: JSON arrays, JSON lines, CSV; one record per request and one report per file. */
class BatchFilesTest {

    @RegisterExtension
    static final ModuleUnderTest app = new ModuleUnderTest();

    @Test
    void aCsvOfFiftyRowsGivesFiftyRecordsAndOneReport() {
        StringBuilder csv = new StringBuilder("phone,callDuration,id\n");
        IntStream.rangeClosed(1, 50).forEach(i -> csv.append("5511900%06d,%d,row-%d\n".formatted(i, i % 15 + 1, i)));

        app.module().drop("fifty.csv", csv.toString());

        List<JsonNode> records = app.module().awaitRecords("fifty.csv", 50);
        assertThat(records).allSatisfy(r -> assertThat(r.path("outcome").asText()).isEqualTo("success"));
        assertThat(records).extracting(r -> r.path("source").path("index").asInt())
                .containsExactlyInAnyOrderElementsOf(IntStream.rangeClosed(1, 50).boxed().toList());
        JsonNode row7 = records.stream().filter(r -> r.path("source").path("index").asInt() == 7).findFirst()
                .orElseThrow();
        assertThat(row7.path("id").asText()).isEqualTo("row-7");
        assertThat(row7.path("request").toString()).isEqualTo("{\"phone\":\"5511900000007\",\"callDuration\":8}");
        assertThat(app.zapi().requestsFor("5511900000007")).hasSize(1);
        JsonNode report = awaitReport("fifty.csv");
        assertThat(report.path("requests").asInt()).isEqualTo(50);
        assertThat(report.path("outcomes").path("success").asInt()).isEqualTo(50);
        assertThat(report.path("durationMs").asLong()).isNotNegative();
        assertThat(report.path("unreadable").isNull()).isTrue();
        await().until(() -> app.module().kept(".done", "fifty.csv"), f -> f.size() == 1);
    }

    @Test
    void csvFollowsRfc4180WithOrWithoutABom() {
        String csv = "\uFEFFid,phone,note,callDuration\r\n"
                     + "\"a, \"\"quoted\"\" ref\",\"+55 (21) 98888-0001\",\"line one\nline two\",\r\n"
                     + "b,5521988880002,,12\r\n";

        app.module().drop("quoted.csv", csv.getBytes(StandardCharsets.UTF_8));

        List<JsonNode> records = sorted(app.module().awaitRecords("quoted.csv", 2));
        assertThat(records.get(0).path("id").asText()).isEqualTo("a, \"quoted\" ref");
        assertThat(records.get(0).path("request").toString())
                .isEqualTo("{\"phone\":\"5521988880001\",\"callDuration\":5}");
        assertThat(records.get(1).path("request").toString())
                .isEqualTo("{\"phone\":\"5521988880002\",\"callDuration\":12}");
    }

    @Test
    void oneBadRowIsRejectedAloneAndTheOthersGoOn() {
        app.module().drop("mixed.json", "[{\"phone\": \"5531977770001\"}, {\"phone\": \"nope\"}, 42, {\"phone\": \"5531977770004\"}]");

        List<JsonNode> records = sorted(app.module().awaitRecords("mixed.json", 4));

        assertThat(records).extracting(r -> r.path("outcome").asText())
                .containsExactly("success", "rejected", "rejected", "success");
        assertThat(records.get(1).path("error").asText()).startsWith("phone must hold only the digits");
        assertThat(records.get(2).path("error").asText()).isEqualTo("request must be a JSON object, got the number 42");
        JsonNode report = awaitReport("mixed.json");
        assertThat(report.path("outcomes").path("success").asInt()).isEqualTo(2);
        assertThat(report.path("outcomes").path("rejected").asInt()).isEqualTo(2);
        await().until(() -> app.module().kept(".done", "mixed.json"), f -> f.size() == 1);
    }

    @Test
    void jsonLinesSkipBlankLinesAndRejectABadLineAlone() {
        app.module().drop("lines.jsonl", "{\"phone\": \"5541966660001\"}\n\n{\"phone\": \n  \n{\"phone\": \"5541966660005\", \"callDuration\": 2}\n");

        List<JsonNode> records = sorted(app.module().awaitRecords("lines.jsonl", 3));

        assertThat(records).extracting(r -> r.path("source").path("index").asInt()).containsExactly(1, 3, 5);
        assertThat(records).extracting(r -> r.path("outcome").asText()).containsExactly("success", "rejected", "success");
        assertThat(records.get(1).path("error").asText()).startsWith("line 3 is not valid JSON");
        assertThat(records.get(1).path("request").asText()).isEqualTo("{\"phone\": ");
        await().until(() -> app.module().kept(".done", "lines.jsonl"), f -> f.size() == 1);
    }

    @Test
    void ndjsonIsReadLikeJsonLines() {
        app.module().drop("events.ndjson", "{\"phone\": \"5541966660011\"}\n{\"phone\": \"5541966660012\"}");

        assertThat(app.module().awaitRecords("events.ndjson", 2))
                .allSatisfy(r -> assertThat(r.path("outcome").asText()).isEqualTo("success"));
    }

    @Test
    void aCsvWithoutAPhoneColumnIsRejectedWholeAndKeptInError() {
        app.module().drop("no-phone.csv", "number,callDuration\n5511999999999,5\n");

        JsonNode record = app.module().awaitRecord("no-phone.csv");

        assertThat(record.path("outcome").asText()).isEqualTo("rejected");
        assertThat(record.path("error").asText()).isEqualTo("CSV header has no phone column: found [number, callDuration]");
        await().until(() -> app.module().kept(".error", "no-phone.csv"), f -> f.size() == 1);
        assertThat(awaitReport("no-phone.csv").path("unreadable").asText()).startsWith("CSV header has no phone");
        assertThat(app.zapi().requestsFor("5511999999999")).isEmpty();
    }

    @Test
    void aTruncatedArrayKeepsWhatCameBeforeAndGoesToError() {
        app.module().drop("truncated.json", "[{\"phone\": \"5551955550001\"}, {\"phone\": \"5551955550002\"}, {\"phone\": ");

        List<JsonNode> records = sorted(app.module().awaitRecords("truncated.json", 3));

        assertThat(records).extracting(r -> r.path("outcome").asText()).containsExactly("success", "success", "rejected");
        assertThat(records.get(2).path("source").path("index").asInt()).isEqualTo(3);
        assertThat(records.get(2).path("error").asText()).startsWith("file is not valid JSON");
        await().until(() -> app.module().kept(".error", "truncated.json"), f -> f.size() == 1);
    }

    @Test
    void anEmptyArrayIsReportedWithNoRequests() {
        app.module().drop("empty.json", "[]");

        JsonNode report = awaitReport("empty.json");

        assertThat(report.path("requests").asInt()).isZero();
        await().until(() -> app.module().kept(".done", "empty.json"), f -> f.size() == 1);
    }

    @Test
    void aNameDroppedAgainGetsAReportOfItsOwnNamedAfterItsKeptOriginal() {
        app.module().drop("again.json", "{\"phone\": \"5561955550001\"}");
        Path first = Reports.awaitOne(app.module().dataDir(), "again.json");
        await().until(() -> app.module().kept(".done", "again.json"), f -> f.size() == 1);

        app.module().drop("again.json", "[{\"phone\": \"5561955550002\"}, {\"phone\": \"5561955550003\"}]");

        List<Path> reports = await().atMost(Duration.ofSeconds(20))
                .until(() -> Reports.of(app.module().dataDir(), "again.json"), r -> r.size() == 2);
        assertThat(reports).contains(first);
        assertThat(reports).extracting(r -> RunningModule.read(r).path("requests").asInt()).containsExactly(1, 2);
        List<Path> kept = await().until(() -> app.module().kept(".done", "again.json"), f -> f.size() == 2);
        // each report is named after its kept original: the same time prefix
        assertThat(kept).extracting(Reports::prefix).containsExactlyInAnyOrderElementsOf(
                reports.stream().map(Reports::prefix).toList());
        assertThat(kept.stream().map(k -> k.getFileName() + ".json").toList()).containsExactlyInAnyOrderElementsOf(
                reports.stream().map(r -> r.getFileName().toString()).toList());
    }

    @Test
    void csvFromABrazilianSpreadsheetIsRead() {
        // Excel in pt-BR saves ";"-separated files, with the header as the user typed it
        app.module().drop("planilha.csv", "Phone;CallDuration;ID\r\n5511977770001;7;pedido-1\r\n\"5511977770002\";3;\"a;b\"\r\n");
        app.module().drop("tabs.csv", "PHONE\tcallduration\tId\n5511977770003\t9\tt-1\n5511977770004\t\tt-2\n");

        List<JsonNode> planilha = sorted(app.module().awaitRecords("planilha.csv", 2));
        List<JsonNode> tabs = sorted(app.module().awaitRecords("tabs.csv", 2));

        assertThat(planilha).extracting(r -> r.path("outcome").asText()).containsExactly("success", "success");
        assertThat(planilha.get(0).path("request").toString()).isEqualTo("{\"phone\":\"5511977770001\",\"callDuration\":7}");
        assertThat(planilha.get(0).path("id").asText()).isEqualTo("pedido-1");
        assertThat(planilha.get(1).path("id").asText()).isEqualTo("a;b");
        assertThat(tabs.get(0).path("request").toString()).isEqualTo("{\"phone\":\"5511977770003\",\"callDuration\":9}");
        assertThat(tabs.get(0).path("id").asText()).isEqualTo("t-1");
        // an empty cell between two tabs is an absent value, not a separator to trim away
        assertThat(tabs.get(1).path("request").toString()).isEqualTo("{\"phone\":\"5511977770004\",\"callDuration\":5}");
        assertThat(tabs.get(1).path("id").asText()).isEqualTo("t-2");
        assertThat(app.zapi().requestsFor("5511977770002")).hasSize(1);
    }

    @Test
    void aRowOverOneMebibyteIsBoundedWhateverTheSeparator() {
        // two quoted cells of 600 KB, each with line breaks: only the whole row, quotes understood, is over the bound
        String cell = "\"" + ("5".repeat(99) + "\n").repeat(6000) + "\"";
        app.module().drop("long-row-semicolons.csv", "phone;id\n" + cell + ";" + cell + "\n");
        app.module().drop("long-row-tabs.csv", "phone\tid\n" + cell + "\t" + cell + "\n");

        for (String name : List.of("long-row-semicolons.csv", "long-row-tabs.csv")) {
            JsonNode record = app.module().awaitRecord(name);
            assertThat(record.path("error").asText()).contains("the row from line 2 is longer than 1048576 bytes");
            await().until(() -> app.module().kept(".error", name), f -> f.size() == 1);
        }
    }

    @Test
    void textFarLongerThanOneReadIsCheckedAcrossCharactersSplitBetweenReads() {
        // 60 KB of 2-, 3- and 4-byte characters: the parser's reads cut many of them in two
        String note = "ação-€-🙂-".repeat(4000);
        app.module().drop("long-note.json", "{\"note\": \"" + note + "\", \"phone\": \"5511977770031\"}");
        app.module().drop("long-note.csv", "note,phone\n\"" + note + "\",5511977770032\n");

        assertThat(app.module().awaitRecord("long-note.json").path("outcome").asText()).isEqualTo("success");
        assertThat(app.module().awaitRecord("long-note.csv").path("outcome").asText()).isEqualTo("success");
    }

    @Test
    void aHeaderNamingPhoneTwiceInAnyCaseIsRejected() {
        app.module().drop("twice.csv", "phone,PHONE\n5511977770011,5511977770012\n");

        JsonNode record = app.module().awaitRecord("twice.csv");

        assertThat(record.path("error").asText()).isEqualTo("CSV header names the column phone twice: found [phone, PHONE]");
        assertThat(app.zapi().requestsFor("5511977770011")).isEmpty();
    }

    @Test
    void aUtf16CsvIsRejectedWithAReasonThatSaysWhatToDo() {
        byte[] withBom = "\uFEFFphone\tcallDuration\r\n5511977770021\t5\r\n".getBytes(StandardCharsets.UTF_16LE);
        byte[] withoutBom = "phone,callDuration\n5511977770022,5\n".getBytes(StandardCharsets.UTF_16BE);
        app.module().drop("unicode.csv", withBom);
        app.module().drop("unicode-be.csv", withoutBom);

        for (String name : List.of("unicode.csv", "unicode-be.csv")) {
            JsonNode record = app.module().awaitRecord(name);
            assertThat(record.path("outcome").asText()).isEqualTo("rejected");
            assertThat(record.path("error").asText()).startsWith("file is UTF-16").contains("save it as UTF-8");
            await().until(() -> app.module().kept(".error", name), f -> f.size() == 1);
        }
    }

    private static JsonNode awaitReport(String fileName) {
        Path report = Reports.awaitOne(app.module().dataDir(), fileName);
        List<Path> kept = await().until(() -> {
            List<Path> done = app.module().kept(".done", fileName);
            return done.isEmpty() ? app.module().kept(".error", fileName) : done;
        }, k -> k.size() == 1);
        assertThat(report.getFileName().toString()).isEqualTo(kept.get(0).getFileName() + ".json");
        return RunningModule.read(report);
    }

    private static List<JsonNode> sorted(List<JsonNode> records) {
        return records.stream().sorted(Comparator.comparingInt(r -> r.path("source").path("index").asInt())).toList();
    }
}
