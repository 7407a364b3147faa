package io.zapi.sendcall;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import com.github.tomakehurst.wiremock.verification.LoggedRequest;
import jakarta.jms.BytesMessage;
import jakarta.jms.Connection;
import jakarta.jms.Message;
import jakarta.jms.MessageConsumer;
import jakarta.jms.MessageProducer;
import jakarta.jms.Queue;
import jakarta.jms.Session;
import jakarta.jms.TextMessage;
import org.apache.activemq.artemis.core.server.ActiveMQServer;
import org.apache.activemq.artemis.jms.client.ActiveMQConnectionFactory;
import org.apache.camel.builder.NotifyBuilder;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.zapi.sendcall.jms.EmbeddedBroker;
import io.zapi.sendcall.pipeline.Json;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The JMS input, end to end: real JMS (and STOMP and OpenWire) clients over TCP to the module's embedded Artemis
 * broker, a real HTTP server standing in for Z-API, records read from the outbox folders.
 */
class JmsQueueTest {

    @TempDir
    static Path dataDir;
    static ZapiStub zapi;
    static RunningModule module;
    static Connection client;

    @BeforeAll
    static void start() throws Exception {
        zapi = new ZapiStub();
        module = RunningModule.start(zapi.baseUrl(), dataDir);
        client = connect(module.jmsPort());
    }

    @AfterAll
    static void stop() throws Exception {
        client.close();
        module.close();
        zapi.close();
    }

    @Test
    void aTextMessageBecomesOneDocumentedPostAndASuccessRecord() throws Exception {
        String messageId;
        try (Session session = client.createSession(false, Session.AUTO_ACKNOWLEDGE)) {
            TextMessage message = session.createTextMessage(
                    "{\"phone\": \"+55 (11) 98888-0001\", \"callDuration\": 4, \"id\": \"jms-text-1\"}");
            // transport properties a sender might set: none of them may reach Z-API
            message.setStringProperty("CamelHttpPath", "/elsewhere");
            message.setStringProperty("CamelHttpUri", "http://127.0.0.1:1/elsewhere");
            message.setStringProperty("Authorization", "Bearer not-for-z-api");
            message.setJMSCorrelationID("correlation-of-the-sender");
            messageId = send(session, message);
        }

        JsonNode record = module.awaitRecord(messageId);

        assertThat(record.path("outcome").asText()).isEqualTo("success");
        assertThat(record.path("id").asText()).isEqualTo("jms-text-1");
        assertThat(record.path("source").path("channel").asText()).isEqualTo("jms");
        assertThat(record.path("source").path("name").asText()).isEqualTo(messageId).startsWith("ID:");
        assertThat(record.path("source").path("index").isNull()).isTrue();
        assertThat(record.path("status").asInt()).isEqualTo(200);
        assertThat(record.path("attempts").asInt()).isEqualTo(1);
        assertThat(module.outbox("success").resolve(record.path("correlationId").asText() + ".json")).exists();
        List<LoggedRequest> calls = zapi.requestsFor("5511988880001");
        assertThat(calls).hasSize(1);
        LoggedRequest call = calls.get(0);
        assertThat(call.getUrl()).isEqualTo(RunningModule.SEND_CALL_PATH);
        assertThat(call.getBodyAsString()).isEqualTo("{\"phone\":\"5511988880001\",\"callDuration\":4}");
        assertThat(call.getHeader("Client-Token")).isEqualTo(RunningModule.CLIENT_TOKEN);
        assertThat(ZapiStub.headerNames(call)).isSubsetOf(ZapiStub.HEADERS_WE_SEND);
        awaitInputQueueEmpty();
    }

    @Test
    void aBytesMessageIsReadAsUtf8Json() throws Exception {
        String id = "pedido-ção-2";
        String messageId;
        try (Session session = client.createSession(false, Session.AUTO_ACKNOWLEDGE)) {
            BytesMessage message = session.createBytesMessage();
            message.writeBytes(("{\"phone\": \"5511988880002\", \"id\": \"" + id + "\"}")
                    .getBytes(StandardCharsets.UTF_8));
            messageId = send(session, message);
        }

        JsonNode record = module.awaitRecord(messageId);

        assertThat(record.path("outcome").asText()).isEqualTo("success");
        assertThat(record.path("id").asText()).isEqualTo(id);
        assertThat(zapi.requestsFor("5511988880002")).singleElement()
                .satisfies(call -> assertThat(call.getBodyAsString())
                        .isEqualTo("{\"phone\":\"5511988880002\",\"callDuration\":5}"));
        awaitInputQueueEmpty();
    }

