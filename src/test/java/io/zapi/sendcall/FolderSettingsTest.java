package io.zapi.sendcall;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import io.zapi.sendcall.runtime.StartupException;

import static io.zapi.sendcall.HealthTest.awaitReady;
import static io.zapi.sendcall.HealthTest.check;
import static io.zapi.sendcall.HealthTest.message;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * zapi.inbox-dir and zapi.outbox-dir: the inbox and the outbox may live apart from the data folder (shared by
 * replicas), while the data folder keeps the replica's own lock, ledger and broker journal.
 */
class FolderSettingsTest {

    private static final Duration A_WHILE = Duration.ofSeconds(60);

    @TempDir
    Path root;

    @RegisterExtension
    final Mounts mounts = new Mounts();

    private Path dataDir() {
        return root.resolve("data");
    }

    private Path inbox() {
        return root.resolve("shared/requests");
    }

    private Path outbox() {
        return root.resolve("shared/results");
    }

    private Map<String, String> folders() {
        return Map.of("zapi.inbox-dir", inbox().toString(), "zapi.outbox-dir", outbox().toString());
    }

    @Test
    void aFileInTheConfiguredInboxIsCalledOnceAndRecordedInTheConfiguredOutbox() throws Exception {
        try (ZapiStub zapi = new ZapiStub();
             RunningModule module = RunningModule.start(zapi.baseUrl(), dataDir(), folders())) {
            drop(inbox(), "elsewhere.json", "{\"phone\": \"5511944440001\", \"id\": \"folders-1\"}");

            JsonNode report = RunningModule.read(await().atMost(A_WHILE).until(
                    () -> visible(outbox().resolve("reports")).filter(f -> f.getFileName().toString()
                            .endsWith("-elsewhere.json.json")).findFirst().orElse(null), f -> f != null
                            && !RunningModule.read(f).path("state").asText().equals("running")));
            assertThat(report.path("state").asText()).isEqualTo("done");
            assertThat(report.path("outcomes").path("success").asInt()).isEqualTo(1);
            List<Path> records = visible(outbox().resolve("success")).toList();
            assertThat(records).hasSize(1);
            assertThat(RunningModule.read(records.get(0)).path("id").asText()).isEqualTo("folders-1");
            await().atMost(A_WHILE).until(() -> visible(inbox().resolve(".done"))
                    .anyMatch(f -> f.getFileName().toString().endsWith("-elsewhere.json")));
            assertThat(inbox().resolve("elsewhere.json")).doesNotExist();
            assertThat(zapi.requestsFor("5511944440001")).hasSize(1);

            // the data folder keeps the module's own state only
            assertThat(dataDir().resolve(".lock")).exists();
            assertThat(dataDir().resolve("ledger")).isDirectory();
            assertThat(dataDir().resolve("inbox")).doesNotExist();
            assertThat(dataDir().resolve("outbox")).doesNotExist();
        }
    }

    @Test
    void twoModulesWithTheirOwnDataFoldersStartOnTheSameInboxAndOutbox() throws Exception {
        Path otherData = root.resolve("data-2");
        try (ZapiStub zapi = new ZapiStub();
             RunningModule first = RunningModule.start(zapi.baseUrl(), dataDir(), folders());
             RunningModule second = RunningModule.start(zapi.baseUrl(), otherData, folders())) {
            assertThat(first.post("{\"phone\": \"5511944440002\", \"id\": \"replica-1\"}").statusCode())
                    .isEqualTo(200);
            assertThat(second.post("{\"phone\": \"5511944440003\", \"id\": \"replica-2\"}").statusCode())
                    .isEqualTo(200);

            List<String> ids = visible(outbox().resolve("success")).map(RunningModule::read)
                    .map(r -> r.path("id").asText()).sorted().toList();
            assertThat(ids).containsExactly("replica-1", "replica-2");
            assertThat(dataDir().resolve(".lock")).exists();
            assertThat(otherData.resolve(".lock")).exists();
            assertThat(otherData.resolve("ledger")).isDirectory();
        }
    }

    @Test
    void anInboxThatIsARegularFileIsRefusedAtStartUp() throws Exception {
        Path file = Files.createDirectories(root.resolve("shared")).resolve("requests");
        Files.writeString(file, "not a folder");
        assertThat(refusal(folders())).contains("zapi.inbox-dir (env ZAPI_INBOX_DIR)").contains(file.toString());
        assertThat(dataDir().resolve("ledger")).doesNotExist();
    }

    @Test
    void anOutboxThatIsARegularFileIsRefusedAtStartUp() throws Exception {
        Path file = Files.createDirectories(root.resolve("shared")).resolve("results");
        Files.writeString(file, "not a folder");
        assertThat(refusal(folders())).contains("zapi.outbox-dir (env ZAPI_OUTBOX_DIR)").contains(file.toString());
    }

