package io.zapi.sendcall;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static com.github.tomakehurst.wiremock.client.WireMock.okJson;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * On SIGTERM readiness goes DOWN first, so that no new request is sent to a module on its way out, and only then is
 * what is in flight drained: the module as its own process, a request held in flight by a slow Z-API stand-in.
 */
class ShutdownReadinessTest {

    private static final String PHONE = "5561955550077";

    @TempDir
    Path dataDir;

    @Test
    void readinessIsDownWhileTheRequestInFlightIsStillDrainedAndRecorded() throws Exception {
        try (ZapiStub zapi = new ZapiStub()) {
            // long enough to see the readiness answer while the call is still out, well within the shutdown timeout
            zapi.answer(PHONE, okJson("{\"zaapId\":\"" + ZapiStub.ZAAP_ID + "\",\"messageId\":\""
                                      + ZapiStub.MESSAGE_ID + "\"}").withFixedDelay(10_000));
            int managementPort = RunningModule.freePort();
            int apiPort = RunningModule.freePort();
            Map<String, String> settings = Map.of("zapi.base-url", zapi.baseUrl(),
                    "zapi.instance-id", RunningModule.INSTANCE_ID, "zapi.instance-token", RunningModule.INSTANCE_TOKEN,
                    "zapi.client-token", RunningModule.CLIENT_TOKEN, "zapi.data-dir", dataDir.toString(),
                    "camel.management.port", String.valueOf(managementPort),
                    "camel.server.port", String.valueOf(apiPort));
            try (ModuleProcess module = ModuleProcess.start(settings, Map.of())) {
                await().atMost(Duration.ofSeconds(60)).ignoreExceptions()
                        .until(() -> ready(managementPort), status -> status == 200);

                CompletableFuture<HttpResponse<String>> answer = HttpClient.newHttpClient().sendAsync(
                        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + apiPort + "/send-call"))
                                .header("Content-Type", "application/json")
                                .POST(HttpRequest.BodyPublishers.ofString("{\"phone\": \"" + PHONE
                                                                          + "\", \"id\": \"in-flight\"}")).build(),
                        HttpResponse.BodyHandlers.ofString());
                await().atMost(Duration.ofSeconds(30)).until(() -> zapi.requestsFor(PHONE).size() == 1);

                module.terminate();
                await().atMost(Duration.ofSeconds(8)).pollInterval(Duration.ofMillis(100))
                        .until(() -> ready(managementPort), status -> status == 503);
                assertThat(successRecords()).as("the request is still in flight").isEmpty();
                assertThat(answer).isNotDone();

                await().atMost(Duration.ofSeconds(30)).until(() -> successRecords().size() == 1);
                assertThat(answer.get(30, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
                assertThat(module.awaitExit()).as(module.output()).isZero();
                assertThat(zapi.requestsFor(PHONE)).hasSize(1);
            }
        }
    }

    private static int ready(int managementPort) throws Exception {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + managementPort
                                                                                + "/observe/health/ready"))
                .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.discarding()).statusCode();
    }

    private List<Path> successRecords() {
        try (Stream<Path> files = Files.list(dataDir.resolve("outbox/success"))) {
            return files.filter(f -> !f.getFileName().toString().startsWith(".")).toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