    @Test
    void invalidAndUnparseableMessagesAreRejectedOnceAndNotRedelivered() throws Exception {
        ActiveMQServer broker = module.broker().server();
        long acknowledgedBefore = broker.locateQueue("send-call").getMessagesAcknowledged();
        String invalidId;
        String brokenId;
        try (Session session = client.createSession(false, Session.AUTO_ACKNOWLEDGE)) {
            invalidId = send(session, session.createTextMessage("{\"phone\": \"5511988880003\", \"callDuration\": 0}"));
            brokenId = send(session, session.createTextMessage("{\"phone\": \"5511988880004\", \"callDuration\": "));
        }

        JsonNode invalid = module.awaitRecord(invalidId);
        JsonNode broken = module.awaitRecord(brokenId);

        assertThat(invalid.path("outcome").asText()).isEqualTo("rejected");
        assertThat(invalid.path("error").asText()).startsWith("callDuration must be from 1 to 15");
        assertThat(invalid.path("request").path("callDuration").asInt()).isZero();
        assertThat(broken.path("outcome").asText()).isEqualTo("rejected");
        assertThat(broken.path("error").asText()).contains("not valid JSON");
        assertThat(module.outbox("rejected").resolve(broken.path("correlationId").asText() + ".json")).exists();
        // both taken off the queue for good: acknowledged, nothing left, nothing parked, one record each
        await().atMost(Duration.ofSeconds(10)).until(
                () -> broker.locateQueue("send-call").getMessagesAcknowledged() - acknowledgedBefore >= 2);
        awaitInputQueueEmpty();
        assertThat(broker.locateQueue(EmbeddedBroker.DEAD_LETTER_QUEUE).getMessageCount()).isZero();
        assertThat(module.recordsOf(invalidId)).hasSize(1);
        assertThat(module.recordsOf(brokenId)).hasSize(1);
        assertThat(zapi.requestsFor("5511988880003")).isEmpty();
        assertThat(zapi.requestsFor("5511988880004")).isEmpty();
    }

    @Test
    void aMessageWithReplyToGetsItsRecordAsTheReply() throws Exception {
        try (Session session = client.createSession(false, Session.AUTO_ACKNOWLEDGE)) {
            Queue replies = session.createTemporaryQueue();
            TextMessage request = session.createTextMessage("{\"phone\": \"5511988880005\", \"id\": \"with-reply\"}");
            request.setJMSReplyTo(replies);
            TextMessage invalid = session.createTextMessage("{\"phone\": \"not a phone\"}");
            invalid.setJMSReplyTo(replies);
            String requestId = send(session, request);
            String invalidId = send(session, invalid);

            try (MessageConsumer consumer = session.createConsumer(replies)) {
                Map<String, JsonNode> repliesByCorrelation = new HashMap<>();
                for (int i = 0; i < 2; i++) {
                    Message reply = consumer.receive(20_000);
                    assertThat(reply).isInstanceOf(TextMessage.class);
                    repliesByCorrelation.put(reply.getJMSCorrelationID(),
                            Json.MAPPER.readTree(((TextMessage) reply).getText()));
                }

                JsonNode record = repliesByCorrelation.get(requestId);
                assertThat(record.path("outcome").asText()).isEqualTo("success");
                assertThat(record.path("id").asText()).isEqualTo("with-reply");
                assertThat(record.path("source").path("name").asText()).isEqualTo(requestId);
                // the same record as the one written to the outbox
                assertThat(RunningModule.read(module.outbox("success")
                        .resolve(record.path("correlationId").asText() + ".json"))).isEqualTo(record);
                JsonNode rejection = repliesByCorrelation.get(invalidId);
                assertThat(rejection.path("outcome").asText()).isEqualTo("rejected");
                assertThat(rejection.path("error").asText()).startsWith("phone must hold only the digits");
            }
        }
        assertThat(zapi.requestsFor("5511988880005")).hasSize(1);
        awaitInputQueueEmpty();
    }

