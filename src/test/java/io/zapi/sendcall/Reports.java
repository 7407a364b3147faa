package io.zapi.sendcall;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;

import static org.awaitility.Awaitility.await;

/** The per-file reports in outbox/reports, named {@code <yyyyMMdd-HHmmssSSS>-<file name>.json}. */
final class Reports {

    static final Pattern PREFIX = Pattern.compile("^([0-9]{8}-[0-9]{9})-");

    private Reports() {
    }

    /** The reports of the inbox file of this name, oldest first. */
    static List<Path> of(Path dataDir, String fileName) {
        Pattern name = Pattern.compile("[0-9]{8}-[0-9]{9}-" + Pattern.quote(fileName) + "\\.json");
        try (Stream<Path> files = Files.list(dataDir.resolve("outbox/reports"))) {
            return files.filter(f -> name.matcher(f.getFileName().toString()).matches()).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Waits for the one report of this file to say how the file ended (done, unreadable, interrupted): while the file
     * is read, its report says running.
     */
    static Path awaitOne(Path dataDir, String fileName) {
        await().atMost(Duration.ofSeconds(30)).until(() -> ended(dataDir, fileName));
        return of(dataDir, fileName).get(0);
    }

    /** True once the one report of this file says how the file ended, rather than running. */
    static boolean ended(Path dataDir, String fileName) {
        List<Path> reports = of(dataDir, fileName);
        return reports.size() == 1 && !RunningModule.read(reports.get(0)).path("state").asText().equals("running");
    }

    static JsonNode awaitReport(Path dataDir, String fileName) {
        return RunningModule.read(awaitOne(dataDir, fileName));
    }

    /** The yyyyMMdd-HHmmssSSS a kept original or a report starts with. */
    static String prefix(Path file) {
        var matcher = PREFIX.matcher(file.getFileName().toString());
        if (!matcher.find()) {
            throw new AssertionError("no time prefix: " + file.getFileName());
        }
        return matcher.group(1);
    }
}
