package io.zapi.sendcall;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.FileTime;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

import io.zapi.sendcall.records.Timestamps;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * zapi.retention.days: records, reports, kept originals and ledger keys older than that are purged at start-up and
 * every zapi.retention.interval-ms, logged as counts only; what is newer, and what the module did not write, is kept.
 * A purged key no longer stops a duplicate (the documented trade-off); a kept one still does.
 */
class RetentionTest {

    private static final String RETENTION_LOGGER = "io.zapi.sendcall.records.Retention";
    private static final String OLD_PHONE = "5561977770001";
    private static final String NEW_PHONE = "5561977770002";
    private static final String BAD_PHONE = "5561977770003";
    /** A kept original's time prefix from long ago: when the module took it. */
    private static final String OLD_PREFIX = "20200101-000000000-";
    private static final Instant LONG_AGO = Instant.now().minus(Duration.ofDays(30));
    private static final Pattern COUNTS = Pattern.compile(
            "(\\d+) records, (\\d+) reports, (\\d+) originals, (\\d+) keys");

    @TempDir
    Path dataDir;
    @TempDir
    Path elsewhere;

    @RegisterExtension
    final Mounts mounts = new Mounts();

    private final ListAppender<ILoggingEvent> retentionLog = new ListAppender<>();

    @BeforeEach
    void captureTheRetentionLog() {
        retentionLog.start();
        ((Logger) LoggerFactory.getLogger(RETENTION_LOGGER)).addAppender(retentionLog);
    }

    @AfterEach
    void stopCapturing() {
        ((Logger) LoggerFactory.getLogger(RETENTION_LOGGER)).detachAppender(retentionLog);
    }

    @Test
    void atStartUpWhatIsOlderThanTheRetentionIsPurgedAndCountedTheRestIsKept() throws Exception {
        try (ZapiStub zapi = new ZapiStub()) {
            Handled handled = handleOldAndNewRequests(zapi);
            Path strangerInOutbox = Files.writeString(dataDir.resolve("outbox/success/notes.txt"), OLD_PHONE);
            Path outside = Files.writeString(elsewhere.resolve("outside.json"), OLD_PHONE);
            Path linkInOutbox = Files.createSymbolicLink(
                    dataDir.resolve("outbox/success/" + UUID.randomUUID() + ".json"), outside);
            Path linkInError = Files.createSymbolicLink(
                    dataDir.resolve("inbox/.error/" + OLD_PREFIX + "link.json"), outside);
            for (Path old : List.of(strangerInOutbox, outside, linkInOutbox, linkInError)) {
                age(old);
            }

            try (RunningModule module = RunningModule.start(zapi.baseUrl(), dataDir,
                    Map.of("zapi.retention.days", "7"))) {
                String line = awaitRetentionLine();
                assertThat(counts(line)).containsExactly(2, 2, 3, 1);
                assertThat(line).doesNotContain(OLD_PHONE, NEW_PHONE, BAD_PHONE, "old-1", "new-1", "old.json",
                        "bad.json", dataDir.toString());

                assertThat(handled.oldFiles()).allSatisfy(path -> assertThat(path).doesNotExist());
                assertThat(handled.newFiles()).allSatisfy(path -> assertThat(path).exists());
                // what the module did not write, or what a link points to, is not its to delete
                assertThat(strangerInOutbox).exists();
                assertThat(linkInOutbox).isSymbolicLink();
                assertThat(outside).exists().hasContent(OLD_PHONE);
                assertThat(linkInError).doesNotExist();

                // the trade-off: a purged key no longer stops the same request; a kept one still does
                module.drop("old-again.json", "{\"phone\": \"" + OLD_PHONE + "\", \"id\": \"old-1\"}");
                assertThat(module.awaitRecord("old-again.json").path("outcome").asText()).isEqualTo("success");
                module.drop("new-again.json", "{\"phone\": \"" + NEW_PHONE + "\", \"id\": \"new-1\"}");
                assertThat(module.awaitRecord("new-again.json").path("outcome").asText()).isEqualTo("duplicate");
                assertThat(zapi.requestsFor(OLD_PHONE)).hasSize(2);
                assertThat(zapi.requestsFor(NEW_PHONE)).hasSize(1);
            }
        }
    }