    @Test
    void aStompClientOverAPlainSocketIsServed() throws Exception {
        String body = "{\"phone\": \"5511988880006\", \"id\": \"from-stomp\"}";
        try (Socket socket = new Socket("127.0.0.1", module.jmsPort())) {
            socket.setSoTimeout(20_000);
            OutputStream out = socket.getOutputStream();
            InputStream in = socket.getInputStream();
            out.write(frame("CONNECT\naccept-version:1.2\nhost:localhost\n\n"));
            assertThat(readFrame(in)).startsWith("CONNECTED\n");
            out.write(frame("SEND\ndestination:send-call\ndestination-type:ANYCAST\ncontent-type:application/json\n\n"
                            + body));
            out.write(frame("DISCONNECT\nreceipt:bye\n\n"));
            assertThat(readFrame(in)).startsWith("RECEIPT\n").contains("receipt-id:bye");
        }

        JsonNode record = module.awaitRecordWithId("from-stomp");

        assertThat(record.path("outcome").asText()).isEqualTo("success");
        assertThat(record.path("source").path("channel").asText()).isEqualTo("jms");
        // STOMP has no message id of its own: the embedded broker gives the message one
        assertThat(record.path("source").path("name").textValue()).matches("ID:[0-9a-f-]{36}");
        assertThat(zapi.requestsFor("5511988880006")).singleElement()
                .satisfies(call -> assertThat(call.getBodyAsString())
                        .isEqualTo("{\"phone\":\"5511988880006\",\"callDuration\":5}"));
    }

    @Test
    void aStompTextFrameThatIsNotUtf8IsRejectedNotRepaired() throws Exception {
        // a text frame (no content-length) whose id holds 0xC3 0x28: not UTF-8
        byte[] head = "SEND\ndestination:send-call\ndestination-type:ANYCAST\nreceipt:sent\n\n"
                .getBytes(StandardCharsets.UTF_8);
        byte[] body = "{\"phone\": \"5511988880011\", \"id\": \"stomp-\u00c3(\"}".getBytes(StandardCharsets.ISO_8859_1);
        try (Socket socket = new Socket("127.0.0.1", module.jmsPort())) {
            socket.setSoTimeout(20_000);
            OutputStream out = socket.getOutputStream();
            InputStream in = socket.getInputStream();
            out.write(frame("CONNECT\naccept-version:1.2\nhost:localhost\n\n"));
            assertThat(readFrame(in)).startsWith("CONNECTED\n");
            out.write(head);
            out.write(body);
            out.write(0);
            assertThat(readFrame(in)).startsWith("RECEIPT\n");
        }

        List<JsonNode> records = await().atMost(Duration.ofSeconds(20)).until(
                () -> module.allRecords().stream()
                        .filter(r -> r.path("error").asText().startsWith("request is not valid UTF-8")).toList(),
                r -> !r.isEmpty());

        assertThat(records).singleElement().satisfies(record -> {
            assertThat(record.path("outcome").asText()).isEqualTo("rejected");
            assertThat(record.path("error").asText()).contains("0xC3");
            assertThat(record.path("source").path("channel").asText()).isEqualTo("jms");
        });
        assertThat(zapi.requestsFor("5511988880011")).isEmpty();
        awaitInputQueueEmpty();
    }

    @Test
    void anOpenWireClientIsServed() throws Exception {
        var factory = new org.apache.activemq.ActiveMQConnectionFactory("tcp://127.0.0.1:" + module.jmsPort());
        javax.jms.Connection connection = factory.createConnection();
        try {
            javax.jms.Session session = connection.createSession(false, javax.jms.Session.AUTO_ACKNOWLEDGE);
            session.createProducer(session.createQueue("send-call"))
                    .send(session.createTextMessage("{\"phone\": \"5511988880007\", \"id\": \"from-openwire\"}"));
        } finally {
            connection.close();
        }

        JsonNode record = module.awaitRecordWithId("from-openwire");

        assertThat(record.path("outcome").asText()).isEqualTo("success");
        assertThat(record.path("source").path("channel").asText()).isEqualTo("jms");
        assertThat(record.path("source").path("name").textValue()).startsWith("ID:");
        assertThat(zapi.requestsFor("5511988880007")).hasSize(1);
    }

