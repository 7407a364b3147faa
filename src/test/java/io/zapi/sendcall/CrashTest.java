package io.zapi.sendcall;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.github.tomakehurst.wiremock.verification.LoggedRequest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.zapi.sendcall.pipeline.Json;
import io.zapi.sendcall.runtime.ModuleConfiguration;

import static com.github.tomakehurst.wiremock.client.WireMock.anyUrl;
import static com.github.tomakehurst.wiremock.client.WireMock.okJson;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The module as its own process, killed (-9) or stopped (SIGTERM) in the middle of a 10,000-row file, then started
 * again: every row ends with exactly one record, and the calls are counted at the Z-API stand-in.
 */
class CrashTest {

    private static final int ROWS = 10_000;
    private static final int CONCURRENCY = 8;
    /** Rows with a phone too short to call: rejected early, before any crash, and never again after it. */
    private static final List<Integer> INVALID = List.of(10, 20, 30);
    private static final int VALID = ROWS - INVALID.size();

    @TempDir
    Path dataDir;

    @Test
    void afterKillNineEveryRowHasOneRecordAndNoCallIsPlacedTwice() throws Exception {
        Map<String, Long> callsPerPhone = crashAndRestart(false);

        assertThat(callsPerPhone.values()).allSatisfy(calls -> assertThat(calls).isEqualTo(1));
        List<JsonNode> interrupted = records().stream()
                .filter(r -> r.path("error").asText().startsWith("the module stopped while this request")).toList();
        // a row left in flight by the kill is recorded as failed rather than called again
        assertThat(callsPerPhone.size() + interrupted.stream()
                .filter(r -> !callsPerPhone.containsKey(r.path("request").path("phone").asText())).count())
                .isEqualTo(VALID);
        System.out.printf("CRASH kill -9: %d rows, %d calls placed, %d interrupted rows recorded as failed%n", ROWS,
                callsPerPhone.size(), interrupted.size());
    }

    @Test
    void withResendInterruptedAtMostTheCallsInFlightArePlacedTwice() throws Exception {
        Map<String, Long> callsPerPhone = crashAndRestart(true);

        long placedTwice = callsPerPhone.values().stream().filter(calls -> calls == 2).count();
        assertThat(callsPerPhone).hasSize(VALID);
        assertThat(callsPerPhone.values()).allSatisfy(calls -> assertThat(calls).isBetween(1L, 2L));
        assertThat(placedTwice).isLessThanOrEqualTo(CONCURRENCY);
        assertThat(records()).filteredOn(r -> !r.path("outcome").asText().equals("rejected"))
                .hasSize(VALID).allSatisfy(r -> assertThat(r.path("outcome").asText()).isEqualTo("success"));
        System.out.printf("CRASH kill -9 with zapi.resend-interrupted=true: %d rows, %d placed twice (bound %d)%n",
                ROWS, placedTwice, CONCURRENCY);
    }

    @Test
    void sigtermFinishesWhatIsInFlightExitsZeroAndTheFileResumes() throws Exception {
        try (ZapiStub zapi = new ZapiStub()) {
            zapi.stubFor(post(anyUrl()).willReturn(okJson("{\"zaapId\":\"Z\",\"messageId\":\"M\",\"id\":\"M\"}")
                    .withFixedDelay(20)));
            writeCsv();
            try (ModuleProcess module = ModuleProcess.start(settings(zapi, false), Map.of())) {
                await().atMost(Duration.ofSeconds(60)).until(() -> zapi.allRequests().size() >= 500);
                module.terminate();
                assertThat(module.awaitExit()).as(module.output()).isZero();
                assertThat(module.output()).contains("the file stays in the inbox");
            }
            int callsBeforeStop = zapi.allRequests().size();
            // every call in flight finished and was recorded; the file waits in the inbox
            assertThat(records()).hasSize(callsBeforeStop + INVALID.size());
            assertThat(dataDir.resolve("inbox/big.csv")).exists();

            try (ModuleProcess module = ModuleProcess.start(settings(zapi, false), Map.of())) {
                awaitFileDone();
            }
            assertThat(indexCounts().values()).hasSize(ROWS).allSatisfy(count -> assertThat(count).isEqualTo(1));
            assertThat(callsPerPhone(zapi).values()).hasSize(VALID).allSatisfy(calls -> assertThat(calls).isEqualTo(1));
            assertReportCoversTheWholeFile();
            System.out.printf("CRASH SIGTERM: %d calls finished and recorded before exit 0, the rest after restart%n",
                    callsBeforeStop);
        }
    }

