package io.zapi.sendcall;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * What is in the inbox but is no regular file (a FIFO, a symbolic link, a folder) is never opened or followed: it goes
 * to inbox/.error/ unread, with one rejected record saying why, and the inbox keeps working.
 */
class InboxOddFilesTest {

    @RegisterExtension
    static final ModuleUnderTest app = new ModuleUnderTest();

    @Test
    void aFifoIsRejectedUnreadAndTheFilesAfterItAreRead() throws Exception {
        mkfifo(app.module().inbox().resolve("pipe.jsonl"));
        app.module().drop("after-pipe.json", "{\"phone\": \"5561900000001\"}");

        JsonNode record = app.module().awaitRecord("pipe.jsonl");

        assertThat(record.path("outcome").asText()).isEqualTo("rejected");
        assertThat(record.path("error").asText()).isEqualTo("not a regular file: a FIFO; moved to inbox/.error/ unread");
        assertThat(app.module().awaitRecord("after-pipe.json").path("outcome").asText()).isEqualTo("success");
        Path kept = awaitKeptUnfollowed("pipe.jsonl");
        assertThat(attributes(kept).isOther()).isTrue();
        JsonNode report = Reports.awaitReport(app.module().dataDir(), "pipe.jsonl");
        assertThat(report.path("requests").asInt()).isEqualTo(1);
        assertThat(report.path("unreadable").asText()).isEqualTo("not a regular file: a FIFO; moved to inbox/.error/ unread");
    }

    @Test
    void aSymlinkIsNotFollowed() throws Exception {
        Path outside = Files.createTempFile("outside-the-inbox", ".jsonl");
        Files.writeString(outside, "{\"phone\": \"5561900000002\"}\n{\"phone\": \"5561900000003\"}\n");
        Path link = Files.createSymbolicLink(app.module().inbox().resolve("x.jsonl"), outside);

        JsonNode record = app.module().awaitRecord("x.jsonl");

        assertThat(record.path("outcome").asText()).isEqualTo("rejected");
        assertThat(record.path("error").asText()).isEqualTo("a symbolic link: not followed; moved to inbox/.error/ unread");
        Path kept = awaitKeptUnfollowed("x.jsonl");
        assertThat(Files.isSymbolicLink(kept)).isTrue();
        assertThat(Files.readSymbolicLink(kept)).isEqualTo(outside);
        assertThat(link).doesNotExist();
        assertThat(outside).hasContent("{\"phone\": \"5561900000002\"}\n{\"phone\": \"5561900000003\"}\n");
        assertThat(app.zapi().requestsFor("5561900000002")).isEmpty();
        assertThat(app.zapi().requestsFor("5561900000003")).isEmpty();
        Files.delete(outside);
    }

    @Test
    void aDanglingSymlinkIsRejectedAndKept() throws Exception {
        Files.createSymbolicLink(app.module().inbox().resolve("dangling.json"), Path.of("/nonexistent/calls.json"));

        JsonNode record = app.module().awaitRecord("dangling.json");

        assertThat(record.path("error").asText()).isEqualTo("a symbolic link: not followed; moved to inbox/.error/ unread");
        assertThat(Files.readSymbolicLink(awaitKeptUnfollowed("dangling.json")))
                .isEqualTo(Path.of("/nonexistent/calls.json"));
    }

    @Test
    void aSymlinkToAFolderIsNotFollowed() throws Exception {
        Path folder = Files.createTempDirectory("outside-folder");
        Files.writeString(folder.resolve("inside.json"), "{\"phone\": \"5561900000004\"}");
        Files.createSymbolicLink(app.module().inbox().resolve("linked-folder"), folder);

        JsonNode record = app.module().awaitRecord("linked-folder");

        assertThat(record.path("error").asText()).isEqualTo("a symbolic link: not followed; moved to inbox/.error/ unread");
        assertThat(Files.isSymbolicLink(awaitKeptUnfollowed("linked-folder"))).isTrue();
        assertThat(folder.resolve("inside.json")).exists();
        assertThat(app.module().recordsOf("inside.json")).isEmpty();
        assertThat(app.zapi().requestsFor("5561900000004")).isEmpty();
        Files.delete(folder.resolve("inside.json"));
        Files.delete(folder);
    }

    @Test
    void aFolderIsNotLookedInto() throws Exception {
        Path folder = Files.createDirectory(app.module().inbox().resolve("batch"));
        Files.writeString(folder.resolve("inner.json"), "{\"phone\": \"5561900000005\"}");

        JsonNode record = app.module().awaitRecord("batch");

        assertThat(record.path("error").asText())
                .isEqualTo("a folder: files in folders under the inbox are not read; moved to inbox/.error/ unread");
        Path kept = awaitKeptUnfollowed("batch");
        assertThat(kept.resolve("inner.json")).hasContent("{\"phone\": \"5561900000005\"}");
        assertThat(app.module().recordsOf("inner.json")).isEmpty();
        assertThat(app.zapi().requestsFor("5561900000005")).isEmpty();
    }

    /** A FIFO nobody writes to, deleted while the module runs: nothing hangs, not even the shutdown. */
    @Test
    void aFifoNeitherWedgesTheInboxNorTheShutdown() throws Exception {
        Path dataDir = Files.createTempDirectory("zapi-fifo");
        try (ZapiStub zapi = new ZapiStub()) {
            Files.createDirectories(dataDir.resolve("inbox"));
            mkfifo(dataDir.resolve("inbox/first.csv"));
            RunningModule module = RunningModule.start(zapi.baseUrl(), dataDir);
            try {
                module.awaitRecord("first.csv");
                mkfifo(module.inbox().resolve("second.csv"));
                // deleted at once, unless the poller already set it aside: either way nothing may wait on it
                Files.deleteIfExists(module.inbox().resolve("second.csv"));
                module.drop("after.json", "{\"phone\": \"5561900000006\"}");
                assertThat(module.awaitRecord("after.json").path("outcome").asText()).isEqualTo("success");
            } finally {
                long start = System.nanoTime();
                module.close();
                assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(15));
            }
        } finally {
            try (Stream<Path> files = Files.walk(dataDir)) {
                files.sorted(Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
            }
        }
    }

    /** The entry kept in inbox/.error for this name, found without following links. */
    private static Path awaitKeptUnfollowed(String name) {
        return await().atMost(Duration.ofSeconds(20)).until(() -> keptUnfollowed(name), k -> k.size() == 1).get(0);
    }

    private static List<Path> keptUnfollowed(String name) throws IOException {
        try (Stream<Path> files = Files.list(app.module().inbox().resolve(".error"))) {
            return files.filter(f -> f.getFileName().toString().matches("[0-9]{8}-[0-9]{9}-.*")
                                     && f.getFileName().toString().endsWith("-" + name)).toList();
        }
    }

    private static BasicFileAttributes attributes(Path path) throws IOException {
        return Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
    }

    static void mkfifo(Path path) throws Exception {
        Process mkfifo = new ProcessBuilder("mkfifo", path.toString()).inheritIO().start();
        assertThat(mkfifo.waitFor()).isZero();
    }
}