    @Test
    void theTcpAcceptorAlsoSpeaksAmqp() throws Exception {
        // AMQP 1.0's SASL protocol header: a broker that speaks AMQP answers with the same header
        byte[] saslHeader = {'A', 'M', 'Q', 'P', 3, 1, 0, 0};
        try (Socket socket = new Socket("127.0.0.1", module.jmsPort())) {
            socket.setSoTimeout(20_000);
            socket.getOutputStream().write(saslHeader);

            assertThat(socket.getInputStream().readNBytes(8)).isEqualTo(saslHeader);
        }
    }

    @Test
    void queuedRequestsSurviveARestart(@TempDir Path restartDir) throws Exception {
        String messageId;
        try (RunningModule first = RunningModule.start(zapi.baseUrl(), restartDir)) {
            // the module is up and consuming, then takes nothing more: the request waits in the broker's journal
            var queue = first.broker().server().locateQueue("send-call");
            int consumers = first.jmsConsumers();
            await().atMost(Duration.ofSeconds(10)).until(() -> queue.getConsumerCount() == consumers);
            first.context().getRouteController().stopRoute("jms-queue");
            assertThat(queue.getConsumerCount()).isZero();
            try (Connection connection = connect(first.jmsPort());
                 Session session = connection.createSession(false, Session.AUTO_ACKNOWLEDGE)) {
                messageId = send(session, session.createTextMessage("{\"phone\": \"5511988880008\"}"));
            }
            assertThat(queue.getMessageCount()).isEqualTo(1);
        }
        assertThat(zapi.requestsFor("5511988880008")).isEmpty();

        try (RunningModule second = RunningModule.start(zapi.baseUrl(), restartDir)) {
            JsonNode record = second.awaitRecord(messageId);

            assertThat(record.path("outcome").asText()).isEqualTo("success");
            assertThat(zapi.requestsFor("5511988880008")).hasSize(1);
        }
    }

    @Test
    void aMessageWhoseRecordCannotBeWrittenIsAcknowledgedOnceAndItsRecordKeptPending(@TempDir Path dir)
            throws Exception {
        // a regular file where the rejected folder's parent should be: no record can be written there
        Path notAFolder = Files.writeString(dir.resolve("not-a-folder"), "");
        Map<String, String> settings = Map.of("zapi.outcome.rejected-uri", "file:" + notAFolder.resolve("rejected"));
        try (RunningModule failing = RunningModule.start(zapi.baseUrl(), dir.resolve("data"), settings)) {
            NotifyBuilder handled = new NotifyBuilder(failing.context()).fromRoute("jms-queue").whenDone(1).create();
            NotifyBuilder failures = new NotifyBuilder(failing.context()).fromRoute("jms-queue").whenFailed(1).create();
            try (Connection connection = connect(failing.jmsPort());
                 Session session = connection.createSession(false, Session.AUTO_ACKNOWLEDGE)) {
                connection.start();
                Queue replies = session.createTemporaryQueue();
                TextMessage request = session.createTextMessage("{\"phone\": \"x\"}");
                request.setJMSReplyTo(replies);
                send(session, request);

                // the outcome stands (rejected) and the reply says its record is pending
                TextMessage reply = (TextMessage) session.createConsumer(replies).receive(20_000);
                JsonNode answered = Json.MAPPER.readTree(reply.getText());
                assertThat(answered.path("outcome").asText()).isEqualTo("rejected");
                assertThat(answered.path("recordPending").asText()).isNotBlank().doesNotContain(dir.toString());
            }

            assertThat(handled.matches(20, TimeUnit.SECONDS)).isTrue();
            ActiveMQServer broker = failing.broker().server();
            await().atMost(Duration.ofSeconds(10)).until(() -> broker.locateQueue("send-call").getMessageCount() == 0);
            // acknowledged once: not redelivered, not dead-lettered, no second record attempt from a redelivery
            assertThat(failures.matches(2, TimeUnit.SECONDS)).isFalse();
            assertThat(broker.locateQueue(EmbeddedBroker.DEAD_LETTER_QUEUE).getMessageCount()).isZero();
            assertThat(pendingRecords(dir.resolve("data"))).isEqualTo(1);
        }
    }

