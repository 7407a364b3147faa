package io.zapi.sendcall;

import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

import javax.management.ObjectName;

import jakarta.jms.Connection;
import jakarta.jms.MessageProducer;
import jakarta.jms.Session;
import org.apache.activemq.artemis.jms.client.ActiveMQConnectionFactory;
import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.zapi.sendcall.runtime.StartupException;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * The order of the start-up: the embedded broker starts beside the route loading, and the module serves only once it
 * and everything else are up; a broker that cannot start still stops the start-up with its reason. And what the
 * start-up no longer does: Camel's JMX MBeans, which nothing of the module reads.
 */
class StartupOrderTest {

    private static final Duration A_WHILE = Duration.ofSeconds(60);
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @TempDir
    Path dataDir;

    @Test
    void aBrokerThatCannotStartStopsTheStartUpWithItsReasonAndLeavesNothingRunning() throws Exception {
        // the journal's folder is a file: Artemis finds out only once it runs, beside the route loading
        Files.createDirectories(dataDir.resolve("broker"));
        Files.writeString(dataDir.resolve("broker/journal"), "not a folder");
        int jmsPort = RunningModule.freePort();
        try (ZapiStub zapi = new ZapiStub()) {
            assertThatThrownBy(() -> RunningModule.start(zapi.baseUrl(), dataDir,
                    Map.of("zapi.jms.embedded-port", String.valueOf(jmsPort))).close())
                    .satisfies(e -> assertThat(startupCause(e)).as("the start-up's failure").isNotNull()
                            .extracting(Throwable::getMessage).asString()
                            .startsWith("The embedded JMS broker did not start: its data folder "
                                        + dataDir.resolve("broker").toAbsolutePath())
                            .contains("zapi.data-dir (env ZAPI_DATA_DIR)"));
            // nothing of that start left behind: the broker's port and the data folder are free again
            try (ServerSocket free = new ServerSocket(jmsPort, 1, InetAddress.getLoopbackAddress())) {
                assertThat(free.getLocalPort()).isEqualTo(jmsPort);
            }
            Files.delete(dataDir.resolve("broker/journal"));
            try (RunningModule again = RunningModule.start(zapi.baseUrl(), dataDir,
                    Map.of("zapi.jms.embedded-port", String.valueOf(jmsPort)))) {
                assertThat(again.context().getStatus().isStarted()).isTrue();
            }
        }
    }

    @Test
    void aBrokerFolderThatIsNoFolderIsRefusedInOneLineByTheProcess() throws Exception {
        Files.writeString(dataDir.resolve("broker"), "not a folder");
        Map<String, String> settings = Map.of("zapi.data-dir", dataDir.toString(), "zapi.sandbox", "true");
        try (ModuleProcess module = ModuleProcess.start(settings, Map.of())) {
            assertThat(module.awaitExit()).isEqualTo(1);
            String output = module.output();
            assertThat(output.lines().filter(line -> line.contains(" ERROR ")).toList()).as(output).hasSize(1);
            assertThat(output).contains("Cannot start: The embedded JMS broker cannot keep its journal in "
                                        + dataDir.resolve("broker").toAbsolutePath())
                    .contains("zapi.data-dir (env ZAPI_DATA_DIR)").doesNotContain("\tat ");
        }
    }

    @Test
    void onceStartedTheModuleIsReadyAndEveryJmsConsumerTakesMessages() throws Exception {
        try (ZapiStub zapi = new ZapiStub(); RunningModule module = RunningModule.start(zapi.baseUrl(), dataDir,
                Map.of("zapi.concurrency", "3"))) {
            // the context has started, so the broker has: the module gets ready (once its inbox has been looked at) and
            // each of the zapi.concurrency consumers connects
            await().atMost(A_WHILE).until(() -> readiness(module) == 200);
            assertThat(module.broker().server().isActive()).isTrue();
            await().atMost(A_WHILE).until(() -> module.broker().server().locateQueue("send-call")
                    .getConsumerCount() == 3);
            ActiveMQConnectionFactory factory = new ActiveMQConnectionFactory("tcp://127.0.0.1:" + module.jmsPort());
            try (Connection connection = factory.createConnection();
                 Session session = connection.createSession(false, Session.AUTO_ACKNOWLEDGE);
                 MessageProducer producer = session.createProducer(session.createQueue("send-call"))) {
                producer.send(session.createTextMessage("{\"phone\": \"5511999999999\"}"));
            }
            await().atMost(A_WHILE).until(() -> RunningModule.recordFiles(module.dataDir().resolve("outbox")).size() == 1);
            assertThat(RunningModule.recordFiles(module.dataDir().resolve("outbox")).get(0).getParent())
                    .isEqualTo(module.outbox("success"));
        }
    }

