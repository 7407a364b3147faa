package io.zapi.sendcall;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The jar as it is shipped (target/zapi-send-call.jar, run by the README's command), not the test classpath: every
 * component a route names must be inside it. Started in sandbox mode, it places the sample call and stops on SIGTERM
 * with exit status 0.
 */
class PackagedJarIT {

    @TempDir
    Path dataDir;

    @Test
    void theShippedJarRunsTheQuickStart() throws Exception {
        Path jar = Path.of("target/zapi-send-call.jar");
        assertThat(jar).exists();
        Path log = Files.createTempFile("zapi-jar", ".log");
        Process module = new ProcessBuilder(ProcessHandle.current().info().command().orElse("java"),
                "-Dzapi.sandbox=true", "-Dzapi.data-dir=" + dataDir, "-Dzapi.inbox.poll-delay-ms=100",
                "-Dcamel.server.port=" + RunningModule.freePort(),
                "-Dcamel.management.port=" + RunningModule.freePort(),
                "-Dzapi.jms.embedded-port=" + RunningModule.freePort(), "-jar", jar.toString())
                .directory(new File(".")).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try {
            Files.createDirectories(dataDir.resolve("inbox"));
            Path part = dataDir.resolve("inbox/sample.json.part");
            Files.writeString(part, "{\"phone\": \"+55 (11) 99999-9999\", \"callDuration\": 7}");
            Files.move(part, dataDir.resolve("inbox/sample.json"), StandardCopyOption.ATOMIC_MOVE);

            List<Path> records = await().atMost(Duration.ofSeconds(60)).until(() -> {
                // a jar that cannot start ends at once: say why rather than wait
                assertThat(module.isAlive()).as(Files.readString(log, StandardCharsets.UTF_8)).isTrue();
                try (Stream<Path> files = Files.list(dataDir.resolve("outbox/success"))) {
                    return files.filter(f -> f.toString().endsWith(".json") && !f.getFileName().toString()
                            .startsWith(".")).toList();
                } catch (java.nio.file.NoSuchFileException notYet) {
                    return List.of();
                }
            }, found -> found.size() == 1);
            assertThat(RunningModule.read(records.get(0)).path("outcome").asText()).isEqualTo("success");
        } finally {
            module.destroy();
            assertThat(module.waitFor(60, TimeUnit.SECONDS)).isTrue();
        }
        String output = Files.readString(log, StandardCharsets.UTF_8);
        assertThat(module.exitValue()).as(output).isZero();
        assertThat(output).doesNotContain(" ERROR ");
    }
}
