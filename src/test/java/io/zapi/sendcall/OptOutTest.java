package io.zapi.sendcall;

import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.JsonNode;
import jakarta.jms.Connection;
import jakarta.jms.MessageProducer;
import jakarta.jms.Session;
import jakarta.jms.TextMessage;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

import io.zapi.sendcall.pipeline.Json;
import io.zapi.sendcall.runtime.StartupException;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * zapi.opt-out-file: a number on the list is rejected ("opted out") and never called, whatever the input and however
 * either side formats it; the list is read again when the file changes, so a number added stops the requests not yet
 * called; a line that is no number is skipped with a warning that does not echo it; a missing list stops the start-up.
 */
class OptOutTest {

    @TempDir
    static Path dataDir;
    @TempDir
    static Path listDir;
    static Path optOutFile;
    static ZapiStub zapi;
    static RunningModule module;
    static Connection jms;
    static final ListAppender<ILoggingEvent> LOG = new ListAppender<>();

    @BeforeAll
    static void start() throws Exception {
        LOG.start();
        ((Logger) LoggerFactory.getLogger(Logger.ROOT_LOGGER_NAME)).addAppender(LOG);
        optOutFile = listDir.resolve("opt-out.txt");
        writeList("""
                # asked not to be called
                +55 (11) 97777-0002

                55 11 97777 0004
                +55 11 9777x-0009
                5511977770010
                """);
        zapi = new ZapiStub();
        module = RunningModule.start(zapi.baseUrl(), dataDir, Map.of("zapi.opt-out-file", optOutFile.toString()));
        jms = JmsQueueTest.connect(module.jmsPort());
    }

    @AfterAll
    static void stop() throws Exception {
        if (jms != null) {
            jms.close();
        }
        if (module != null) {
            module.close();
        }
        zapi.close();
        ((Logger) LoggerFactory.getLogger(Logger.ROOT_LOGGER_NAME)).detachAppender(LOG);
    }

