package io.zapi.sendcall;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Results files on replicas sharing a PostgreSQL ledger and an outbox: a call event posted to the replica that did not
 * read the file still reaches the row's entry, and the two replicas' timers, both applying changes to the shared
 * results folder, leave one whole file.
 */
@Tag("replicas")
class ResultsFileReplicasTest {

    @TempDir
    Path folder;

    @RegisterExtension
    static final PostgresDatabases databases = new PostgresDatabases();

    @Test
    void anEventPostedToTheOtherReplicaFillsInTheEntryOfTheRowInTheSharedResultsFile() throws Exception {
        String url = databases.create();
        Path outbox = folder.resolve("outbox");
        try (ZapiStub zapi = new ZapiStub();
             RunningModule a = RunningModule.start(zapi.baseUrl(), folder.resolve("a"), replica(url, "node-a", outbox));
             RunningModule b = RunningModule.start(zapi.baseUrl(), folder.resolve("b"), replica(url, "node-b", outbox))) {
            a.drop("shared.csv", "phone;id\n5511970000301;shared-a-" + UUID.randomUUID() + "\n5511970000302;shared-b-"
                                 + UUID.randomUUID() + "\n");
            List<Path> kept = await().atMost(Duration.ofSeconds(30)).until(() -> a.kept(".done", "shared.csv"),
                    k -> k.size() == 1);
            Path results = outbox.resolve("results").resolve(kept.get(0).getFileName() + ".results.csv");
            assertThat(ResultsFileTest.csv(results)).extracting(l -> l.get("outcome"))
                    .containsExactly("success", "success");

            String event = CallEventsTest.event("5511970000302", "CALL_MISSED_VOICE",
                    UUID.randomUUID().toString().replace("-", ""), System.currentTimeMillis());
            assertThat(CallEventsTest.postEvent(b, CallEventsTest.TOKEN, event).statusCode()).isEqualTo(200);

            List<Map<String, String>> lines = await().atMost(Duration.ofSeconds(30))
                    .until(() -> ResultsFileTest.csv(results), l -> l.get(1).get("event").equals("missed"));
            assertThat(lines.get(0).get("event")).isEmpty();
            try (var files = Files.list(results.getParent())) {
                assertThat(files.map(f -> f.getFileName().toString())).containsExactly(results.getFileName().toString());
            }
        }
    }

    private static Map<String, String> replica(String url, String nodeId, Path outbox) {
        Map<String, String> settings = new HashMap<>(PostgresDatabases.replica(url, nodeId));
        settings.put("zapi.webhook.token", CallEventsTest.TOKEN);
        settings.put("zapi.outbox-dir", outbox.toString());
        settings.put("zapi.reports.progress-interval-ms", "200");
        return settings;
    }
}