    private Map<String, Long> crashAndRestart(boolean resendInterrupted) throws Exception {
        try (ZapiStub zapi = new ZapiStub()) {
            zapi.stubFor(post(anyUrl()).willReturn(okJson("{\"zaapId\":\"Z\",\"messageId\":\"M\",\"id\":\"M\"}")
                    .withFixedDelay(5)));
            writeCsv();
            try (ModuleProcess module = ModuleProcess.start(settings(zapi, resendInterrupted), Map.of())) {
                await().atMost(Duration.ofSeconds(60)).until(() -> zapi.allRequests().size() >= 2000);
                module.kill();
            }
            assertThat(dataDir.resolve("inbox/big.csv")).exists();
            try (ModuleProcess module = ModuleProcess.start(settings(zapi, resendInterrupted), Map.of())) {
                awaitFileDone();
            }
            assertThat(indexCounts()).hasSize(ROWS).allSatisfy((index, count) -> assertThat(count).isEqualTo(1));
            assertThat(files("duplicate")).isEmpty();
            assertReportCoversTheWholeFile();
            return callsPerPhone(zapi);
        }
    }

    /** The report of a resumed file counts every row, those recorded before the interruption too, as the records do. */
    private void assertReportCoversTheWholeFile() throws IOException {
        List<Path> reports;
        try (Stream<Path> files = Files.list(dataDir.resolve("outbox/reports"))) {
            reports = files.filter(f -> f.getFileName().toString().endsWith("big.csv.json")).toList();
        }
        assertThat(reports).hasSize(1);
        JsonNode report = RunningModule.read(reports.get(0));
        Map<String, Long> recorded = records().stream()
                .collect(Collectors.groupingBy(r -> r.path("outcome").asText(), Collectors.counting()));
        Map<String, Long> reported = new HashMap<>();
        report.path("outcomes").fields().forEachRemaining(e -> reported.put(e.getKey(), e.getValue().asLong()));
        assertThat(report.path("requests").asLong()).isEqualTo(ROWS);
        assertThat(reported).isEqualTo(recorded);
        assertThat(reported.get("rejected")).isEqualTo(INVALID.size());
    }

    private Map<String, String> settings(ZapiStub zapi, boolean resendInterrupted) {
        Map<String, String> settings = new HashMap<>();
        settings.putAll(zapi.moduleSettings());
        settings.put("zapi.data-dir", dataDir.toString());
        settings.put("zapi.inbox.poll-delay-ms", "100");
        settings.put("zapi.concurrency", String.valueOf(CONCURRENCY));
        settings.put("zapi.resend-interrupted", String.valueOf(resendInterrupted));
        settings.put("ZAPI_LOG_LEVEL", "WARN");
        return settings;
    }

    private void writeCsv() throws IOException {
        Files.createDirectories(dataDir.resolve("inbox"));
        Path part = dataDir.resolve("inbox/big.csv.part");
        Files.write(part, Stream.concat(Stream.of("phone"),
                IntStream.rangeClosed(1, ROWS).mapToObj(row -> INVALID.contains(row) ? "12" : phone(row))).toList());
        Files.move(part, dataDir.resolve("inbox/big.csv"));
    }

    private void awaitFileDone() {
        await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(500)).until(() -> {
            try (Stream<Path> done = Files.list(dataDir.resolve("inbox/.done"))) {
                return done.anyMatch(f -> f.getFileName().toString().endsWith("-big.csv"));
            }
        });
    }

    private static String phone(int row) {
        return "55719%08d".formatted(row);
    }

    private static Map<String, Long> callsPerPhone(ZapiStub zapi) {
        return zapi.allRequests().stream().map(LoggedRequest::getBodyAsString)
                .map(body -> read(body).path("phone").asText())
                .collect(Collectors.groupingBy(Function.identity(), Collectors.counting()));
    }

    private Map<Integer, Long> indexCounts() {
        return records().stream().map(r -> r.path("source").path("index").asInt())
                .collect(Collectors.groupingBy(Function.identity(), Collectors.counting()));
    }

    private List<JsonNode> records() {
        return ModuleConfiguration.OUTCOMES.stream().flatMap(this::files).map(RunningModule::read).toList();
    }

    private Stream<Path> files(String outcome) {
        try (Stream<Path> files = Files.list(dataDir.resolve("outbox").resolve(outcome))) {
            return files.filter(f -> !f.getFileName().toString().startsWith(".")).toList().stream();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static JsonNode read(String json) {
        try {
            return Json.MAPPER.readTree(json);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
