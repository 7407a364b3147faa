package io.zapi.sendcall;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.github.tomakehurst.wiremock.http.Fault;
import org.apache.activemq.artemis.core.config.Configuration;
import org.apache.activemq.artemis.core.config.impl.ConfigurationImpl;
import org.apache.activemq.artemis.core.server.embedded.EmbeddedActiveMQ;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import io.zapi.sendcall.pipeline.Json;
import io.zapi.sendcall.runtime.StartupException;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * The module's health over real HTTP on its management port: readiness goes DOWN with its reason while the ledger
 * cannot be written, a data or outbox folder is read-only (a real read-only bind mount; chmod does not stop root) or
 * the JMS consumer has lost its broker (a real Artemis broker in this JVM, stopped and started again), and UP again
 * once the cause is gone; the Z-API check is shown but is no part of readiness.
 */
class HealthTest {

    private static final Duration A_WHILE = Duration.ofSeconds(60);

    @TempDir
    Path dataDir;

    @RegisterExtension
    final Mounts mounts = new Mounts();

    @Test
    void aDataFolderThatCannotBeWrittenIsRefusedAtStartUp() throws Exception {
        mounts.readOnly(dataDir);
        try (ZapiStub zapi = new ZapiStub()) {
            assertThatThrownBy(() -> RunningModule.start(zapi.baseUrl(), dataDir).close())
                    .satisfies(e -> assertThat(startupCause(e)).isNotNull().extracting(Throwable::getMessage)
                            .asString().contains(dataDir.toString()).contains("Read-only file system")
                            .contains("zapi.data-dir (env ZAPI_DATA_DIR)"));
        }
    }

    @Test
    void aLedgerFolderThatCannotBeWrittenIsRefusedAtStartUp() throws Exception {
        Path ledger = Files.createDirectories(dataDir.resolve("ledger"));
        mounts.readOnly(ledger);
        try (ZapiStub zapi = new ZapiStub()) {
            assertThatThrownBy(() -> RunningModule.start(zapi.baseUrl(), dataDir).close())
                    .satisfies(e -> assertThat(startupCause(e)).isNotNull().extracting(Throwable::getMessage)
                            .asString().contains(ledger.toString()).contains("zapi.data-dir (env ZAPI_DATA_DIR)"));
        }
    }

    @Test
    void readinessIsDownWhileTheLedgerCannotBeWrittenAndUpAgainOnceItCan() throws Exception {
        Path ledger = Files.createDirectories(dataDir.resolve("ledger"));
        mounts.tmpfs(ledger, "512k");
        try (ZapiStub zapi = new ZapiStub(); RunningModule module = RunningModule.start(zapi.baseUrl(), dataDir)) {
            awaitReady(module, 200);
            Path filler = ledger.resolve("filler");
            Mounts.fill(filler);

            JsonNode down = awaitReady(module, 503);
            assertThat(check(down, "ledger").path("status").asText()).isEqualTo("DOWN");
            assertThat(message(check(down, "ledger"))).contains("cannot be written").contains(ledger.toString());
            // the module gets over a full disk by itself: no restart wanted
            assertThat(health(module, "/observe/health/live").statusCode()).isEqualTo(200);

            Files.delete(filler);
            JsonNode up = awaitReady(module, 200);
            assertThat(check(up, "ledger").path("status").asText()).isEqualTo("UP");
        }
    }

    @Test
    void readinessIsDownWhileTheDataFolderIsReadOnlyAndUpAgainOnceItIsWritable() throws Exception {
        try (ZapiStub zapi = new ZapiStub(); RunningModule module = RunningModule.start(zapi.baseUrl(), dataDir)) {
            awaitReady(module, 200);
            mounts.readOnly(dataDir);

            JsonNode down = awaitReady(module, 503);
            assertThat(check(down, "folders").path("status").asText()).isEqualTo("DOWN");
            assertThat(message(check(down, "folders"))).contains("not writable").contains(dataDir.toString());

            mounts.writable(dataDir);
            assertThat(check(awaitReady(module, 200), "folders").path("status").asText()).isEqualTo("UP");
        }
    }

    @Test
    void readinessIsDownWhileAnOutboxFolderIsReadOnlyAndUpAgainOnceItIsWritable() throws Exception {
        try (ZapiStub zapi = new ZapiStub(); RunningModule module = RunningModule.start(zapi.baseUrl(), dataDir)) {
            awaitReady(module, 200);
            Path failed = module.outbox("failed");
            mounts.readOnly(failed);

            JsonNode down = awaitReady(module, 503);
            assertThat(message(check(down, "folders"))).contains(failed.toString())
                    .doesNotContain(module.outbox("success").toString());

            mounts.writable(failed);
            awaitReady(module, 200);
            Path reports = dataDir.resolve("outbox/reports");
            mounts.readOnly(reports);
            assertThat(message(check(awaitReady(module, 503), "folders"))).contains(reports.toString());
            mounts.writable(reports);
            awaitReady(module, 200);
        }
    }

