package io.zapi.sendcall;

import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
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
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import io.zapi.sendcall.runtime.ModuleConfiguration;
import io.zapi.sendcall.runtime.StartupException;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/** The real main(), as its own process: what a user sees when the module cannot start, and settings from env. */
class StartupTest {

    @TempDir
    Path dataDir;

    @Test
    void withoutCredentialsItRefusesToStartNamingEachSettingAndItsVariable() throws Exception {
        Path notYetThere = dataDir.resolve("data");
        try (ModuleProcess module = ModuleProcess.start(Map.of("zapi.data-dir", notYetThere.toString()), Map.of())) {
            assertThat(refusal(module)).contains("Cannot start: Missing settings zapi.instance-id (env "
                                                 + "ZAPI_INSTANCE_ID), zapi.instance-token (env ZAPI_INSTANCE_TOKEN), "
                                                 + "zapi.client-token (env ZAPI_CLIENT_TOKEN)");
        }
        assertThat(notYetThere).doesNotExist();
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
                assertThat(refusal(second)).contains(inUse(dataDir));
            }
            assertThat(first.context().getStatus().isStarted()).isTrue();
        }
    }

    @Test
    void aSecondModuleOnTheSameDataFolderIsRefusedAlsoWithAnExternalBroker() throws Exception {
        try (ZapiStub zapi = new ZapiStub(); RunningModule first = RunningModule.start(zapi.baseUrl(), dataDir)) {
            // the second module takes its requests from the first one's broker: no journal lock stands in the way
            Map<String, String> settings = Map.of("zapi.data-dir", dataDir.toString(), "zapi.sandbox", "true",
                    "zapi.jms.broker-url", "tcp://127.0.0.1:" + first.jmsPort());
            try (ModuleProcess second = ModuleProcess.start(settings, Map.of())) {
                assertThat(refusal(second)).contains(inUse(dataDir));
            }
            assertThat(first.context().getStatus().isStarted()).isTrue();
        }
    }

    @Test
    void theDataFolderIsHeldWhileTheModuleRunsInThisJvmTooAndFreeAgainWhenItStops() {
        try (ZapiStub zapi = new ZapiStub()) {
            RunningModule first = RunningModule.start(zapi.baseUrl(), dataDir);
            try {
                assertThatThrownBy(() -> RunningModule.start(zapi.baseUrl(), dataDir,
                        Map.of("zapi.jms.broker-url", "tcp://127.0.0.1:" + first.jmsPort())))
                        .rootCause().hasMessageStartingWith(inUse(dataDir));
                assertThat(first.context().getStatus().isStarted()).isTrue();
            } finally {
                first.close();
            }
            try (RunningModule again = RunningModule.start(zapi.baseUrl(), dataDir)) {
                assertThat(again.context().getStatus().isStarted()).isTrue();
            }
        }
    }

    @Test
    void aModuleKilledWithSignal9DoesNotStopTheNextStart() throws Exception {
        Map<String, String> settings = Map.of("zapi.data-dir", dataDir.toString(), "zapi.sandbox", "true");
        try (ModuleProcess killed = ModuleProcess.start(settings, Map.of())) {
            await().atMost(Duration.ofSeconds(60)).until(() -> killed.output().contains(") started in"));
            killed.kill();
        }
        assertThat(dataDir.resolve(".lock")).exists();
        try (RunningModule again = RunningModule.startSandbox(dataDir)) {
            assertThat(again.context().getStatus().isStarted()).isTrue();
        }
    }

    @ParameterizedTest(name = "{0}={1} is refused")
    @CsvSource({
            "zapi.concurrency, 0, 1, 1000",
            "zapi.retry.max-attempts, -1, 1, 100",
            "zapi.http.connect-timeout-ms, 5s, 1, 600000",
            "zapi.inbox.poll-delay-ms, 99999999999999999999, 1, 3600000",
            "zapi.reports.progress-interval-ms, 50, 100, 3600000",
            "zapi.default-call-duration, 16, 1, 15",
            "zapi.rate-limit, 1.5, 0, 100000",
            "camel.server.port, 70000, 1, 65535"})
    void aNumberOutsideItsRangeIsRefusedBeforeAnythingStartsNamingTheSettingItsVariableAndTheRange(
            String key, String value, long min, long max) throws Exception {
        Path notYetThere = dataDir.resolve("data");
        Map<String, String> settings = Map.of("zapi.data-dir", notYetThere.toString(), "zapi.sandbox", "true");
        try (ModuleProcess module = ModuleProcess.start(settings,
                Map.of(ModuleConfiguration.envName(key), value))) {
            assertThat(refusal(module)).endsWith("Cannot start: " + key + " (env " + ModuleConfiguration.envName(key)
                                                 + ") must be a whole number from " + min + " to " + max + ", was \""
                                                 + value + "\".");
        }
        assertThat(notYetThere).doesNotExist();
    }

    @Test
    void aWrongValueGivenAsSystemPropertyIsRefusedLikeAnEnvironmentVariable() throws Exception {
        Map<String, String> settings = Map.of("zapi.data-dir", dataDir.toString(), "zapi.sandbox", "true",
                "zapi.shutdown-timeout-ms", "-5", "zapi.resend-interrupted", "yes");
        try (ModuleProcess module = ModuleProcess.start(settings, Map.of())) {
            assertThat(refusal(module)).contains("zapi.shutdown-timeout-ms (env ZAPI_SHUTDOWN_TIMEOUT_MS) must be a "
                                                 + "whole number from 1 to 3600000, was \"-5\"; "
                                                 + "zapi.resend-interrupted (env ZAPI_RESEND_INTERRUPTED) must be "
                                                 + "true or false, was \"yes\".");
        }
    }

    @Test
    void aTakenHttpPortIsRefusedNamingTheSettingToChange() throws Exception {
        Path notYetThere = dataDir.resolve("data");
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            String port = String.valueOf(taken.getLocalPort());
            Map<String, String> settings = Map.of("zapi.data-dir", notYetThere.toString(), "zapi.sandbox", "true");
            try (ModuleProcess module = ModuleProcess.start(settings, Map.of("CAMEL_SERVER_PORT", port))) {
                assertThat(refusal(module)).contains("Cannot start: The HTTP server cannot listen on 127.0.0.1:"
                                                     + port + " (")
                        .contains("camel.server.port (env CAMEL_SERVER_PORT) to a free port");
            }
        }
        assertThat(notYetThere).doesNotExist();
    }

    @Test
    void startedOutsideTheProjectRootItSaysWhereToStartAndLeavesNothingBehind(@TempDir Path elsewhere)
            throws Exception {
        try (ModuleProcess module = ModuleProcess.start(elsewhere, List.of(), Map.of("zapi.sandbox", "true"),
                Map.of())) {
            assertThat(refusal(module)).endsWith("Cannot start: There is no application.properties in " + elsewhere
                                                 + ": start the module from the project root, where "
                                                 + "application.properties and routes/ are.");
        }
        assertThat(elsewhere).isEmptyDirectory();
    }

    @Test
    void withoutAnApiKeyTheHttpApiListensOnLoopbackOnly() throws Exception {
        try (ZapiStub zapi = new ZapiStub(); RunningModule module = RunningModule.start(zapi.baseUrl(), dataDir)) {
            assertThat(listens("127.0.0.1", httpPort(module))).isTrue();
            // another address of this machine: a server on every interface (0.0.0.0) would answer there too
            assertThat(listens("127.0.0.2", httpPort(module))).isFalse();
        }
    }

    @Test
    void withAnApiKeyTheHttpApiListensOnEveryInterface() throws Exception {
        try (ZapiStub zapi = new ZapiStub(); RunningModule module = RunningModule.start(zapi.baseUrl(), dataDir,
                Map.of("zapi.http.api-key", "an-api-key-of-32-characters-long"))) {
            assertThat(listens("127.0.0.2", httpPort(module))).isTrue();
        }
    }

    @Test
    void beyondLoopbackWithoutAnApiKeyIsRefusedUnlessTheUserSaysSo() throws Exception {
        Path notYetThere = dataDir.resolve("data");
        Map<String, String> settings = Map.of("zapi.data-dir", notYetThere.toString(), "zapi.sandbox", "true");
        try (ModuleProcess module = ModuleProcess.start(settings, Map.of("CAMEL_SERVER_HOST", "0.0.0.0"))) {
            assertThat(refusal(module)).contains("Cannot start: The HTTP API would listen on 0.0.0.0 "
                                                 + "(camel.server.host (env CAMEL_SERVER_HOST)) with no API key")
                    .contains("Set zapi.http.api-key (env ZAPI_HTTP_API_KEY)")
                    .contains("zapi.http.allow-anonymous (env ZAPI_HTTP_ALLOW_ANONYMOUS) to true");
        }
        assertThat(notYetThere).doesNotExist();
        try (ZapiStub zapi = new ZapiStub(); RunningModule module = RunningModule.start(zapi.baseUrl(), dataDir,
                Map.of("camel.server.host", "0.0.0.0", "zapi.http.allow-anonymous", "true"))) {
            assertThat(listens("127.0.0.2", httpPort(module))).isTrue();
        }
    }

    @Test
    void theManagementPortFollowsTheHttpApisBindingRule() throws Exception {
        try (ZapiStub zapi = new ZapiStub()) {
            try (RunningModule module = RunningModule.start(zapi.baseUrl(), dataDir)) {
                assertThat(listens("127.0.0.1", managementPort(module))).isTrue();
                assertThat(listens("127.0.0.2", managementPort(module))).isFalse();
            }
            try (RunningModule module = RunningModule.start(zapi.baseUrl(), dataDir,
                    Map.of("zapi.http.api-key", "an-api-key-of-32-characters-long"))) {
                assertThat(listens("127.0.0.2", managementPort(module))).isTrue();
            }
            try (RunningModule module = RunningModule.start(zapi.baseUrl(), dataDir,
                    Map.of("camel.management.host", "0.0.0.0", "zapi.http.allow-anonymous", "true"))) {
                assertThat(listens("127.0.0.2", managementPort(module))).isTrue();
            }
        }
        Path notYetThere = dataDir.resolve("data");
        Map<String, String> settings = Map.of("zapi.data-dir", notYetThere.toString(), "zapi.sandbox", "true",
                "camel.management.host", "0.0.0.0");
        try (ModuleProcess module = ModuleProcess.start(settings, Map.of())) {
            assertThat(refusal(module)).contains("Cannot start: The management port (health, metrics) would listen "
                                                 + "on 0.0.0.0 (camel.management.host (env CAMEL_MANAGEMENT_HOST)) "
                                                 + "with no API key")
                    .contains("Set zapi.http.api-key (env ZAPI_HTTP_API_KEY)");
        }
        assertThat(notYetThere).doesNotExist();
    }

    @Test
    void aTakenManagementPortIsRefusedNamingTheSetting() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            Map<String, String> settings = Map.of("zapi.data-dir", dataDir.resolve("data").toString(),
                    "zapi.sandbox", "true", "camel.management.port", String.valueOf(taken.getLocalPort()));
            try (ModuleProcess module = ModuleProcess.start(settings, Map.of())) {
                assertThat(refusal(module)).contains("Cannot start: The management server cannot listen on")
                        .contains("Set camel.management.port (env CAMEL_MANAGEMENT_PORT) to a free port");
            }
        }
    }

    /** Two of the module's servers on one port: Vert.x would only log that it could not bind, and run without it. */
    @Test
    void twoOfTheModulesServersOnOnePortAreRefused() {
        int port = RunningModule.freePort();
        assertThatThrownBy(() -> RunningModule.start("http://127.0.0.1:9", dataDir.resolve("same-port"), Map.of(
                "camel.server.port", String.valueOf(port), "zapi.jms.embedded-port", String.valueOf(port))))
                .rootCause().isInstanceOf(StartupException.class)
                .hasMessage("camel.server.port (env CAMEL_SERVER_PORT) and zapi.jms.embedded-port (env "
                            + "ZAPI_JMS_EMBEDDED_PORT) are both " + port + ": each of the module's servers needs a "
                            + "port of its own. Set one of them to another port.");
        assertThat(dataDir.resolve("same-port")).doesNotExist();
    }

    private static int managementPort(RunningModule module) {
        return Integer.parseInt(module.context().resolvePropertyPlaceholders("{{camel.management.port}}"));
    }

    @Test
    void theEmbeddedBrokerBeyondLoopbackIsRefusedUnlessTheUserSaysSo() throws Exception {
        Path notYetThere = dataDir.resolve("data");
        Map<String, String> settings = Map.of("zapi.data-dir", notYetThere.toString(), "zapi.sandbox", "true",
                "zapi.jms.embedded-host", "0.0.0.0");
        try (ModuleProcess module = ModuleProcess.start(settings, Map.of())) {
            assertThat(refusal(module)).contains("Cannot start: The embedded JMS broker would listen on 0.0.0.0 "
                                                 + "(zapi.jms.embedded-host (env ZAPI_JMS_EMBEDDED_HOST)) and it has "
                                                 + "no authentication")
                    .contains("zapi.jms.allow-anonymous (env ZAPI_JMS_ALLOW_ANONYMOUS) to true");
        }
        assertThat(notYetThere).doesNotExist();
    }

    /**
     * A refusal as the user sees it: exit status 1 and one error line saying what to do; no stack trace, and no word of
     * a signal, as none was sent. Returns that line.
     */
    private static String refusal(ModuleProcess module) throws InterruptedException {
        assertThat(module.awaitExit()).isEqualTo(1);
        String output = module.output();
        List<String> errors = output.lines().filter(line -> line.contains(" ERROR ")).toList();
        assertThat(errors).as(output).hasSize(1);
        assertThat(output).doesNotContain("\tat ").doesNotContain("Exception").doesNotContain("SIGTERM");
        return errors.get(0);
    }

    private static String inUse(Path dataDir) {
        return "The data folder " + dataDir.toAbsolutePath() + " is in use by another running module (process "
               + ProcessHandle.current().pid() + "): stop it, or give this one its own zapi.data-dir (env "
               + "ZAPI_DATA_DIR).";
    }

    private static int httpPort(RunningModule module) {
        return Integer.parseInt(module.context().resolvePropertyPlaceholders("{{camel.server.port}}"));
    }

    /** Whether anything accepts a TCP connection at this loopback address and port. */
    private static boolean listens(String address, int port) throws IOException {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(address, port), 5000);
            return true;
        } catch (ConnectException refused) {
            return false;
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
