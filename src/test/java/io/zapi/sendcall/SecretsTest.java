package io.zapi.sendcall;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.stream.Stream;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.OutputStreamAppender;
import ch.qos.logback.core.encoder.LayoutWrappingEncoder;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every outcome path, with every logger at DEBUG, captured through the layout the module's logback.xml configures:
 * neither token appears in a log line, a record or an error.
 */
class SecretsTest {

    @TempDir
    static Path dataDir;
    @TempDir
    static Path unreachableDataDir;
    static final ByteArrayOutputStream LOG = new ByteArrayOutputStream();
    static final Map<Logger, Level> LEVELS = new HashMap<>();
    static OutputStreamAppender<ILoggingEvent> capture;

    @BeforeAll
    static void everyLoggerAtDebugThroughTheConfiguredLayout() {
        LoggerContext logging = (LoggerContext) LoggerFactory.getILoggerFactory();
        Logger root = logging.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        var console = (ch.qos.logback.core.ConsoleAppender<ILoggingEvent>) root.getAppender("CONSOLE");
        var layout = ((LayoutWrappingEncoder<ILoggingEvent>) console.getEncoder()).getLayout();
        assertThat(layout).isInstanceOf(MaskingPatternLayout.class);

        LayoutWrappingEncoder<ILoggingEvent> encoder = new LayoutWrappingEncoder<>();
        encoder.setContext(logging);
        encoder.setLayout(layout);
        encoder.start();
        capture = new OutputStreamAppender<>();
        capture.setContext(logging);
        capture.setEncoder(encoder);
        capture.setOutputStream(LOG);
        capture.start();
        root.addAppender(capture);
        for (Logger logger : logging.getLoggerList()) {
            LEVELS.put(logger, logger.getLevel());
            logger.setLevel(Level.DEBUG);
        }
    }

    @AfterAll
    static void restoreLogging() {
        LEVELS.forEach(Logger::setLevel);
        ((LoggerContext) LoggerFactory.getILoggerFactory()).getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME)
                .detachAppender(capture);
    }

    @Test
    void noOutcomePathLeaksAToken() throws Exception {
        try (ZapiStub zapi = new ZapiStub(); RunningModule module = RunningModule.start(zapi.baseUrl(), dataDir)) {
            zapi.answer("5511900000405", aResponse().withStatus(405));
            zapi.answer("5511900000415", aResponse().withStatus(415));
            zapi.answer("5511900000500", aResponse().withStatus(500)
                    .withBody("token " + RunningModule.INSTANCE_TOKEN + " echoed back"));
            module.drop("success.json", "{\"phone\": \"5511900000200\"}");
            module.drop("e405.json", "{\"phone\": \"5511900000405\"}");
            module.drop("e415.json", "{\"phone\": \"5511900000415\"}");
            module.drop("e500.json", "{\"phone\": \"5511900000500\"}");
            module.drop("rejected.json", "{\"phone\": \"" + RunningModule.CLIENT_TOKEN + "\"}");
            module.drop("unreadable.json", "{\"phone\": ");

            assertThat(module.awaitRecord("success.json").path("outcome").asText()).isEqualTo("success");
            assertThat(module.awaitRecord("e405.json").path("outcome").asText()).isEqualTo("error-405");
            assertThat(module.awaitRecord("e415.json").path("outcome").asText()).isEqualTo("error-415");
            assertThat(module.awaitRecord("e500.json").path("response").asText()).contains("token **** echoed");
            assertThat(module.awaitRecord("rejected.json").path("request").path("phone").asText()).isEqualTo("****");
            assertThat(module.awaitRecord("unreadable.json").path("outcome").asText()).isEqualTo("rejected");
        }
        try (ServerSocket closed = new ServerSocket(0)) {
            int port = closed.getLocalPort();
            closed.close();
            try (RunningModule module = RunningModule.start("http://127.0.0.1:" + port, unreachableDataDir)) {
                module.drop("refused.json", "{\"phone\": \"5511900000000\"}");
                assertThat(module.awaitRecord("refused.json").path("outcome").asText()).isEqualTo("failed");
            }
        }

        String log = LOG.toString(StandardCharsets.UTF_8);
        // the DEBUG lines that name the request URI were there, and were masked
        assertThat(log).contains("/token/****/send-call").contains(" DEBUG ");
        assertThat(log).doesNotContain(RunningModule.INSTANCE_TOKEN).doesNotContain(RunningModule.CLIENT_TOKEN);
        assertThat(allFiles(dataDir)).isNotEmpty().allSatisfy(SecretsTest::hasNoToken);
        assertThat(allFiles(unreachableDataDir)).isNotEmpty().allSatisfy(SecretsTest::hasNoToken);
    }

    private static Stream<Path> allFiles(Path dir) throws IOException {
        return Files.walk(dir.resolve("outbox")).filter(Files::isRegularFile).toList().stream();
    }

    private static void hasNoToken(Path file) {
        try {
            assertThat(Files.readString(file)).doesNotContain(RunningModule.INSTANCE_TOKEN)
                    .doesNotContain(RunningModule.CLIENT_TOKEN);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }
}