    @Test
    void byDefaultNothingIsPurged() throws Exception {
        try (ZapiStub zapi = new ZapiStub()) {
            Handled handled = handleOldAndNewRequests(zapi);

            try (RunningModule module = RunningModule.start(zapi.baseUrl(), dataDir)) {
                assertThat(awaitRetentionLine()).contains("zapi.retention.days").contains("nothing is purged");
                assertThat(handled.oldFiles()).allSatisfy(path -> assertThat(path).exists());
                assertThat(handled.newFiles()).allSatisfy(path -> assertThat(path).exists());

                module.drop("old-again.json", "{\"phone\": \"" + OLD_PHONE + "\", \"id\": \"old-1\"}");
                assertThat(module.awaitRecord("old-again.json").path("outcome").asText()).isEqualTo("duplicate");
                assertThat(zapi.requestsFor(OLD_PHONE)).hasSize(1);
            }
        }
    }

    @Test
    void whileRunningThePurgeComesBackEveryIntervalAndGoesOnPastWhatCannotBeDeleted() throws Exception {
        Path failed = Files.createDirectories(dataDir.resolve("outbox/failed"));
        Path stuck = age(Files.writeString(failed.resolve(UUID.randomUUID() + ".json"), "{}"));
        try (ZapiStub zapi = new ZapiStub(); RunningModule module = RunningModule.start(zapi.baseUrl(), dataDir,
                Map.of("zapi.retention.days", "1", "zapi.retention.interval-ms", "300"))) {
            awaitRetentionLine();
            assertThat(stuck).doesNotExist();

            Path later = age(Files.writeString(module.outbox("rejected").resolve(UUID.randomUUID() + ".json"), "{}"));
            await().atMost(Duration.ofSeconds(20)).until(() -> !Files.exists(later));

            // a read-only folder: its old record is counted as not deleted, the other kinds are still purged
            Path cannot = age(Files.writeString(failed.resolve(UUID.randomUUID() + ".json"), "{}"));
            mounts.readOnly(failed);
            Path report = age(Files.writeString(module.dataDir().resolve("outbox/reports/" + OLD_PREFIX + "x.json"),
                    "{}"));
            retentionLog.list.clear();
            await().atMost(Duration.ofSeconds(20)).until(() -> retentionLog.list.stream()
                    .anyMatch(e -> e.getFormattedMessage().contains("could not be deleted")));
            assertThat(report).doesNotExist();
            assertThat(cannot).exists();
            String line = retentionLog.list.stream().map(ILoggingEvent::getFormattedMessage)
                    .filter(m -> m.contains("could not be deleted")).findFirst().orElseThrow();
            assertThat(line).contains("1 could not be deleted").doesNotContain(dataDir.toString());
        }
    }

    @Test
    void aRetentionOutOfRangeIsRefusedAtStartUp() {
        try (ZapiStub zapi = new ZapiStub()) {
            assertThatThrownBy(() -> RunningModule.start(zapi.baseUrl(), dataDir,
                    Map.of("zapi.retention.days", "36501", "zapi.retention.interval-ms", "0")).close())
                    .hasStackTraceContaining("zapi.retention.days (env ZAPI_RETENTION_DAYS) must be a whole number "
                                             + "from 0 to 36500, was \"36501\"")
                    .hasStackTraceContaining("zapi.retention.interval-ms (env ZAPI_RETENTION_INTERVAL_MS) must be a "
                                             + "whole number from 1 to");
        }
    }

    @Test
    void aLedgerOfTheVersionBeforeIsTakenOverItsRecordedMessagesCountingFromNow() throws Exception {
        Files.createDirectories(dataDir.resolve("ledger"));
        try (Connection ledger = DriverManager.getConnection("jdbc:sqlite:" + dataDir.resolve("ledger/calls.db"))) {
            // recorded_sources as version 1.1 made it: no time of its own
            ledger.createStatement().execute("CREATE TABLE recorded_sources (source TEXT PRIMARY KEY, "
                                             + "outcome TEXT NOT NULL)");
            ledger.createStatement().execute("INSERT INTO recorded_sources VALUES ('jms:ID:1', 'success')");
        }
        try (ZapiStub zapi = new ZapiStub(); RunningModule module = RunningModule.start(zapi.baseUrl(), dataDir,
                Map.of("zapi.retention.days", "7"))) {
            assertThat(counts(awaitRetentionLine())).containsExactly(0, 0, 0, 0);
            module.drop("after.json", "{\"phone\": \"" + NEW_PHONE + "\"}");
            assertThat(module.awaitRecord("after.json").path("outcome").asText()).isEqualTo("success");
        }
        try (Connection ledger = DriverManager.getConnection("jdbc:sqlite:" + dataDir.resolve("ledger/calls.db"));
             var rows = ledger.createStatement().executeQuery("SELECT source FROM recorded_sources "
                                                                + "WHERE recorded_at IS NOT NULL")) {
            assertThat(rows.next()).isTrue();
            assertThat(rows.getString(1)).isEqualTo("jms:ID:1");
        }
    }