    /** Replaced in one rename, as a ConfigMap's files are. */
    static void writeList(String content) throws IOException {
        Path part = listDir.resolve(".opt-out.txt.part");
        Files.writeString(part, content);
        Files.move(part, optOutFile, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    @Test
    void optedOutRowsOfAFileAreRejectedAndNeverCalledWhateverTheFormatting() {
        module.drop("campaign.csv", """
                phone,id
                5511977770001,optout-row-1
                5511977770002,optout-row-2
                5511977770003,optout-row-3
                +55 11 97777-0004,optout-row-4
                """);

        List<JsonNode> records = module.awaitRecords("campaign.csv", 4).stream()
                .sorted(Comparator.comparing(r -> r.path("source").path("index").asInt())).toList();

        assertThat(records).extracting(r -> r.path("outcome").asText())
                .containsExactly("success", "rejected", "success", "rejected");
        assertThat(records.get(1).path("error").asText()).startsWith("opted out");
        assertThat(records.get(3).path("error").asText()).startsWith("opted out");
        assertThat(zapi.requestsFor("5511977770002")).isEmpty();
        assertThat(zapi.requestsFor("5511977770004")).isEmpty();
        assertThat(zapi.requestsFor("5511977770001")).hasSize(1);
        assertThat(zapi.requestsFor("5511977770003")).hasSize(1);
    }

    /** With the number pre-check on, an opted-out number is not sent to Z-API even to be checked. */
    @Test
    void anOptedOutNumberIsNotSentToThePreCheck(@TempDir Path precheckData) {
        try (ZapiStub checked = new ZapiStub()) {
            checked.stubFor(com.github.tomakehurst.wiremock.client.WireMock.post(
                            com.github.tomakehurst.wiremock.client.WireMock.urlPathMatching(".*/phone-exists-batch"))
                    .atPriority(1).willReturn(com.github.tomakehurst.wiremock.client.WireMock.okJson(
                            "[{\"exists\": true, \"inputPhone\": \"5511977770031\", "
                            + "\"outputPhone\": \"5511977770031\"}]")));
            try (RunningModule precheck = RunningModule.start(checked.baseUrl(), precheckData, Map.of(
                    "zapi.opt-out-file", optOutFile.toString(), "zapi.precheck", "true"))) {
                precheck.drop("checked.csv", "phone\n5511977770031\n5511977770010\n");

                List<JsonNode> records = precheck.awaitRecords("checked.csv", 2).stream()
                        .sorted(Comparator.comparing(r -> r.path("source").path("index").asInt())).toList();
                assertThat(records).as(records.toString()).extracting(r -> r.path("outcome").asText())
                        .containsExactly("success", "rejected");
                assertThat(records.get(1).path("error").asText()).startsWith("opted out");
                List<String> checks = checked.allRequests().stream()
                        .filter(r -> r.getUrl().endsWith("/phone-exists-batch"))
                        .map(com.github.tomakehurst.wiremock.verification.LoggedRequest::getBodyAsString).toList();
                assertThat(checks).singleElement().satisfies(body -> assertThat(body).contains("5511977770031")
                        .doesNotContain("5511977770010"));
            }
        }
    }

    @Test
    void anOptedOutNumberPostedOverHttpIsRejectedWith400AndNeverCalled() throws Exception {
        HttpResponse<String> answer = module.post("{\"phone\": \"+55 (11) 97777-0010\", \"id\": \"optout-http\"}");

        assertThat(answer.statusCode()).isEqualTo(400);
        JsonNode record = Json.MAPPER.readTree(answer.body());
        assertThat(record.path("outcome").asText()).isEqualTo("rejected");
        assertThat(record.path("error").asText()).startsWith("opted out");
        assertThat(zapi.requestsFor("5511977770010")).isEmpty();
    }

    @Test
    void anOptedOutNumberSentOverJmsIsRejectedAndNeverCalled() throws Exception {
        String messageId;
        try (Session session = jms.createSession(false, Session.AUTO_ACKNOWLEDGE);
             MessageProducer producer = session.createProducer(session.createQueue("send-call"))) {
            TextMessage message = session.createTextMessage("{\"phone\": \"5511977770002\", \"id\": \"optout-jms\"}");
            producer.send(message);
            messageId = message.getJMSMessageID();
        }

        JsonNode record = module.awaitRecord(messageId);

        assertThat(record.path("outcome").asText()).isEqualTo("rejected");
        assertThat(record.path("error").asText()).startsWith("opted out");
        assertThat(zapi.requestsFor("5511977770002")).isEmpty();
    }

    /**
     * Two numbers added together: a probe, asked for until it is rejected (its calls before that are of no matter), then
     * the number under test, which the same reading of the file stops at its first request.
     */
    @Test
    void aNumberAddedWhileTheModuleRunsIsRejectedFromItsNextRequestOnAndTheListSurvivesTheFileGoingAway()
            throws Exception {
        String added = "5511977770020";
        writeList(Files.readString(optOutFile) + "+55 11 97777-0021\n" + added + "\n");
        int[] probe = {0};
        await().atMost(Duration.ofSeconds(20)).until(() -> module.post("{\"phone\": \"5511977770021\", \"id\": "
                + "\"optout-probe-" + probe[0]++ + "\"}").statusCode() == 400);

        module.drop("after-change.json", "{\"phone\": \"" + added + "\", \"id\": \"optout-added\"}");
        JsonNode record = module.awaitRecord("after-change.json");

        assertThat(record.path("outcome").asText()).isEqualTo("rejected");
        assertThat(record.path("error").asText()).startsWith("opted out");
        assertThat(zapi.requestsFor(added)).isEmpty();

        // the file removed: the last list read stays, with one warning
        String content = Files.readString(optOutFile);
        Files.delete(optOutFile);
        try {
            await().atMost(Duration.ofSeconds(20)).until(() -> {
                module.post("{\"phone\": \"" + added + "\", \"id\": \"optout-gone-" + probe[0]++ + "\"}");
                return warnings().stream().anyMatch(w -> w.contains("keeps the list it read last"));
            });
            HttpResponse<String> answer = module.post("{\"phone\": \"" + added + "\", \"id\": \"optout-kept\"}");
            assertThat(answer.statusCode()).isEqualTo(400);
            assertThat(answer.body()).contains("opted out");
            assertThat(zapi.requestsFor(added)).isEmpty();
            assertThat(warnings()).filteredOn(w -> w.contains("keeps the list it read last")).hasSize(1);
        } finally {
            writeList(content);
        }
    }

    @Test
    void aLineThatIsNoNumberIsSkippedWithAWarningNamingItsLineAndNotItsContent() throws Exception {
        List<String> badLines = messages(Level.WARN).stream().filter(w -> w.contains("line 5")).toList();
        // once for each reading of the file (the start's, and one after a change if that test ran first)
        assertThat(badLines).hasSameSizeAs(messages(Level.INFO).stream().filter(i -> i.contains("numbers opted out"))
                .toList()).isNotEmpty();
        assertThat(badLines).allSatisfy(w -> assertThat(w).contains("zapi.opt-out-file").doesNotContain("9777"));
        assertThat(messages(Level.WARN)).noneMatch(w -> w.contains("9777"));
        // the lines after it are read: 5511977770010 is on the list (the HTTP test), and the rest is called
        HttpResponse<String> answer = module.post("{\"phone\": \"5511977770011\", \"id\": \"optout-not-listed\"}");
        assertThat(answer.statusCode()).isEqualTo(200);
    }

    @Test
    void aMissingListStopsTheStartUpNamingTheSetting(@TempDir Path refusedData) {
        Path missing = listDir.resolve("no-such-list.txt");
        assertThatThrownBy(() -> RunningModule.start(zapi.baseUrl(), refusedData,
                Map.of("zapi.opt-out-file", missing.toString())).close())
                .satisfies(e -> assertThat(startupCause(e).getMessage())
                        .contains("zapi.opt-out-file (env ZAPI_OPT_OUT_FILE)", missing.toString()));
        // refused before the data folder is made
        assertThat(refusedData).isEmptyDirectory();
    }

    private static List<String> warnings() {
        return messages(Level.WARN);
    }

    private static List<String> messages(Level level) {
        synchronized (LOG) {
            return LOG.list.stream().filter(e -> e.getLevel() == level)
                    // the temporary folders' random names might hold any digits
                    .map(e -> e.getFormattedMessage().replace(listDir.toString(), "<list folder>")
                            .replace(dataDir.toString(), "<data folder>")).toList();
        }
    }

    private static StartupException startupCause(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof StartupException startup) {
                return startup;
            }
        }
        throw new AssertionError("no StartupException in " + e, e);
    }
}