    @Test
    void readinessDoesNotWaitForTheInboxsPollDelayAndAFileWaitingAtStartIsTakenAtOnce() throws Exception {
        // readiness waits for the inbox's first look; the delay between two looks is no reason to put off the first.
        // 9 s: looked at only after it, the module could not be ready nor take the file before it. The file has
        // settled (RunningModule's zapi.inbox.settle-ms, 100 ms) by the time the module starts
        Files.createDirectories(dataDir.resolve("inbox"));
        Files.writeString(dataDir.resolve("inbox/waiting.json"), "{\"phone\": \"5511999999999\"}");
        Duration pollDelay = Duration.ofSeconds(9);
        try (ZapiStub zapi = new ZapiStub(); RunningModule module = RunningModule.start(zapi.baseUrl(), dataDir,
                Map.of("zapi.inbox.poll-delay-ms", String.valueOf(pollDelay.toMillis())))) {
            await().atMost(pollDelay.minusSeconds(1)).until(() -> readiness(module) == 200);
            await().atMost(pollDelay.minusSeconds(1))
                    .until(() -> RunningModule.recordFiles(module.dataDir().resolve("outbox")).size() == 1);
            assertThat(RunningModule.recordFiles(module.dataDir().resolve("outbox")).get(0).getParent())
                    .isEqualTo(module.outbox("success"));
        }
    }

    @Test
    void theLongestPollDelayAllowedStartsAndTakesAWaitingFile() throws Exception {
        // an hour, the most zapi.inbox.poll-delay-ms allows: Camel refuses a read-lock check interval over a third of
        // its read-lock timeout (10 s), so the settle check cannot follow the poll delay that far
        Files.createDirectories(dataDir.resolve("inbox"));
        Files.writeString(dataDir.resolve("inbox/hourly.json"), "{\"phone\": \"5511999999998\"}");
        try (ZapiStub zapi = new ZapiStub(); RunningModule module = RunningModule.start(zapi.baseUrl(), dataDir,
                Map.of("zapi.inbox.poll-delay-ms", "3600000"))) {
            await().atMost(Duration.ofSeconds(30)).until(() -> readiness(module) == 200);
            JsonNode record = module.awaitRecord("hourly.json");
            assertThat(record.path("outcome").asText()).isEqualTo("success");
        }
    }

    @Test
    void camelRegistersNoJmxMBeansAsNothingReadsThem() throws Exception {
        try (ZapiStub zapi = new ZapiStub(); RunningModule module = RunningModule.start(zapi.baseUrl(), dataDir)) {
            assertThat(module.context().getStatus().isStarted()).isTrue();
            assertThat(ManagementFactory.getPlatformMBeanServer().queryNames(new ObjectName("org.apache.camel:*"),
                    null)).isEmpty();
            // the health and metrics of the management port do not need them
            await().atMost(A_WHILE).until(() -> readiness(module) == 200);
            assertThat(HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + managementPort(module)
                                                                   + "/observe/metrics")).build(),
                    HttpResponse.BodyHandlers.ofString()).body()).contains("camel_exchanges_total");
        }
    }

    private static int readiness(RunningModule module) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + managementPort(module)
                                                           + "/observe/health/ready")).build(),
                HttpResponse.BodyHandlers.discarding()).statusCode();
    }

    private static String managementPort(RunningModule module) {
        return module.context().resolvePropertyPlaceholders("{{camel.management.port}}");
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
