package io.zapi.sendcall;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpRequest.BodyPublishers;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodyHandlers;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.LoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.encoder.LayoutWrappingEncoder;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.TextNode;
import jakarta.jms.BytesMessage;
import jakarta.jms.Connection;
import jakarta.jms.Message;
import jakarta.jms.MessageProducer;
import jakarta.jms.Session;
import org.apache.activemq.artemis.core.server.ActiveMQServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.slf4j.LoggerFactory;

import io.zapi.sendcall.jms.EmbeddedBroker;
import io.zapi.sendcall.pipeline.Json;
import io.zapi.sendcall.runtime.MaskingPatternLayout;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The hostile-input corpus through all three inputs of one running module. The corpus is test data:
 * {@code src/test/resources/hostile/requests/} (one bad request each, sent over HTTP, as JMS bytes and text messages
 * and dropped as an inbox file) and {@code hostile/files/} (bad batch files), each listed with what must become of it
 * in {@code requests.tsv} and {@code files.tsv}; inputs too big to commit (20 MB lines, 10,000 levels of nesting) and
 * hostile names are made here.
 * <p>
 * Every bad input ends in rejected records with a reason (over HTTP a 4xx with a JSON body), its original is kept
 * byte for byte, Z-API receives nothing for it, and every input still serves a good request afterwards.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class HostileInputTest {

    static final Path CORPUS = Path.of("src/test/resources/hostile");
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private static final int TWENTY_MB = 20 * 1024 * 1024;

    @TempDir
    static Path dataDir;
    static ZapiStub zapi;
    static RunningModule module;
    static Connection jms;
    static RecordIndex records;

    /** The phones of the good requests sent between the bad ones: the only ones Z-API may see. */
    static final Set<String> GOOD_PHONES = ConcurrentHashMap.newKeySet();
    private static final AtomicLong NEXT_GOOD_PHONE = new AtomicLong(5531970000000L);
    /** The JMS message id each bad message was given, by case. */
    static final Map<String, String> JMS_IDS = new ConcurrentHashMap<>();
    /** Set if the module ever deserializes the ObjectMessage sent to it. */
    static final AtomicBoolean DESERIALIZED = new AtomicBoolean();

    @BeforeAll
    static void startAndFeedTheFileAndJmsInputs() throws Exception {
        zapi = new ZapiStub();
        module = RunningModule.start(zapi.baseUrl(), dataDir);
        records = new RecordIndex(module);
        jms = JmsQueueTest.connect(module.jmsPort());
        // everything is handed in up front, so the inbox and the queue work through it while the HTTP cases run
        for (Case c : requests()) {
            module.drop(c.fileName(), c.bytes());
        }
        for (FileCase c : files()) {
            module.drop(c.name(), c.bytes());
        }
        for (Generated g : generated()) {
            if (g.fileName() != null) {
                module.drop(g.fileName(), g.bytes());
            }
        }
        for (NamedFile n : namedFiles()) {
            module.drop(n.name(), n.content());
        }
        // one transaction for all of them: a persistent send waits for the journal, a commit waits once
        try (Session session = jms.createSession(true, Session.SESSION_TRANSACTED);
             MessageProducer producer = session.createProducer(session.createQueue("send-call"))) {
            for (Case c : requests()) {
                JMS_IDS.put("bytes:" + c.name(), send(producer, bytesMessage(session, c.bytes())));
                if (c.isUtf8()) {
                    JMS_IDS.put("text:" + c.name(), send(producer,
                            session.createTextMessage(new String(c.bytes(), StandardCharsets.UTF_8))));
                }
            }
            for (Generated g : generated()) {
                if (g.jms()) {
                    JMS_IDS.put("bytes:" + g.name(), send(producer, bytesMessage(session, g.bytes())));
                }
            }
            JMS_IDS.put("text:twenty-mb-string",
                    send(producer, session.createTextMessage(new String(twentyMbString(), StandardCharsets.UTF_8))));
            JMS_IDS.put("object", send(producer, session.createObjectMessage(new Tripwire())));
            var map = session.createMapMessage();
            map.setString("phone", "5511999999999");
            JMS_IDS.put("map", send(producer, map));
            var stream = session.createStreamMessage();
            stream.writeString("{\"phone\": \"5511999999999\"}");
            JMS_IDS.put("stream", send(producer, stream));
            JMS_IDS.put("no-body", send(producer, session.createMessage()));
            Message pathLike = session.createTextMessage("{\"phone\": \"12\"}");
            for (String property : List.of("CamelFileName", "CamelFileNameOnly", "CamelFileNameProduced",
                    "CamelOverruleFileName", "CamelFileParent", "CamelHttpPath", "CamelHttpUri")) {
                pathLike.setStringProperty(property, "../../escaped-by-jms.json");
            }
            pathLike.setJMSType("../../escaped-by-jms.json");
            pathLike.setJMSCorrelationID("../../escaped-by-jms.json");
            JMS_IDS.put("path-like-properties", send(producer, pathLike));
            session.commit();
        }
    }

    @AfterAll
    static void stop() throws Exception {
        jms.close();
        module.close();
        zapi.close();
    }

    // ---- the requests corpus, through each input ----------------------------------------------------------------

    @Order(1)
    @ParameterizedTest(name = "HTTP {0}")
    @MethodSource("requests")
    void overHttpEachBadRequestIsA400WithItsRejectedRecord(Case c) throws Exception {
        HttpResponse<String> response = post(c.bytes(), Map.of());

        assertRejectedOverHttp(response, 400, c.reason());
        assertGoodRequestOverHttpSucceeds();
    }

    @Order(2)
    @ParameterizedTest(name = "inbox file {0}")
    @MethodSource("requests")
    void asAnInboxFileEachBadRequestIsRejectedAndKept(Case c) {
        assertFileRejectedAndKept(c.fileName(), c.bytes(), c.fileRecords(), c.kept(), c.reason());
    }

    @Order(3)
    @ParameterizedTest(name = "JMS bytes {0}")
    @MethodSource("requests")
    void asAJmsBytesMessageEachBadRequestIsRejected(Case c) {
        assertRejectedOverJms("bytes:" + c.name(), c.reason());
    }

    @Order(4)
    @ParameterizedTest(name = "JMS text {0}")
    @MethodSource("utf8Requests")
    void asAJmsTextMessageEachBadRequestIsRejected(Case c) {
        assertRejectedOverJms("text:" + c.name(), c.reason());
    }

    // ---- batch files --------------------------------------------------------------------------------------------

    @Order(5)
    @ParameterizedTest(name = "{0}")
    @MethodSource("files")
    void eachBadBatchFileGivesRejectedRecordsAndIsKept(FileCase c) {
        assertFileRejectedAndKept(c.name(), c.bytes(), c.records(), c.kept(), c.reason());
    }

    @Order(6)
    @Test
    void aBadLineOrRowIsRejectedAloneWithItsOwnNumber() {
        assertThat(indexes("invalid-utf8-line.jsonl")).containsExactly(1, 2, 3);
        assertThat(reasonAt("invalid-utf8-line.jsonl", 2)).startsWith("line 2 is not valid UTF-8");
        assertThat(indexes("crlf-and-cr.jsonl")).containsExactly(1, 2, 3);
        assertThat(indexes("exponent-overflow.jsonl")).containsExactly(1, 2, 3);
        assertThat(indexes("missing-cells.csv")).containsExactly(1, 2);
        assertThat(reasonAt("missing-cells.csv", 1)).isEqualTo("CSV row 1 has 1 cell(s), the header has 3 columns");
        assertThat(indexes("extra-cells.csv")).containsExactly(1, 2);
        assertThat(indexes("invalid-utf8-row.csv")).containsExactly(1, 2, 3);
        assertThat(reasonAt("invalid-utf8-row.csv", 3)).contains("not valid UTF-8: byte 0xFF at line 4");
        assertThat(indexes("duplicate-key-element.json")).containsExactly(1, 2);
        assertThat(indexes("too-deep-element.json")).containsExactly(1, 2);
    }

    // ---- too big to commit: 20 MB lines, 10,000 levels of nesting ----------------------------------------------

    @Order(7)
    @ParameterizedTest(name = "HTTP {0}")
    @MethodSource("generated")
    void overHttpEachGeneratedInputIsA4xx(Generated g) throws Exception {
        HttpResponse<String> response = post(g.bytes(), Map.of());

        if (g.httpStatus() == 413) {
            HttpApiTest.assertJsonError(response, 413, "PAYLOAD_TOO_LARGE");
        } else {
            assertRejectedOverHttp(response, g.httpStatus(), g.reason());
        }
        assertGoodRequestOverHttpSucceeds();
    }

    @Order(8)
    @ParameterizedTest(name = "inbox file {0}")
    @MethodSource("generatedFiles")
    void asAnInboxFileEachGeneratedInputIsRejectedAndKept(Generated g) {
        assertFileRejectedAndKept(g.fileName(), g.bytes(), g.fileRecords(), g.kept(), g.reason());
    }

    @Order(9)
    @ParameterizedTest(name = "JMS bytes {0}")
    @MethodSource("generatedJms")
    void asAJmsBytesMessageEachGeneratedInputIsRejected(Generated g) {
        assertRejectedOverJms("bytes:" + g.name(), g.reason());
    }

    @Order(10)
    @Test
    void a20MbJmsTextMessageIsRejectedUnread() {
        JsonNode record = assertRejectedOverJms("text:twenty-mb-string", "too long");

        assertThat(record.path("request").isNull()).isTrue();
    }

    // ---- JMS messages that are not text or bytes ----------------------------------------------------------------

    @Order(11)
    @Test
    void anObjectMessageIsRejectedWithoutBeingDeserialized() {
        JsonNode record = assertRejectedOverJms("object", "ObjectMessage");

        assertThat(record.path("error").asText()).contains("text or bytes");
        assertThat(DESERIALIZED).isFalse();
    }

    @Order(12)
    @Test
    void mapStreamAndEmptyMessagesAreRejected() {
        assertRejectedOverJms("map", "MapMessage");
        assertRejectedOverJms("stream", "StreamMessage");
        assertRejectedOverJms("no-body", "empty");
    }

    // ---- names: path-like, dots, line breaks, unicode, too long -------------------------------------------------

    @Order(13)
    @ParameterizedTest(name = "file named {0}")
    @MethodSource("namedFilesRead")
    void aFileNameIsOnlyAName(NamedFile n) throws IOException {
        List<JsonNode> found = records.await(n.recordedName(), 1);

        assertThat(found).singleElement().satisfies(r -> {
            assertThat(r.path("outcome").asText()).isEqualTo("rejected");
            assertThat(r.path("source").path("name").textValue()).isEqualTo(n.recordedName());
            assertThat(r.path("error").asText()).isNotBlank();
        });
        // kept byte for byte, under a name a file system takes: the time prefix, then as much of the name as fits
        Path kept = awaiting().until(() -> keptWithContent(n.kept(), n.content()), k -> k.size() == 1).get(0);
        String keptName = kept.getFileName().toString();
        assertThat(keptName.getBytes(StandardCharsets.UTF_8).length).isLessThanOrEqualTo(255);
        assertThat(keptName).matches("(?s)[0-9]{8}-[0-9]{9}-.*")
                .contains(n.recordedName().substring(0, Math.min(100, n.recordedName().length())));
        if (n.recordedName().getBytes(StandardCharsets.UTF_8).length <= 200) {
            assertThat(keptName).endsWith("-" + n.recordedName());
        }
        JsonNode report = awaiting().until(() -> reportOf(n.recordedName()), r -> r != null);
        assertThat(report.path("outcomes").path("rejected").asInt()).isEqualTo(1);
        assertOnlyGoodRequestsReachedZapi();
    }

    @Order(14)
    @Test
    void aHiddenFileIsLeftAloneWhateverItsName() throws IOException {
        // still being written: even with a backslash in its name it is not touched (its writer renames it)
        Path partial = Files.writeString(module.inbox().resolve("being\\written.json.part"), "{\"phone\": \"12\"}");
        module.drop("after-hidden.json", "{\"phone\": \"12\"}");
        records.await("after-hidden.json", 1);

        assertThat(partial).hasContent("{\"phone\": \"12\"}");
        Files.delete(partial);

        // "..json" starts with a dot: like every hidden file it is never read (write under such a name, then rename)
        assertThat(module.inbox().resolve("..json")).hasBinaryContent(new NamedFile("..json").content());
        assertThat(records.of("..json")).isEmpty();
    }

    @Order(15)
    @ParameterizedTest(name = "Idempotency-Key {0}")
    @MethodSource("pathLikeKeys")
    void aPathLikeIdempotencyKeyIsOnlyAName(String key) throws Exception {
        HttpResponse<String> response = post("{\"phone\": \"12\"}".getBytes(StandardCharsets.UTF_8),
                Map.of("Idempotency-Key", key));

        JsonNode record = assertRejectedOverHttp(response, 400, "phone must have");
        assertThat(record.path("source").path("name").textValue()).isEqualTo(key);
        assertThat(record.path("id").textValue()).isNull();
        assertNothingEscapedTheDataFolder();
    }

    @Order(16)
    @Test
    void anIdempotencyKeyThatHttpCannotCarryIsRejected() throws Exception {
        // UTF-8 bytes in a header arrive as Latin-1 characters: not what the sender meant, so not taken as an id
        assertRejectedOverHttp(rawPost("Idempotency-Key: pedido-ção\r\n"), 400, "printable ASCII");
        assertRejectedOverHttp(rawPost("Idempotency-Key: tab\there\r\n"), 400, "printable ASCII");
        assertRejectedOverHttp(rawPost("Idempotency-Key: first\r\nIdempotency-Key: second\r\n"), 400,
                "Idempotency-Key must be sent once");
        assertRejectedOverHttp(post("{\"phone\": \"5511999999999\"}".getBytes(StandardCharsets.UTF_8),
                Map.of("Idempotency-Key", "k".repeat(257))), 400, "id must be 1 to 256 characters");
        // not HTTP/1.1 at all (a control character in a header, a header line without a colon): the server refuses
        // it before any route runs, with its own bare 400
        assertThat(rawPost("Idempotency-Key: bell\u0007here\r\n").statusCode()).isEqualTo(400);
        assertThat(rawPost("Idempotency-Key\r\n").statusCode()).isEqualTo(400);
        assertOnlyGoodRequestsReachedZapi();
        assertGoodRequestOverHttpSucceeds();
    }

    @Order(17)
    @Test
    void pathLikeJmsPropertiesAreOnlyProperties() {
        JsonNode record = assertRejectedOverJms("path-like-properties", "phone must have");

        assertThat(module.outbox("rejected").resolve(record.path("correlationId").asText() + ".json")).exists();
        assertNothingEscapedTheDataFolder();
    }

    @Order(18)
    @Test
    void aFileNameCannotForgeALogLine() {
        LoggerContext logging = (LoggerContext) LoggerFactory.getILoggerFactory();
        Logger outcome = logging.getLogger("io.zapi.sendcall.outcome");
        var console = (ConsoleAppender<ILoggingEvent>) logging.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME)
                .getAppender("CONSOLE");
        var layout = ((LayoutWrappingEncoder<ILoggingEvent>) console.getEncoder()).getLayout();
        String forged = "x.json\n2026-11-25T00:00:00.000Z ERROR [main] forged - a line nobody logged\r\u2028.json";
        LoggingEvent event = new LoggingEvent(Logger.FQCN, outcome, Level.INFO, "rejected source=file:{}", null,
                new Object[] {forged});

        String line = layout.doLayout(event);

        assertThat(layout).isInstanceOf(MaskingPatternLayout.class);
        assertThat(line).endsWith("\\r\\u2028.json" + System.lineSeparator())
                .contains("x.json\\n2026-11-25T00:00:00.000Z ERROR");
        assertThat(line.lines()).hasSize(1);
    }

    @Order(19)
    @Test
    void aByteOrderMarkBeforeAValidRequestIsNoError() throws Exception {
        byte[] bom = {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF};
        Map<String, String> phones = new LinkedHashMap<>();
        for (String name : List.of("bom.json", "bom.jsonl", "bom.csv")) {
            String phone = goodPhone();
            phones.put(name, phone);
            String content = name.endsWith(".csv") ? "phone\n" + phone + "\n" : "{\"phone\": \"" + phone + "\"}\n";
            module.drop(name, concat(bom, bytes(content)));
        }
        String httpPhone = goodPhone();
        String jmsPhone = goodPhone();
        String jmsId;
        try (Session session = jms.createSession(false, Session.AUTO_ACKNOWLEDGE);
             MessageProducer producer = session.createProducer(session.createQueue("send-call"))) {
            jmsId = send(producer, bytesMessage(session, concat(bom, bytes("{\"phone\": \"" + jmsPhone + "\"}"))));
        }

        HttpResponse<String> http = post(concat(bom, bytes("{\"phone\": \"" + httpPhone + "\"}")), Map.of());

        assertThat(http.statusCode()).isEqualTo(200);
        assertThat(records.await(jmsId, 1).get(0).path("outcome").asText()).isEqualTo("success");
        phones.forEach((name, phone) -> {
            assertThat(records.await(name, 1).get(0).path("outcome").asText()).isEqualTo("success");
            assertThat(zapi.requestsFor(phone)).hasSize(1);
            assertThat(awaitKept(".done", name)).exists();
        });
    }

    // ---- afterwards ---------------------------------------------------------------------------------------------

    @Order(100)
    @Test
    void afterAllOfItEveryInputStillServesAndZapiSawOnlyTheGoodRequests() throws Exception {
        String filePhone = goodPhone();
        module.drop("good-after-all.json", "{\"phone\": \"" + filePhone + "\"}");
        String jmsPhone = goodPhone();
        String jmsId;
        try (Session session = jms.createSession(false, Session.AUTO_ACKNOWLEDGE);
             MessageProducer producer = session.createProducer(session.createQueue("send-call"))) {
            jmsId = send(producer, session.createTextMessage("{\"phone\": \"" + jmsPhone + "\"}"));
        }

        assertGoodRequestOverHttpSucceeds();
        assertThat(records.await("good-after-all.json", 1).get(0).path("outcome").asText()).isEqualTo("success");
        assertThat(records.await(jmsId, 1).get(0).path("outcome").asText()).isEqualTo("success");
        assertThat(zapi.requestsFor(filePhone)).hasSize(1);
        assertThat(zapi.requestsFor(jmsPhone)).hasSize(1);
        assertOnlyGoodRequestsReachedZapi();
        assertThat(zapi.allRequests()).hasSize(GOOD_PHONES.size());
        // every message taken off the queue for good: none waiting, none parked as undeliverable
        ActiveMQServer broker = module.broker().server();
        await().atMost(Duration.ofSeconds(20)).until(() -> broker.locateQueue("send-call").getMessageCount() == 0);
        assertThat(broker.locateQueue(EmbeddedBroker.DEAD_LETTER_QUEUE).getMessageCount()).isZero();
        // the inbox holds only the hidden file
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
            try (Stream<Path> left = Files.list(module.inbox())) {
                assertThat(left.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder(".done", ".error",
                        "..json");
            }
        });
        assertThat(module.context().getStatus().isStarted()).isTrue();
    }

    // ---- the cases ----------------------------------------------------------------------------------------------

    /** A bad request from hostile/requests/, with what hostile/requests.tsv says must become of it. */
    record Case(String name, byte[] bytes, int fileRecords, String kept, String reason, String about) {
        String fileName() {
            return "request-" + name.replaceFirst("\\.(json|bin)$", "") + ".json";
        }

        boolean isUtf8() {
            try {
                StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(bytes));
                return true;
            } catch (java.nio.charset.CharacterCodingException e) {
                return false;
            }
        }

        @Override
        public String toString() {
            return name + " (" + about + ")";
        }
    }

    /** A bad batch file from hostile/files/, as hostile/files.tsv describes it. */
    record FileCase(String name, byte[] bytes, int records, String kept, String reason, String about) {
        @Override
        public String toString() {
            return name + " (" + about + ")";
        }
    }

    /** An input made here: too big to commit. */
    record Generated(String name, byte[] bytes, int httpStatus, String fileName, int fileRecords, String kept,
                     boolean jms, String reason) {
        @Override
        public String toString() {
            return name;
        }
    }

    /** A file named to test the name: its content is a simple invalid request. */
    record NamedFile(String name, String recordedName, String kept) {
        NamedFile(String name) {
            this(name, name, ".done");
        }

        /** Content of its own, so that its kept original can be found whatever it is named. */
        byte[] content() {
            return ("{\"phone\": \"12\", \"name\": " + TextNode.valueOf(name) + "}").getBytes(StandardCharsets.UTF_8);
        }

        @Override
        public String toString() {
            return name.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t");
        }
    }

    static List<Case> requests() throws IOException {
        List<Case> cases = new ArrayList<>();
        for (String[] row : manifest("requests.tsv")) {
            cases.add(new Case(row[0], corpus("requests/" + row[0]), Integer.parseInt(row[1]), "." + row[2], row[3],
                    row[4]));
        }
        try (Stream<Path> all = Files.list(CORPUS.resolve("requests"))) {
            assertThat(all.map(p -> p.getFileName().toString()))
                    .containsExactlyInAnyOrderElementsOf(cases.stream().map(Case::name).toList());
        }
        return cases;
    }

    static List<Case> utf8Requests() throws IOException {
        return requests().stream().filter(Case::isUtf8).toList();
    }

    static List<FileCase> files() throws IOException {
        List<FileCase> cases = new ArrayList<>();
        for (String[] row : manifest("files.tsv")) {
            cases.add(new FileCase(row[0], corpus("files/" + row[0]), Integer.parseInt(row[1]), "." + row[2], row[3],
                    row[4]));
        }
        try (Stream<Path> all = Files.list(CORPUS.resolve("files"))) {
            assertThat(all.map(p -> p.getFileName().toString()))
                    .containsExactlyInAnyOrderElementsOf(cases.stream().map(FileCase::name).toList());
        }
        return cases;
    }

    private static List<Generated> generated;

    /** Made once: some are 20 MB. */
    static synchronized List<Generated> generated() {
        if (generated == null) {
            generated = makeGenerated();
        }
        return generated;
    }

    private static List<Generated> makeGenerated() {
        String deepArrays = "[".repeat(10_000);
        String deepObjects = "{\"a\":".repeat(10_000) + "1" + "}".repeat(10_000);
        // parses under Jackson's default depth of 1000, but then its record (two levels more) could not be written
        String deepPhone = "{\"phone\":" + "[".repeat(998) + "]".repeat(998) + "}";
        String longKey = "{\"" + "k".repeat(60_000) + "\": 1, \"phone\": \"12\"}";
        String millionDigits = "{\"phone\": \"5511999999999\", \"callDuration\": \"" + "1".repeat(1_000_000) + "\"}";
        StringBuilder manyFields = new StringBuilder("{\"phone\": \"12\"");
        for (int i = 0; manyFields.length() < TWENTY_MB; i++) {
            manyFields.append(", \"f").append(i).append("\": ").append(i);
        }
        byte[] twentyMbString = twentyMbString();
        byte[] twentyMbLines = concat(twentyMbString, "\n{\"phone\": \"12\"}\n".getBytes(StandardCharsets.UTF_8));
        byte[] twentyMbCsv = concat("phone\n".getBytes(StandardCharsets.UTF_8), "5".repeat(TWENTY_MB)
                .getBytes(StandardCharsets.UTF_8), "\n12\n".getBytes(StandardCharsets.UTF_8));
        return List.of(
                new Generated("deep-arrays-10000", bytes(deepArrays), 400, "generated-deep-arrays.json", 1, ".error",
                        true, "nesting depth"),
                new Generated("deep-objects-10000", bytes(deepObjects), 400, "generated-deep-objects.json", 1,
                        ".error", true, "nesting depth"),
                new Generated("deep-phone-999", bytes(deepPhone), 400, "generated-deep-phone.json", 1, ".error",
                        true, "nesting depth"),
                new Generated("key-of-60000-characters", bytes(longKey), 400, "generated-long-key.json", 1, ".error",
                        true, "Name length"),
                new Generated("million-digit-duration", bytes(millionDigits), 413, "generated-million-digits.json",
                        1, ".done", true, "whole number of seconds"),
                new Generated("twenty-mb-string", twentyMbString, 413, "generated-twenty-mb-string.json", 1,
                        ".error", true, "String value length|too long"),
                new Generated("twenty-mb-of-fields", bytes(manyFields + "}"), 413,
                        "generated-twenty-mb-of-fields.json", 1, ".done", false, "longer than"),
                new Generated("twenty-mb-line", twentyMbLines, 413, "generated-twenty-mb-line.jsonl", 2, ".done",
                        false, "longer than|phone must have"),
                new Generated("twenty-mb-csv-row", twentyMbCsv, 413, "generated-twenty-mb-row.csv", 1, ".error",
                        false, "longer than"));
    }

    static List<Generated> generatedFiles() {
        return generated().stream().filter(g -> g.fileName() != null).toList();
    }

    static List<Generated> generatedJms() {
        return generated().stream().filter(Generated::jms).toList();
    }

    static List<NamedFile> namedFiles() {
        return List.of(
                new NamedFile("x..json"),
                new NamedFile(" .json"),
                new NamedFile("x.json.", "x.json.", ".error"),
                // Camel reads a backslash as a path separator: the file is renamed before it is read
                new NamedFile("x\\..\\..\\windows-path.json", "x_.._.._windows-path.json", ".done"),
                new NamedFile("%2e%2e%2fencoded.json"),
                new NamedFile("line\nbreak.json"),
                new NamedFile("carriage\rreturn.json"),
                new NamedFile("tab\tname.json"),
                new NamedFile("pedido-ção-日本語-😀.json"),
                new NamedFile("combining-a\u0301.json"),
                // 240 and 250 bytes: with the kept prefix (and the report's suffix) over the 255 a file name may have
                new NamedFile("long-" + "n".repeat(235) + ".json"),
                new NamedFile("l".repeat(245) + ".json"),
                new NamedFile("..json", "..json", null));
    }

    static List<NamedFile> namedFilesRead() {
        return namedFiles().stream().filter(n -> n.kept() != null).toList();
    }

    static List<String> pathLikeKeys() {
        return List.of("../x.json", "..", "../../../../../../tmp/escaped-by-http.json", "/etc/passwd",
                "..\\..\\x.json", "x/../../y.json", "%2e%2e%2fx.json", "./.done/x.json", "CON", "nul.json");
    }

    // ---- assertions ---------------------------------------------------------------------------------------------

    private static void assertFileRejectedAndKept(String name, byte[] original, int count, String kept,
                                                  String reason) {
        List<JsonNode> found = records.await(name, count);

        assertThat(found).hasSize(count).allSatisfy(r -> {
            assertThat(r.path("outcome").asText()).isEqualTo("rejected");
            assertThat(r.path("error").asText()).containsPattern(Pattern.compile(reason));
            assertThat(r.path("attempts").asInt()).isZero();
        });
        assertThat(awaitKept(kept, name)).hasBinaryContent(original);
        Path report = Reports.awaitOne(dataDir, name);
        assertThat(RunningModule.read(report).path("requests").asInt()).isEqualTo(count);
        assertThat(RunningModule.read(report).path("outcomes").path("rejected").asInt()).isEqualTo(count);
        assertOnlyGoodRequestsReachedZapi();
    }

    private static JsonNode assertRejectedOverJms(String key, String reason) {
        String messageId = JMS_IDS.get(key);
        JsonNode record = records.await(messageId, 1).get(0);

        assertThat(record.path("outcome").asText()).isEqualTo("rejected");
        assertThat(record.path("source").path("channel").asText()).isEqualTo("jms");
        assertThat(record.path("error").asText()).containsPattern(Pattern.compile(reason));
        assertOnlyGoodRequestsReachedZapi();
        return record;
    }

    private static JsonNode assertRejectedOverHttp(HttpResponse<String> response, int status, String reason)
            throws IOException {
        assertThat(response.statusCode()).isEqualTo(status);
        assertThat(response.headers().firstValue("Content-Type")).hasValue("application/json");
        JsonNode record = Json.MAPPER.readTree(response.body());
        assertThat(record.path("outcome").asText()).isEqualTo("rejected");
        assertThat(record.path("source").path("channel").asText()).isEqualTo("http");
        assertThat(record.path("error").asText()).containsPattern(Pattern.compile(reason));
        assertThat(module.outbox("rejected").resolve(record.path("correlationId").asText() + ".json")).exists();
        assertOnlyGoodRequestsReachedZapi();
        return record;
    }

    private static void assertGoodRequestOverHttpSucceeds() throws Exception {
        String phone = goodPhone();
        HttpResponse<String> response = post(("{\"phone\": \"" + phone + "\"}").getBytes(StandardCharsets.UTF_8),
                Map.of());
        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(zapi.requestsFor(phone)).hasSize(1);
    }

    private static void assertOnlyGoodRequestsReachedZapi() {
        assertThat(zapi.allRequests()).allSatisfy(call -> assertThat(GOOD_PHONES)
                .contains(Json.MAPPER.readTree(call.getBodyAsString()).path("phone").asText()));
    }

    /** No file named by an input escaped the outbox folders: the data folder's parent holds only the data folder. */
    private static void assertNothingEscapedTheDataFolder() {
        try (Stream<Path> all = Files.walk(dataDir.getParent(), 1)) {
            assertThat(all.map(p -> p.getFileName().toString())).noneMatch(n -> n.startsWith("escaped-by"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        try (Stream<Path> all = Files.walk(dataDir)) {
            assertThat(all.map(p -> p.getFileName().toString())).noneMatch(n -> n.contains("escaped-by"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static List<Path> keptWithContent(String folder, byte[] content) throws IOException {
        try (Stream<Path> files = Files.list(module.inbox().resolve(folder))) {
            return files.filter(f -> {
                try {
                    return Arrays.equals(Files.readAllBytes(f), content);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }).toList();
        }
    }

    /** The report whose file is this name, wherever its own name had to be shortened to. */
    private static JsonNode reportOf(String name) throws IOException {
        try (Stream<Path> files = Files.list(dataDir.resolve("outbox/reports"))) {
            return files.filter(f -> !f.getFileName().toString().startsWith("."))
                    .map(RunningModule::read).filter(r -> name.equals(r.path("file").textValue()))
                    .findFirst().orElse(null);
        }
    }

    private static Path awaitKept(String folder, String name) {
        return awaiting().until(() -> module.kept(folder, name), k -> k.size() == 1).get(0);
    }

    /** Awaitility checking at once and then often: hundreds of cases wait here, mostly for what is there already. */
    static org.awaitility.core.ConditionFactory awaiting() {
        return await().atMost(Duration.ofSeconds(30)).pollDelay(Duration.ZERO).pollInterval(Duration.ofMillis(20));
    }

    private static List<Integer> indexes(String name) {
        return records.of(name).stream().map(r -> r.path("source").path("index").asInt()).sorted().toList();
    }

    private static String reasonAt(String name, int index) {
        return records.of(name).stream().filter(r -> r.path("source").path("index").asInt() == index)
                .map(r -> r.path("error").asText()).findFirst().orElseThrow();
    }

    // ---- helpers ------------------------------------------------------------------------------------------------

    static String goodPhone() {
        String phone = String.valueOf(NEXT_GOOD_PHONE.incrementAndGet());
        GOOD_PHONES.add(phone);
        return phone;
    }

    private static HttpResponse<String> post(byte[] body, Map<String, String> headers) throws Exception {
        String port = module.context().resolvePropertyPlaceholders("{{camel.server.port}}");
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/send-call"))
                .timeout(Duration.ofSeconds(30)).header("Content-Type", "application/json");
        headers.forEach(request::header);
        return HTTP.send(request.POST(BodyPublishers.ofByteArray(body)).build(),
                BodyHandlers.ofString(StandardCharsets.UTF_8));
    }

    /** A POST written on a socket, for header bytes no HTTP client library sends: an invalid request body. */
    private static HttpResponse<String> rawPost(String headerLines) throws Exception {
        String port = module.context().resolvePropertyPlaceholders("{{camel.server.port}}");
        byte[] body = "{\"phone\": \"5511999999999\"}".getBytes(StandardCharsets.UTF_8);
        try (Socket socket = new Socket("127.0.0.1", Integer.parseInt(port))) {
            socket.setSoTimeout(20_000);
            OutputStream out = socket.getOutputStream();
            out.write(("POST /send-call HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                       + "Connection: close\r\nContent-Length: " + body.length + "\r\n" + headerLines + "\r\n")
                    .getBytes(StandardCharsets.UTF_8));
            out.write(body);
            out.flush();
            return RawResponse.read(socket.getInputStream());
        }
    }

    private static String send(MessageProducer producer, Message message) throws Exception {
        producer.send(message);
        return message.getJMSMessageID();
    }

    private static BytesMessage bytesMessage(Session session, byte[] bytes) throws Exception {
        BytesMessage message = session.createBytesMessage();
        message.writeBytes(bytes);
        return message;
    }

    private static List<String[]> manifest(String name) throws IOException {
        return Files.readAllLines(CORPUS.resolve(name), StandardCharsets.UTF_8).stream()
                .filter(line -> !line.isBlank() && !line.startsWith("#"))
                .map(line -> line.split("\t", -1))
                .toList();
    }

    private static byte[] corpus(String path) {
        try {
            return Files.readAllBytes(CORPUS.resolve(path));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static byte[] twentyMbString() {
        return bytes("{\"phone\": \"" + "5".repeat(TWENTY_MB) + "\"}");
    }

    private static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] concat(byte[]... parts) {
        int length = Arrays.stream(parts).mapToInt(p -> p.length).sum();
        byte[] all = new byte[length];
        int at = 0;
        for (byte[] part : parts) {
            System.arraycopy(part, 0, all, at, part.length);
            at += part.length;
        }
        return all;
    }

    /** What an ObjectMessage carries: deserializing it trips the wire. */
    static final class Tripwire implements java.io.Serializable {
        private static final long serialVersionUID = 1L;

        private void readObject(java.io.ObjectInputStream in) throws IOException, ClassNotFoundException {
            in.defaultReadObject();
            DESERIALIZED.set(true);
        }
    }

    /**
     * The records on disk by source name, read once each as they appear: a few hundred records are awaited here, and
     * reading every file at every poll would take minutes.
     */
    static final class RecordIndex {
        private final RunningModule module;
        private final Set<Path> read = new HashSet<>();
        private final Map<String, List<JsonNode>> bySource = new HashMap<>();

        RecordIndex(RunningModule module) {
            this.module = module;
        }

        List<JsonNode> await(String sourceName, int count) {
            return awaiting().until(() -> of(sourceName), found -> found.size() >= count);
        }

        synchronized List<JsonNode> of(String sourceName) {
            refresh();
            return List.copyOf(bySource.getOrDefault(sourceName, List.of()));
        }

        private void refresh() {
            for (String outcome : RunningModule.OUTCOMES) {
                try (Stream<Path> files = Files.list(module.outbox(outcome))) {
                    files.filter(f -> f.toString().endsWith(".json") && !f.getFileName().toString().startsWith("."))
                            .filter(read::add)
                            .forEach(f -> {
                                JsonNode record = RunningModule.read(f);
                                bySource.computeIfAbsent(record.path("source").path("name").asText(),
                                        k -> new ArrayList<>()).add(record);
                            });
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
        }
    }

    /** An HTTP/1.1 response read off a socket, as {@link HttpResponse} for the shared assertions. */
    record RawResponse(int statusCode, java.net.http.HttpHeaders headers, String body) implements HttpResponse<String> {

        static RawResponse read(InputStream in) throws IOException {
            byte[] all = in.readAllBytes();
            String head = new String(all, StandardCharsets.ISO_8859_1);
            int end = head.indexOf("\r\n\r\n");
            String[] lines = head.substring(0, end).split("\r\n");
            Map<String, List<String>> headers = new LinkedHashMap<>();
            for (int i = 1; i < lines.length; i++) {
                int colon = lines[i].indexOf(':');
                headers.computeIfAbsent(lines[i].substring(0, colon).trim().toLowerCase(), k -> new ArrayList<>())
                        .add(lines[i].substring(colon + 1).trim());
            }
            java.io.ByteArrayOutputStream body = new java.io.ByteArrayOutputStream();
            int at = end + 4;
            if (headers.getOrDefault("transfer-encoding", List.of()).contains("chunked")) {
                while (true) {
                    int lineEnd = head.indexOf("\r\n", at);
                    int size = Integer.parseInt(head.substring(at, lineEnd).trim(), 16);
                    if (size == 0) {
                        break;
                    }
                    body.write(all, lineEnd + 2, size);
                    at = lineEnd + 2 + size + 2;
                }
            } else {
                body.write(all, at, all.length - at);
            }
            return new RawResponse(Integer.parseInt(lines[0].split(" ")[1]),
                    java.net.http.HttpHeaders.of(headers, (k, v) -> true), body.toString(StandardCharsets.UTF_8));
        }

        @Override
        public HttpRequest request() {
            return null;
        }

        @Override
        public java.util.Optional<HttpResponse<String>> previousResponse() {
            return java.util.Optional.empty();
        }

        @Override
        public java.util.Optional<javax.net.ssl.SSLSession> sslSession() {
            return java.util.Optional.empty();
        }

        @Override
        public URI uri() {
            return null;
        }

        @Override
        public HttpClient.Version version() {
            return HttpClient.Version.HTTP_1_1;
        }
    }
}
