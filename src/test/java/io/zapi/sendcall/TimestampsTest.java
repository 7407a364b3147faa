package io.zapi.sendcall;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.zapi.sendcall.records.Timestamps;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** Every moment in records and reports is UTC with exactly three fractional digits. */
class TimestampsTest {

    private static final String MILLIS = "\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\.\\d{3}Z";

    @TempDir
    Path dataDir;

    @Test
    void aWholeSecondAndANanosecondInstantBothHaveThreeDigits() {
        assertThat(Timestamps.format(Instant.parse("2026-11-29T16:31:03Z"))).isEqualTo("2026-11-29T16:31:03.000Z");
        assertThat(Timestamps.format(Instant.parse("2026-11-29T16:31:03.219876543Z")))
                .isEqualTo("2026-11-29T16:31:03.219Z");
        assertThat(Timestamps.format(Instant.parse("2026-11-29T16:31:03.200Z"))).isEqualTo("2026-11-29T16:31:03.200Z");
    }

    @Test
    void recordsAndReportsWriteMillisecondsInUtc() throws IOException {
        try (ZapiStub zapi = new ZapiStub(); RunningModule module = RunningModule.start(zapi.baseUrl(), dataDir)) {
            module.drop("times.jsonl", "{\"phone\": \"5561966660001\"}\n{\"phone\": \"1\"}\n");

            List<JsonNode> records = module.awaitRecords("times.jsonl", 2);
            assertThat(records).allSatisfy(r -> assertThat(r.path("timestamp").asText()).matches(MILLIS));

            Path reports = dataDir.resolve("outbox/reports");
            JsonNode report = RunningModule.read(await().atMost(Duration.ofSeconds(20)).until(() -> {
                try (Stream<Path> files = Files.list(reports)) {
                    return files.filter(f -> f.getFileName().toString().endsWith("times.jsonl.json")).findFirst()
                            .orElse(null);
                }
            }, path -> path != null));
            assertThat(report.path("startedAt").asText()).matches(MILLIS);
            assertThat(report.path("finishedAt").asText()).matches(MILLIS);
        }
    }
}