    @Test
    void anInboxThatCannotBeWrittenIsRefusedAtStartUp() throws Exception {
        Files.createDirectories(inbox().resolve(".done"));
        Files.createDirectories(inbox().resolve(".error"));
        mounts.readOnly(inbox());
        assertThat(refusal(folders())).contains("zapi.inbox-dir (env ZAPI_INBOX_DIR)").contains(inbox().toString())
                .contains("Read-only file system");
    }

    @Test
    void anInboxInsideTheOutboxOrTheOtherWayRoundIsRefused() throws Exception {
        assertThat(refusal(Map.of("zapi.inbox-dir", outbox().resolve("in").toString(),
                "zapi.outbox-dir", outbox().toString())))
                .contains("zapi.inbox-dir (env ZAPI_INBOX_DIR)").contains("zapi.outbox-dir (env ZAPI_OUTBOX_DIR)");
        assertThat(refusal(Map.of("zapi.inbox-dir", inbox().toString(),
                "zapi.outbox-dir", inbox().resolve("out").toString())))
                .contains("zapi.inbox-dir (env ZAPI_INBOX_DIR)").contains("zapi.outbox-dir (env ZAPI_OUTBOX_DIR)");
        assertThat(refusal(Map.of("zapi.inbox-dir", inbox().toString(), "zapi.outbox-dir", inbox().toString())))
                .contains("zapi.outbox-dir (env ZAPI_OUTBOX_DIR)");
        assertThat(inbox()).doesNotExist();
    }

    @Test
    void theLedgerOrBrokerFolderOfTheDataFolderIsRefusedAsInboxOrOutbox() throws Exception {
        assertThat(refusal(Map.of("zapi.inbox-dir", dataDir().resolve("ledger").toString())))
                .contains("zapi.inbox-dir (env ZAPI_INBOX_DIR)").contains(dataDir().resolve("ledger").toString());
        assertThat(refusal(Map.of("zapi.outbox-dir", dataDir().resolve("broker/out").toString())))
                .contains("zapi.outbox-dir (env ZAPI_OUTBOX_DIR)").contains(dataDir().resolve("broker").toString());
        // the data folder itself in the inbox would be set aside as a folder dropped there
        assertThat(refusal(Map.of("zapi.inbox-dir", root.toString())))
                .contains("zapi.inbox-dir (env ZAPI_INBOX_DIR)").contains("zapi.data-dir (env ZAPI_DATA_DIR)");
    }

    @Test
    void readinessChecksTheConfiguredInboxAndOutbox() throws Exception {
        try (ZapiStub zapi = new ZapiStub();
             RunningModule module = RunningModule.start(zapi.baseUrl(), dataDir(), folders())) {
            JsonNode folders = check(HealthTest.json(HealthTest.health(module, "/observe/health?data=true")),
                    "folders");
            assertThat(folders.toString().replace("\\/", "/")).contains(inbox().resolve(".done").toString())
                    .contains(outbox().resolve("success").toString())
                    .doesNotContain(dataDir().resolve("inbox").toString())
                    .doesNotContain(dataDir().resolve("outbox").toString());
            awaitReady(module, 200);

            mounts.readOnly(outbox());
            JsonNode down = awaitReady(module, 503);
            assertThat(check(down, "folders").path("status").asText()).isEqualTo("DOWN");
            assertThat(message(check(down, "folders"))).contains("not writable")
                    .contains(outbox().resolve("success").toString());

            mounts.writable(outbox());
            assertThat(check(awaitReady(module, 200), "folders").path("status").asText()).isEqualTo("UP");
        }
    }

    /** The start-up refusal's message for these settings. */
    private String refusal(Map<String, String> settings) throws Exception {
        try (ZapiStub zapi = new ZapiStub()) {
            Throwable[] thrown = new Throwable[1];
            assertThatThrownBy(() -> RunningModule.start(zapi.baseUrl(), dataDir(), settings).close())
                    .satisfies(e -> thrown[0] = e);
            for (Throwable t = thrown[0]; t != null; t = t.getCause()) {
                if (t instanceof StartupException startup) {
                    return startup.getMessage();
                }
            }
            throw new AssertionError("not refused with a StartupException", thrown[0]);
        }
    }

    private static void drop(Path inbox, String name, String content) throws IOException {
        Path part = inbox.resolve(name + ".part");
        Files.writeString(part, content);
        Files.move(part, inbox.resolve(name), StandardCopyOption.ATOMIC_MOVE);
    }

    /** The files of a folder not under a hidden (temporary) name. */
    private static Stream<Path> visible(Path folder) {
        try (Stream<Path> files = Files.list(folder)) {
            return files.filter(f -> !f.getFileName().toString().startsWith(".")).toList().stream();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
