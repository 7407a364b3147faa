package io.zapi.sendcall;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpRequest.BodyPublishers;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodyHandlers;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** The real main(), as its own process: what a user sees when the module cannot start, and settings from env. */
class StartupTest {

    @TempDir
    Path dataDir;

    @Test
    void withoutCredentialsItRefusesToStartNamingEachSettingAndItsVariable() throws Exception {
        try (ModuleProcess module = ModuleProcess.start(Map.of("zapi.data-dir", dataDir.toString()), Map.of())) {
            assertThat(module.awaitExit()).isEqualTo(1);
            String output = module.output();
            assertThat(output).contains("Cannot start: Missing settings zapi.instance-id (env ZAPI_INSTANCE_ID), "
                                        + "zapi.instance-token (env ZAPI_INSTANCE_TOKEN), zapi.client-token "
                                        + "(env ZAPI_CLIENT_TOKEN)");
            assertThat(output).doesNotContain("\tat ").doesNotContain("Exception");
        }
    }

    @Test
    void oneMissingSettingIsNamedAlone() throws Exception {
        Map<String, String> env = Map.of("ZAPI_INSTANCE_ID", "instance-1", "ZAPI_CLIENT_TOKEN", "client-token-1");
        try (ModuleProcess module = ModuleProcess.start(Map.of("zapi.data-dir", dataDir.toString()), env)) {
            assertThat(module.awaitExit()).isEqualTo(1);
            assertThat(module.output()).contains("Cannot start: Missing setting zapi.instance-token "
                                                 + "(env ZAPI_INSTANCE_TOKEN).");
        }
    }

    @Test
    void startingWithNoRoutesIsAnErrorNotAQuietSuccess() throws Exception {
        String pattern = "file:" + dataDir + "/*.yaml";
        Map<String, String> settings = Map.of("zapi.data-dir", dataDir.toString(), "zapi.sandbox", "true",
                "camel.main.routes-include-pattern", pattern);
        try (ModuleProcess module = ModuleProcess.start(settings, Map.of())) {
            assertThat(module.awaitExit()).isEqualTo(1);
            assertThat(module.output()).contains("Cannot start: No routes were loaded from " + pattern)
                    .doesNotContain("\tat ");
        }
    }

    @Test
    void startingOutsideTheProjectRootSaysWhereToStart() throws Exception {
        Map<String, String> settings = Map.of("zapi.data-dir", dataDir.toString(), "zapi.sandbox", "true",
                "camel.main.routes-include-pattern", "file:no-such-folder/*.yaml");
        try (ModuleProcess module = ModuleProcess.start(settings, Map.of())) {
            assertThat(module.awaitExit()).isEqualTo(1);
            assertThat(module.output()).contains("Cannot start: The routes folder ")
                    .contains("no-such-folder does not exist: start the module from the project root")
                    .doesNotContain("\tat ");
        }
    }

    @Test
    void aTakenBrokerPortIsRefusedNamingThePortAndTheSettingsToChange() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            String port = String.valueOf(taken.getLocalPort());
            Map<String, String> settings = Map.of("zapi.data-dir", dataDir.toString(), "zapi.sandbox", "true");
            try (ModuleProcess module = ModuleProcess.start(settings, Map.of("ZAPI_JMS_EMBEDDED_PORT", port))) {
                assertThat(module.awaitExit()).isEqualTo(1);
                assertThat(module.output())
                        .contains("Cannot start: The embedded JMS broker cannot listen on 127.0.0.1:" + port + " (")
                        .contains("is another broker or module running?")
                        .contains("zapi.jms.embedded-port (env ZAPI_JMS_EMBEDDED_PORT)")
                        .contains("zapi.jms.broker-url (env ZAPI_JMS_BROKER_URL)")
                        .doesNotContain("\tat ");
            }
        }
    }

    @Test
    void aSecondModuleOnTheSameDataFolderIsRefusedInsteadOfWaitingForever() throws Exception {
        try (ZapiStub zapi = new ZapiStub(); RunningModule first = RunningModule.start(zapi.baseUrl(), dataDir)) {
            Map<String, String> settings = Map.of("zapi.data-dir", dataDir.toString(), "zapi.sandbox", "true");
            try (ModuleProcess second = ModuleProcess.start(settings, Map.of())) {
                assertThat(second.awaitExit()).isEqualTo(1);
                assertThat(second.output()).contains("Cannot start: The embedded JMS broker did not start: its data "
                                                     + "folder " + dataDir.resolve("broker").toAbsolutePath()
                                                     + " is locked by another running module");
            }
            assertThat(first.context().getStatus().isStarted()).isTrue();
        }
    }

    @Test
    void settingsComeFromEnvironmentVariablesAndTheDataFoldersAreCreated() throws Exception {
        int httpPort = RunningModule.freePort();
        try (ZapiStub zapi = new ZapiStub()) {
            Map<String, String> env = Map.of(
                    "ZAPI_BASE_URL", zapi.baseUrl(),
                    "ZAPI_INSTANCE_ID", RunningModule.INSTANCE_ID,
                    "ZAPI_INSTANCE_TOKEN", RunningModule.INSTANCE_TOKEN,
                    "ZAPI_CLIENT_TOKEN", RunningModule.CLIENT_TOKEN,
                    "ZAPI_DATA_DIR", dataDir.toString(),
                    "CAMEL_SERVER_PORT", String.valueOf(httpPort));
            try (ModuleProcess module = ModuleProcess.start(Map.of(), env)) {
                for (String folder : ModuleConfiguration.FOLDERS) {
                    await().atMost(Duration.ofSeconds(30)).until(() -> Files.isDirectory(dataDir.resolve(folder)));
                }
                Files.writeString(dataDir.resolve("inbox/env.json.part"), "{\"phone\": \"5511977776666\"}");
                Files.move(dataDir.resolve("inbox/env.json.part"), dataDir.resolve("inbox/env.json"));

                await().atMost(Duration.ofSeconds(30)).until(() -> !zapi.requestsFor("5511977776666").isEmpty());
                Path success = dataDir.resolve("outbox/success");
                JsonNode record = await().atMost(Duration.ofSeconds(30)).until(
                        () -> Files.list(success).filter(f -> !f.getFileName().toString().startsWith("."))
                                .findFirst().map(RunningModule::read).orElse(null),
                        r -> r != null);
                assertThat(record.path("outcome").asText()).isEqualTo("success");
                // the HTTP input listens on CAMEL_SERVER_PORT
                HttpResponse<String> answer = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + httpPort + "/send-call"))
                        .header("Content-Type", "application/json")
                        .POST(BodyPublishers.ofString("{\"phone\": \"5511977776667\"}")).build(),
                        BodyHandlers.ofString());
                assertThat(answer.statusCode()).isEqualTo(200);
                assertThat(module.output()).doesNotContain(RunningModule.INSTANCE_TOKEN)
                        .doesNotContain(RunningModule.CLIENT_TOKEN);
            }
        }
    }
}