    /** How many records the ledger keeps for later, read straight from its database. */
    static int pendingRecords(Path dataDir) throws Exception {
        try (java.sql.Connection db = java.sql.DriverManager.getConnection(
                "jdbc:sqlite:" + dataDir.resolve("ledger/calls.db"));
             java.sql.ResultSet count = db.createStatement().executeQuery("SELECT COUNT(*) FROM pending_records")) {
            return count.getInt(1);
        }
    }

    @Test
    void withABrokerUrlTheModuleUsesThatBrokerAndStartsNone(@TempDir Path dir) throws Exception {
        String queue = "send-call-external-" + UUID.randomUUID();
        Map<String, String> settings = Map.of("zapi.jms.broker-url", "tcp://127.0.0.1:" + module.jmsPort(),
                "zapi.jms.queue", queue);
        try (RunningModule external = RunningModule.start(zapi.baseUrl(), dir, settings)) {
            assertThat(external.broker()).isNull();
            String messageId;
            try (Session session = client.createSession(false, Session.AUTO_ACKNOWLEDGE)) {
                messageId = send(session, session.createTextMessage("{\"phone\": \"5511988880009\"}"), queue);
            }

            JsonNode record = external.awaitRecord(messageId);

            assertThat(record.path("outcome").asText()).isEqualTo("success");
            assertThat(zapi.requestsFor("5511988880009")).hasSize(1);
        }
    }

    @Test
    void aRequestWithReplyToIsAnsweredWhenTheRecordItselfGoesToAJmsQueue(@TempDir Path dir) throws Exception {
        String records = "records-" + UUID.randomUUID();
        Map<String, String> settings = Map.of("zapi.outcome.success-uri", "jms:queue:" + records);
        try (RunningModule jmsOutcomes = RunningModule.start(zapi.baseUrl(), dir, settings);
             Connection connection = connect(jmsOutcomes.jmsPort());
             Session session = connection.createSession(false, Session.AUTO_ACKNOWLEDGE)) {
            Queue replies = session.createTemporaryQueue();
            TextMessage request = session.createTextMessage("{\"phone\": \"5511988880010\"}");
            request.setJMSReplyTo(replies);
            String requestId = send(session, request);

            // the record is sent to its queue as a plain message, not as a request waiting for an answer
            Message reply = session.createConsumer(replies).receive(10_000);
            Message record = session.createConsumer(session.createQueue(records)).receive(10_000);

            assertThat(reply.getJMSCorrelationID()).isEqualTo(requestId);
            assertThat(((TextMessage) record).getText()).isEqualTo(((TextMessage) reply).getText());
            assertThat(record.getJMSReplyTo()).isNull();
            assertThat(Json.MAPPER.readTree(((TextMessage) record).getText()).path("outcome").asText())
                    .isEqualTo("success");
        }
    }

    private static void awaitInputQueueEmpty() {
        ActiveMQServer broker = module.broker().server();
        await().atMost(Duration.ofSeconds(10)).until(() -> broker.locateQueue("send-call").getMessageCount() == 0
                                                          && broker.locateQueue("send-call").getDeliveringCount() == 0);
    }

    static Connection connect(int port) throws Exception {
        Connection connection = new ActiveMQConnectionFactory("tcp://127.0.0.1:" + port).createConnection();
        connection.start();
        return connection;
    }

    private static String send(Session session, Message message) throws Exception {
        return send(session, message, "send-call");
    }

    /** Sends persistently, as a producer should, and returns the id the broker gave the message. */
    private static String send(Session session, Message message, String queue) throws Exception {
        try (MessageProducer producer = session.createProducer(session.createQueue(queue))) {
            producer.send(message);
        }
        return message.getJMSMessageID();
    }

    static byte[] frame(String text) {
        return (text + "\0").getBytes(StandardCharsets.UTF_8);
    }

    /** One STOMP frame, up to its NUL, without the heart-beat newlines that may come before it. */
    static String readFrame(InputStream in) throws IOException {
        StringBuilder frame = new StringBuilder();
        for (int b = in.read(); b != 0; b = in.read()) {
            if (b < 0) {
                throw new IOException("connection closed after: " + frame);
            }
            if (frame.length() == 0 && (b == '\n' || b == '\r')) {
                continue;
            }
            frame.append((char) b);
        }
        return frame.toString();
    }
}