    /**
     * Campaign state in the ledger: rows that waited and ended, calls remembered for redials and files GET /files no
     * longer lists are purged once old; a row still waiting, and the report it is counted in, stay whatever their age.
     */
    @Test
    void oldCampaignStateIsPurgedButRowsStillWaitingStay() throws Exception {
        try (ZapiStub zapi = new ZapiStub(); RunningModule module = RunningModule.start(zapi.baseUrl(), dataDir)) {
            module.drop("made.json", "{\"phone\": \"" + NEW_PHONE + "\"}");
            module.awaitRecord("made.json");
        }
        long longAgo = LONG_AGO.toEpochMilli();
        try (Connection ledger = DriverManager.getConnection("jdbc:sqlite:" + dataDir.resolve("ledger/calls.db"));
             var sql = ledger.createStatement()) {
            for (String state : List.of("done", "waiting")) {
                sql.execute("INSERT INTO waiting_rows (report, idx, file_name, inbox_file, kept_prefix, row_value, "
                            + "attempt, due_at, state, ended_at) VALUES ('" + state + ".json', 1, '" + state + "', '"
                            + state + "', 'x', '{}', 1, " + longAgo + ", '" + state + "', " + longAgo + ")");
                sql.execute("INSERT INTO final_reports (report, body, written_at) VALUES ('" + state + ".json', '{}', "
                            + longAgo + ")");
            }
            sql.execute("INSERT INTO placed_rows (correlation_id, report, idx, file_name, inbox_file, kept_prefix, "
                        + "row_value, attempt, placed_at) VALUES ('c-1', 'done.json', 1, 'done', 'done', 'x', '{}', 1, "
                        + longAgo + ")");
            sql.execute("INSERT INTO inbox_file_status (name, original_name, report, state, entry, started_at, "
                        + "updated_at, ended_at) VALUES ('ended', 'e', 'done.json', 'done', '{}', 'x', " + longAgo
                        + ", " + longAgo + ")");
            sql.execute("INSERT INTO inbox_file_status (name, original_name, report, state, entry, started_at, "
                        + "updated_at) VALUES ('waiting', 'w', 'waiting.json', 'waiting', '{}', 'x', " + longAgo + ")");
        }
        try (ZapiStub zapi = new ZapiStub(); RunningModule module = RunningModule.start(zapi.baseUrl(), dataDir,
                Map.of("zapi.retention.days", "7"))) {
            awaitRetentionLine();
        }
        try (Connection ledger = DriverManager.getConnection("jdbc:sqlite:" + dataDir.resolve("ledger/calls.db"))) {
            assertThat(column(ledger, "SELECT report FROM waiting_rows")).containsExactly("waiting.json");
            assertThat(column(ledger, "SELECT report FROM final_reports WHERE report IN ('done.json', "
                                      + "'waiting.json')")).containsExactly("waiting.json");
            assertThat(column(ledger, "SELECT correlation_id FROM placed_rows")).isEmpty();
            assertThat(column(ledger, "SELECT name FROM inbox_file_status WHERE name IN ('ended', 'waiting')"))
                    .containsExactly("waiting");
        }
    }

    private static List<String> column(Connection ledger, String query) throws SQLException {
        List<String> values = new java.util.ArrayList<>();
        try (var rows = ledger.createStatement().executeQuery(query)) {
            while (rows.next()) {
                values.add(rows.getString(1));
            }
        }
        return values;
    }

    /** What the first run left: the old request's files (aged, the ledger too) and the new one's. */
    private record Handled(List<Path> oldFiles, List<Path> newFiles) {
    }

