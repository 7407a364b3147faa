package io.zapi.sendcall;

import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import com.fasterxml.jackson.databind.JsonNode;
import org.apache.camel.support.ScheduledPollConsumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import static com.github.tomakehurst.wiremock.client.WireMock.containing;
import static com.github.tomakehurst.wiremock.client.WireMock.okJson;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A file written in place, under its final name, is not read while it still grows (Camel's readLock=changed with
 * zapi.inbox.settle-ms), and a file that changes while it is read is never reported as complete.
 */
class InboxGrowingFileTest {

    @RegisterExtension
    static final ModuleUnderTest app = new ModuleUnderTest(Map.of("zapi.inbox.settle-ms", "3000",
            "zapi.concurrency", "1"));

    @Test
    void aFileStillBeingWrittenIsReadOnlyOnceComplete() throws Exception {
        Path file = app.module().inbox().resolve("growing.jsonl");
        try (FileChannel out = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            for (int line = 1; line <= 17; line++) {
                out.write(StandardCharsets.UTF_8.encode("{\"phone\": \"55619200000%02d\"}\n".formatted(line)));
                out.force(true);
                // the inbox is looked at while the file is incomplete: a poll has run since, or one is running now
                long polls = polls();
                await().atMost(Duration.ofSeconds(20)).until(() -> polls() > polls || consumer().isPolling());
            }
        }

        JsonNode report = Reports.awaitReport(app.module().dataDir(), "growing.jsonl");

        assertThat(report.path("requests").asInt()).isEqualTo(17);
        assertThat(report.path("outcomes").path("success").asInt()).isEqualTo(17);
        assertThat(report.path("unreadable").isNull()).isTrue();
        assertThat(app.module().awaitRecords("growing.jsonl", 17)).allSatisfy(r ->
                assertThat(r.path("outcome").asText()).isEqualTo("success"));
        List<Path> kept = await().until(() -> app.module().kept(".done", "growing.jsonl"), k -> k.size() == 1);
        assertThat(Files.readAllLines(kept.get(0))).hasSize(17);
    }

    @Test
    void aFileThatChangesWhileItIsReadIsNotReportedComplete() throws Exception {
        app.zapi().stubFor(post(urlEqualTo(RunningModule.SEND_CALL_PATH)).atPriority(1)
                .withRequestBody(containing("556193"))
                .willReturn(okJson("{\"zaapId\":\"z\",\"messageId\":\"m\",\"id\":\"m\"}").withFixedDelay(300)));
        app.module().drop("changing.jsonl", lines(1, 20));
        app.module().awaitRecords("changing.jsonl", 1);

        Files.writeString(app.module().inbox().resolve("changing.jsonl"), lines(21, 25), StandardOpenOption.APPEND);

        JsonNode report = Reports.awaitReport(app.module().dataDir(), "changing.jsonl");
        assertThat(report.path("unreadable").asText()).startsWith("the file changed while it was being read");
        List<Path> kept = await().until(() -> app.module().kept(".error", "changing.jsonl"), k -> k.size() == 1);
        assertThat(Files.readAllLines(kept.get(0))).hasSize(25);
        List<JsonNode> records = app.module().awaitRecords("changing.jsonl", report.path("requests").asInt());
        assertThat(records).filteredOn(r -> r.path("error").asText().startsWith("the file changed")).hasSize(1);
        assertThat(app.module().kept(".done", "changing.jsonl")).isEmpty();
    }

    private static String lines(int from, int to) {
        return IntStream.rangeClosed(from, to).mapToObj("{\"phone\": \"55619300000%02d\"}\n"::formatted)
                .collect(Collectors.joining());
    }

    private static long polls() {
        return consumer().getCounter();
    }

    private static ScheduledPollConsumer consumer() {
        return (ScheduledPollConsumer) app.module().context().getRoute("inbox-files").getConsumer();
    }
}
