package io.zapi.sendcall;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A file's rows leave nothing behind once recorded, however long the file: the memory a file in progress holds does
 * not grow with the rows already done, so that a file of millions of rows runs in a small heap. Counted with the
 * JDK's own class histogram (jcmd GC.class_histogram: live objects only) of this JVM, while the file is still in
 * progress (its first row's call held by the stand-in).
 */
class LongFileMemoryTest {

    private static final int ROWS = 3_000;
    private static final String HELD_PHONE = "5571900000000";

    @TempDir
    Path dataDir;

    @Test
    void theRowsDoneOfAFileInProgressHoldNoStreamCache() throws Exception {
        ZapiStub zapi = new ZapiStub();
        try (RunningModule module = RunningModule.start(zapi.baseUrl(), dataDir, Map.of())) {
            zapi.answer(HELD_PHONE, aResponse().withStatus(200).withFixedDelay(60_000)
                    .withBody("{\"zaapId\": \"held\", \"messageId\": \"held\", \"id\": \"held\"}"));
            Files.createDirectories(dataDir.resolve("inbox"));
            Path part = dataDir.resolve("inbox/long.csv.part");
            Files.writeString(part, Stream.concat(Stream.of("phone"),
                    IntStream.range(0, ROWS).mapToObj(i -> "55719%08d".formatted(i))).collect(Collectors.joining("\n")));
            Files.move(part, dataDir.resolve("inbox/long.csv"));

            await().atMost(Duration.ofMinutes(3)).pollInterval(Duration.ofMillis(500))
                    .until(() -> successRecords(module) >= ROWS - 1);
            long streamCaches = liveInstances("org.apache.camel.converter.stream.FileInputStreamCache$TempFileManager");

            // each call's answer is read through one stream cache: one per row in flight at most, none per row done
            assertThat(streamCaches).isLessThan(100);
        } finally {
            // the held call fails at once, so that the module stops without waiting for it
            zapi.close();
        }
    }

    private static long successRecords(RunningModule module) throws Exception {
        Path success = module.outbox("success");
        if (!Files.isDirectory(success)) {
            return 0;
        }
        try (Stream<Path> records = Files.list(success)) {
            return records.count();
        }
    }

    /** Live instances of the class in this JVM, by the JDK's own histogram (which collects garbage first). */
    private static long liveInstances(String className) throws Exception {
        Process jcmd = new ProcessBuilder("jcmd", String.valueOf(ProcessHandle.current().pid()), "GC.class_histogram")
                .redirectErrorStream(true).start();
        String histogram = new String(jcmd.getInputStream().readAllBytes());
        assertThat(jcmd.waitFor()).isZero();
        assertThat(histogram).contains("java.lang.String");
        return histogram.lines().filter(line -> line.trim().endsWith(" " + className)
                                                || line.contains(" " + className + " "))
                .mapToLong(line -> Long.parseLong(line.trim().split("\\s+")[1])).sum();
    }
}