    /**
     * Runs an old request, a new one and an unreadable old file through the module (default settings: nothing
     * purged), then, with the module stopped, makes the old ones 30 days old: their records, reports and kept
     * originals on disk, their keys and file entries in the ledger.
     */
    private Handled handleOldAndNewRequests(ZapiStub zapi) throws Exception {
        Path oldRecord;
        Path badRecord;
        Path newRecord;
        try (RunningModule module = RunningModule.start(zapi.baseUrl(), dataDir)) {
            module.drop("old.json", "{\"phone\": \"" + OLD_PHONE + "\", \"id\": \"old-1\"}");
            module.drop("new.json", "{\"phone\": \"" + NEW_PHONE + "\", \"id\": \"new-1\"}");
            module.drop("bad.json", "{\"phone\": \"" + BAD_PHONE + "\", ");
            oldRecord = recordFile(module, module.awaitRecord("old.json"));
            newRecord = recordFile(module, module.awaitRecord("new.json"));
            badRecord = recordFile(module, module.awaitRecord("bad.json"));
            await().atMost(Duration.ofSeconds(20)).until(() -> module.kept(".done", "old.json").size() == 1
                    && module.kept(".done", "new.json").size() == 1 && module.kept(".error", "bad.json").size() == 1
                    && reports().size() == 3);
        }
        Path reports = dataDir.resolve("outbox/reports");
        Path oldOriginal = olden(only(dataDir.resolve("inbox/.done"), "-old.json"));
        Path badOriginal = olden(only(dataDir.resolve("inbox/.error"), "-bad.json"));
        Path oldReport = age(only(reports, "-old.json.json"));
        Path badReport = age(only(reports, "-bad.json.json"));
        age(oldRecord);
        age(badRecord);
        String longAgo = Timestamps.format(LONG_AGO);
        try (Connection ledger = DriverManager.getConnection("jdbc:sqlite:" + dataDir.resolve("ledger/calls.db"))) {
            update(ledger, "UPDATE call_keys SET updated_at = ? WHERE key = 'id:old-1'", longAgo);
            update(ledger, "UPDATE inbox_files SET taken_at = ? WHERE name IN ('old.json', 'bad.json')", longAgo);
        }
        // what the first run said is not what the next start says
        retentionLog.list.clear();
        return new Handled(List.of(oldRecord, badRecord, oldOriginal, badOriginal, oldReport, badReport),
                List.of(newRecord, only(dataDir.resolve("inbox/.done"), "-new.json"), only(reports, "-new.json.json")));
    }

    private String awaitRetentionLine() {
        return await().atMost(Duration.ofSeconds(30)).until(() -> retentionLog.list.stream()
                .map(ILoggingEvent::getFormattedMessage).filter(m -> m.contains("etention")).findFirst(),
                java.util.Optional::isPresent).orElseThrow();
    }

    private static List<Integer> counts(String line) {
        Matcher matcher = COUNTS.matcher(line);
        assertThat(matcher.find()).as(line).isTrue();
        return List.of(Integer.parseInt(matcher.group(1)), Integer.parseInt(matcher.group(2)),
                Integer.parseInt(matcher.group(3)), Integer.parseInt(matcher.group(4)));
    }

    private static Path recordFile(RunningModule module, JsonNode record) {
        return module.outbox(record.path("outcome").asText()).resolve(record.path("correlationId").asText() + ".json");
    }

    private List<Path> reports() throws IOException {
        try (Stream<Path> files = Files.list(dataDir.resolve("outbox/reports"))) {
            return files.filter(f -> !f.getFileName().toString().startsWith(".")).toList();
        }
    }

    private static Path only(Path folder, String suffix) throws IOException {
        try (Stream<Path> files = Files.list(folder)) {
            List<Path> found = files.filter(f -> f.getFileName().toString().endsWith(suffix)).toList();
            assertThat(found).hasSize(1);
            return found.get(0);
        }
    }

    /** A kept original taken long ago: its name's time prefix, and its modification time, say so. */
    private static Path olden(Path kept) throws IOException {
        String name = kept.getFileName().toString();
        Path old = kept.resolveSibling(OLD_PREFIX + name.substring(OLD_PREFIX.length()));
        Files.move(kept, old);
        return age(old);
    }

    /** Sets the entry's own modification time (a link's, not its target's) 30 days back. */
    private static Path age(Path path) {
        try {
            Files.getFileAttributeView(path, BasicFileAttributeView.class, LinkOption.NOFOLLOW_LINKS)
                    .setTimes(FileTime.from(LONG_AGO), null, null);
            return path;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void update(Connection ledger, String sql, String value) throws SQLException {
        try (PreparedStatement statement = ledger.prepareStatement(sql)) {
            statement.setString(1, value);
            assertThat(statement.executeUpdate()).as(sql).isPositive();
        }
    }
}
