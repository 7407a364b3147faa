package io.zapi.sendcall;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** Identical files dropped at the same moment are three files, not one file resumed: every row of each gets a record. */
class ConcurrentDropsTest {

    private static final int ROWS = 300;

    @TempDir
    Path dataDir;

    @Test
    void threeIdenticalFilesDroppedAtOnceGiveEveryRowOneRecordAndEachPhoneOneCall() throws Exception {
        String csv = "phone\n" + IntStream.rangeClosed(1, ROWS).mapToObj(i -> String.format("55619444%05d", i))
                .collect(Collectors.joining("\n")) + "\n";
        // the first poll comes late enough to find all three: the consumer hands each on without waiting for the last
        try (ZapiStub zapi = new ZapiStub(); RunningModule module = RunningModule.start(zapi.baseUrl(), dataDir,
                Map.of("zapi.inbox.poll-delay-ms", "3000"))) {
            for (String name : List.of("copy-a.csv", "copy-b.csv", "copy-c.csv")) {
                module.drop(name, csv);
            }

            List<JsonNode> records = await().atMost(Duration.ofSeconds(60))
                    .until(module::allRecords, r -> r.size() >= 3 * ROWS);
            await().atMost(Duration.ofSeconds(30)).until(() -> module.kept(".done", "copy-c.csv").size()
                                                                + module.kept(".done", "copy-b.csv").size()
                                                                + module.kept(".done", "copy-a.csv").size() == 3);

            assertThat(module.allRecords()).hasSize(3 * ROWS);
            Map<String, Long> outcomes = module.allRecords().stream()
                    .collect(Collectors.groupingBy(r -> r.path("outcome").asText(), Collectors.counting()));
            assertThat(outcomes).containsExactlyInAnyOrderEntriesOf(Map.of("success", (long) ROWS,
                    "duplicate", 2L * ROWS));
            assertThat(zapi.allRequests()).hasSize(ROWS);
            for (String name : List.of("copy-a.csv", "copy-b.csv", "copy-c.csv")) {
                assertThat(module.recordsOf(name)).as(name).hasSize(ROWS);
            }
        }
    }

    @Test
    void theInboxRouteStoppedAndStartedAgainKeepsItsLedger() throws Exception {
        try (ZapiStub zapi = new ZapiStub(); RunningModule module = RunningModule.start(zapi.baseUrl(), dataDir)) {
            module.context().getRouteController().stopRoute("inbox-files");
            module.context().getRouteController().startRoute("inbox-files");
            module.drop("after-restart.jsonl", "{\"phone\": \"5561944400001\"}\n");

            assertThat(module.awaitRecord("after-restart.jsonl").path("outcome").asText()).isEqualTo("success");
        }
    }
}
