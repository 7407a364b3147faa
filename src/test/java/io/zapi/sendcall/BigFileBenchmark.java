package io.zapi.sendcall;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.zapi.sendcall.inbox.RequestFile;
import io.zapi.sendcall.inbox.RequestFiles;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A 1,000,000-row CSV through the whole module (sandbox Z-API, records logged at OFF so the disk is not measured)
 * in a JVM limited to -Xmx256m. Not part of the default run; run it with
 * {@code mvn -B verify -Dgroups=benchmark -Dbenchmark.rows=1000000}. Prints its figures against a baseline: the same
 * file merely parsed by Jackson in this JVM.
 */
@Tag("benchmark")
class BigFileBenchmark {

    @TempDir
    Path dataDir;

    @Test
    void aMillionRowCsvGoesThroughIn256Megabytes() throws Exception {
        int rows = Integer.getInteger("benchmark.rows", 1_000_000);
        Path csv = dataDir.resolve("big.csv.part");
        try (BufferedWriter out = Files.newBufferedWriter(csv)) {
            out.write("phone,callDuration,id\n");
            for (int i = 1; i <= rows; i++) {
                out.write("55119%08d,%d,r%d\n".formatted(i, i % 15 + 1, i));
            }
        }
        long baselineNanos = parseOnly(csv, rows);

        Map<String, String> settings = Map.of("zapi.sandbox", "true", "zapi.data-dir", dataDir.toString(),
                "zapi.inbox.poll-delay-ms", "100", "ZAPI_LOG_LEVEL", "WARN",
                "zapi.jms.embedded-port", String.valueOf(RunningModule.freePort()),
                "camel.server.port", String.valueOf(RunningModule.freePort()),
                "zapi.outcome.success-uri", "log:benchmark?level=OFF",
                "zapi.outcome.rejected-uri", "log:benchmark?level=OFF",
                "zapi.outcome.failed-uri", "log:benchmark?level=OFF");
        try (ModuleProcess module = ModuleProcess.start(List.of("-Xmx256m"), settings, Map.of())) {
            await().atMost(Duration.ofSeconds(60)).until(() -> Files.isDirectory(dataDir.resolve("outbox/reports")));
            long start = System.nanoTime();
            Files.move(csv, dataDir.resolve("inbox/big.csv"));
            long peakRss = 0;
            // its report is rewritten while it runs: the file is through when the report says it ended
            while (!Reports.ended(dataDir, "big.csv")) {
                assertThat(module.isAlive()).as("module died:\n%s", module.output()).isTrue();
                peakRss = Math.max(peakRss, rssKb(module.pid()));
                await().pollDelay(Duration.ofSeconds(1)).until(() -> true);
            }
            long moduleNanos = System.nanoTime() - start;
            peakRss = Math.max(peakRss, peakRssKb(module.pid()));
            JsonNode report = RunningModule.read(Reports.of(dataDir, "big.csv").get(0));

            assertThat(report.path("requests").asLong()).isEqualTo(rows);
            assertThat(report.path("outcomes").path("success").asLong()).isEqualTo(rows);
            assertThat(module.output()).doesNotContain("OutOfMemoryError");
            long ledgerBytes;
            try (var files = Files.walk(dataDir.resolve("ledger"))) {
                ledgerBytes = files.filter(Files::isRegularFile).mapToLong(f -> f.toFile().length()).sum();
            }
            System.out.printf("BENCHMARK rows=%d module=%.1fs (%.0f rows/s) parse-only baseline=%.2fs ratio=%.0fx "
                              + "peak RSS=%d MiB with -Xmx256m, ledger %d MiB%n", rows, moduleNanos / 1e9,
                    rows / (moduleNanos / 1e9), baselineNanos / 1e9, (double) moduleNanos / baselineNanos,
                    peakRss / 1024, ledgerBytes >> 20);
        }
    }

    /** The baseline: the same file read row by row by Jackson, nothing else. */
    private static long parseOnly(Path csv, int rows) throws IOException {
        long start = System.nanoTime();
        int count = 0;
        try (InputStream in = Files.newInputStream(csv); RequestFile file = new RequestFiles(() -> false).open(in, "big.csv")) {
            while (file.hasNext()) {
                file.next();
                count++;
            }
        }
        assertThat(count).isEqualTo(rows);
        return System.nanoTime() - start;
    }

    private static long rssKb(long pid) throws IOException {
        return statusField(pid, "VmRSS:");
    }

    private static long peakRssKb(long pid) throws IOException {
        return statusField(pid, "VmHWM:");
    }

    private static long statusField(long pid, String field) throws IOException {
        Path status = Path.of("/proc/" + pid + "/status");
        if (!Files.exists(status)) {
            return 0;
        }
        return Files.readAllLines(status).stream().filter(l -> l.startsWith(field))
                .map(l -> Long.parseLong(l.replaceAll("[^0-9]", ""))).findFirst().orElse(0L);
    }
}
