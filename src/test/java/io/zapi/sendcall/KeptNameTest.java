package io.zapi.sendcall;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

import static com.github.tomakehurst.wiremock.client.WireMock.okJson;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** The time prefix of a kept original and its report is fixed when the file is first taken, across a restart. */
class KeptNameTest {

    @Test
    void aFileResumedAfterARestartKeepsThePrefixOfItsFirstTaking() throws Exception {
        Path dataDir = Files.createTempDirectory("zapi-kept-name");
        try (ZapiStub zapi = new ZapiStub()) {
            zapi.stubFor(post(urlEqualTo(RunningModule.SEND_CALL_PATH)).atPriority(1)
                    .willReturn(okJson("{\"zaapId\":\"z\",\"messageId\":\"m\",\"id\":\"m\"}").withFixedDelay(200)));
            String rows = IntStream.rangeClosed(1, 400).mapToObj("5561940000%03d"::formatted)
                    .collect(Collectors.joining("\n", "phone\n", "\n"));
            RunningModule first = RunningModule.start(zapi.baseUrl(), dataDir);
            try {
                first.drop("resumed.csv", rows);
                await().atMost(Duration.ofSeconds(20)).until(() -> !first.recordsOf("resumed.csv").isEmpty());
            } finally {
                first.close();
            }
            assertThat(dataDir.resolve("inbox/resumed.csv")).exists();
            String restartedAt = LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmssSSS"));

            RunningModule second = RunningModule.start(zapi.baseUrl(), dataDir);
            try {
                Path report = Reports.awaitOne(dataDir, "resumed.csv");
                List<Path> kept = await().atMost(Duration.ofSeconds(30))
                        .until(() -> second.kept(".done", "resumed.csv"), k -> k.size() == 1);

                assertThat(report.getFileName().toString()).isEqualTo(kept.get(0).getFileName() + ".json");
                // taken first by the module that was stopped, not by the one that finished it
                assertThat(Reports.prefix(report)).isLessThan(restartedAt);
                JsonNode content = RunningModule.read(report);
                assertThat(content.path("file").asText()).isEqualTo("resumed.csv");
            } finally {
                second.close();
            }
        } finally {
            try (Stream<Path> files = Files.walk(dataDir)) {
                files.sorted(Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
            }
        }
    }
}