    @Test
    void readinessIsDownWhileTheExternalBrokerIsDownAndUpAgainOnceTheConsumerIsBack() throws Exception {
        int port = RunningModule.freePort();
        EmbeddedActiveMQ broker = externalBroker(port);
        try (ZapiStub zapi = new ZapiStub(); RunningModule module = RunningModule.start(zapi.baseUrl(), dataDir,
                Map.of("zapi.jms.broker-url", "tcp://127.0.0.1:" + port))) {
            assertThat(check(awaitReady(module, 200), "jms-consumer").path("status").asText()).isEqualTo("UP");
            broker.stop();

            JsonNode down = awaitReady(module, 503);
            assertThat(check(down, "jms-consumer").path("status").asText()).isEqualTo("DOWN");
            assertThat(message(check(down, "jms-consumer"))).contains("not connected");
            assertThat(health(module, "/observe/health/live").statusCode()).isEqualTo(200);

            broker = externalBroker(port);
            assertThat(check(awaitReady(module, 200), "jms-consumer").path("status").asText()).isEqualTo("UP");
        } finally {
            broker.stop();
        }
    }

    @Test
    void theZapiCheckCountsConnectionFailuresButIsNoPartOfReadiness() throws Exception {
        try (ZapiStub zapi = new ZapiStub(); RunningModule module = RunningModule.start(zapi.baseUrl(), dataDir,
                Map.of("zapi.health.zapi-failures", "2"))) {
            awaitReady(module, 200);
            assertThat(module.post("{\"phone\": \"5561955550001\"}").statusCode()).isEqualTo(200);
            JsonNode up = check(json(health(module, "/observe/health?data=true")), "zapi");
            assertThat(up.path("status").asText()).isEqualTo("UP");
            assertThat(up.toString()).contains("\"zapi.last.status\":200").contains("zapi.last.success");

            zapi.answer("5561955550002", aResponse().withFault(Fault.CONNECTION_RESET_BY_PEER));
            module.post("{\"phone\": \"5561955550002\"}");
            assertThat(check(json(health(module, "/observe/health?data=true")), "zapi").path("status").asText())
                    .isEqualTo("UP");
            module.post("{\"phone\": \"5561955550002\"}");

            HttpResponse<String> all = health(module, "/observe/health?data=true");
            JsonNode down = check(json(all), "zapi");
            assertThat(down.path("status").asText()).isEqualTo("DOWN");
            assertThat(down.toString()).contains("\"zapi.connection.failures\":2").contains("2 calls in a row");
            assertThat(all.statusCode()).isEqualTo(503);
            // an outage of Z-API is no reason to take this replica out: every replica would go
            HttpResponse<String> ready = health(module, "/observe/health/ready");
            assertThat(ready.statusCode()).as(ready.body()).isEqualTo(200);
            assertThat(check(json(ready), "zapi")).isNull();

            assertThat(module.post("{\"phone\": \"5561955550003\"}").statusCode()).isEqualTo(200);
            JsonNode back = check(json(health(module, "/observe/health?data=true")), "zapi");
            assertThat(back.path("status").asText()).isEqualTo("UP");
            assertThat(back.toString()).contains("\"zapi.connection.failures\":0");
        }
    }

    @Test
    void livenessIsTheCamelContextAlone() throws Exception {
        try (ZapiStub zapi = new ZapiStub(); RunningModule module = RunningModule.start(zapi.baseUrl(), dataDir)) {
            HttpResponse<String> live = health(module, "/observe/health/live");
            assertThat(live.statusCode()).isEqualTo(200);
            List<String> names = new ArrayList<>();
            json(live).path("checks").forEach(check -> names.add(check.path("name").asText()));
            assertThat(names).contains("context").doesNotContain("ledger", "folders", "jms-consumer", "zapi");
        }
    }

    @Test
    void theFailuresSettingIsRangeChecked() throws Exception {
        try (ZapiStub zapi = new ZapiStub()) {
            assertThatThrownBy(() -> RunningModule.start(zapi.baseUrl(), dataDir,
                    Map.of("zapi.health.zapi-failures", "0")).close())
                    .satisfies(e -> assertThat(startupCause(e).getMessage()).contains(
                            "zapi.health.zapi-failures (env ZAPI_HEALTH_ZAPI_FAILURES) must be a whole number from 1"));
        }
    }

    static EmbeddedActiveMQ externalBroker(int port) throws Exception {
        Configuration configuration = new ConfigurationImpl().setPersistenceEnabled(false).setSecurityEnabled(false)
                .addAcceptorConfiguration("tcp", "tcp://127.0.0.1:" + port);
        EmbeddedActiveMQ broker = new EmbeddedActiveMQ().setConfiguration(configuration);
        broker.start();
        return broker;
    }

    /** Waits until /observe/health/ready answers this status, and returns its JSON. */
    static JsonNode awaitReady(RunningModule module, int status) {
        HttpResponse<String> answer = await().atMost(A_WHILE).pollInterval(Duration.ofMillis(200))
                .until(() -> health(module, "/observe/health/ready"), a -> a.statusCode() == status);
        return json(answer);
    }

    static HttpResponse<String> health(RunningModule module, String path) throws Exception {
        String port = module.context().resolvePropertyPlaceholders("{{camel.management.port}}");
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
    }

    /** The named check of a health answer, or null when it is not there. */
    static JsonNode check(JsonNode health, String name) {
        for (JsonNode check : health.path("checks")) {
            if (name.equals(check.path("name").asText())) {
                return check;
            }
        }
        return null;
    }

    /** A check's message as written: Camel's health JSON escapes the slashes of a message twice ("\\/"). */
    static String message(JsonNode check) {
        return check.path("message").asText().replace("\\/", "/");
    }

    static JsonNode json(HttpResponse<String> answer) {
        try {
            return Json.MAPPER.readTree(answer.body());
        } catch (IOException e) {
            throw new AssertionError("not JSON: " + answer.body(), e);
        }
    }

    private static StartupException startupCause(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof StartupException startup) {
                return startup;
            }
        }
        return null;
    }
}
