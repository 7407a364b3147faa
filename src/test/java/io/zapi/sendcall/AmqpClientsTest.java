package io.zapi.sendcall;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.UUID;

import com.fasterxml.jackson.databind.JsonNode;
import jakarta.jms.Connection;
import jakarta.jms.DeliveryMode;
import jakarta.jms.Message;
import jakarta.jms.MessageConsumer;
import jakarta.jms.MessageProducer;
import jakarta.jms.Queue;
import jakarta.jms.Session;
import jakarta.jms.TextMessage;
import org.apache.activemq.artemis.core.server.ActiveMQServer;
import org.apache.qpid.jms.JmsConnectionFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import io.zapi.sendcall.jms.EmbeddedBroker;
import io.zapi.sendcall.pipeline.Json;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The JMS input as AMQP 1.0 clients see it (Qpid JMS over TCP to the embedded broker): messages without a message id,
 * replies that cannot be delivered, non-persistent messages across a restart.
 */
class AmqpClientsTest {

    @RegisterExtension
    static final ModuleUnderTest app = new ModuleUnderTest();

    @Test
    void messagesWithoutAMessageIdAreDistinctRequests() throws Exception {
        try (Connection connection = amqp(app.module().jmsPort());
             Session session = connection.createSession(false, Session.AUTO_ACKNOWLEDGE);
             MessageProducer producer = session.createProducer(session.createQueue("send-call"))) {
            // what AMQP clients other than Qpid JMS do unless told otherwise: no message-id at all
            producer.setDisableMessageID(true);
            producer.send(session.createTextMessage("{\"phone\": \"5511988880101\"}"));
            producer.send(session.createTextMessage("{\"phone\": \"5511988880102\"}"));
        }

        JsonNode first = awaitRecordOfPhone("5511988880101");
        JsonNode second = awaitRecordOfPhone("5511988880102");

        assertThat(first.path("outcome").asText()).isEqualTo("success");
        assertThat(second.path("outcome").asText()).isEqualTo("success");
        assertThat(first.path("source").path("name").asText()).isNotBlank()
                .isNotEqualTo(second.path("source").path("name").asText());
        assertThat(app.zapi().requestsFor("5511988880101")).hasSize(1);
        assertThat(app.zapi().requestsFor("5511988880102")).hasSize(1);
        awaitInputQueueEmpty();
    }

    @Test
    void aReplyToAMulticastAddressDoesNotPlaceTheCallAgain() throws Exception {
        String replies = "replies-multicast-" + UUID.randomUUID();
        try (Connection connection = amqp(app.module().jmsPort());
             Session session = connection.createSession(false, Session.AUTO_ACKNOWLEDGE);
             // a plain subscriber: the broker creates the reply address as multicast, where a queue reply fails
             MessageConsumer subscriber = session.createConsumer(session.createTopic(replies));
             MessageProducer producer = session.createProducer(session.createQueue("send-call"))) {
            // a message id of the client's own (Qpid JMS's default), no body id: the key comes from the message
            TextMessage request = session.createTextMessage("{\"phone\": \"5511988880103\"}");
            request.setJMSReplyTo(session.createQueue(replies));
            producer.send(request);
            producer.send(session.createTextMessage("{\"phone\": \"5511988880104\"}"));

            // the next message is taken while nothing is waiting to be redelivered
            JsonNode next = awaitRecordOfPhone("5511988880104");
            assertThat(next.path("outcome").asText()).isEqualTo("success");
        }
        awaitInputQueueEmpty();

        assertThat(recordsOfPhone("5511988880103")).singleElement()
                .satisfies(record -> assertThat(record.path("outcome").asText()).isEqualTo("success"));
        assertThat(app.zapi().requestsFor("5511988880103")).hasSize(1);
        assertThat(app.module().broker().server().locateQueue(EmbeddedBroker.DEAD_LETTER_QUEUE).getMessageCount()).isZero();
    }

    @Test
    void aReplyToTheRequestQueueItselfIsNotSentAndDoesNotPlaceTheCallAgain() throws Exception {
        var requestQueue = app.module().broker().server().locateQueue("send-call");
        long addedBefore = requestQueue.getMessagesAdded();
        try (Connection connection = amqp(app.module().jmsPort());
             Session session = connection.createSession(false, Session.AUTO_ACKNOWLEDGE);
             MessageProducer producer = session.createProducer(session.createQueue("send-call"))) {
            TextMessage request = session.createTextMessage("{\"phone\": \"5511988880105\"}");
            // answering there would put the record back on the queue as a new request
            request.setJMSReplyTo(session.createQueue("send-call"));
            producer.send(request);
            producer.send(session.createTextMessage("{\"phone\": \"5511988880106\"}"));
        }

        awaitRecordOfPhone("5511988880106");
        awaitInputQueueEmpty();

        assertThat(recordsOfPhone("5511988880105")).singleElement()
                .satisfies(record -> assertThat(record.path("outcome").asText()).isEqualTo("success"));
        assertThat(app.zapi().requestsFor("5511988880105")).hasSize(1);
        // the two requests and nothing else: no record was put back on the queue as a request
        assertThat(requestQueue.getMessagesAdded() - addedBefore).isEqualTo(2);
        assertThat(app.module().broker().server().locateQueue(EmbeddedBroker.DEAD_LETTER_QUEUE).getMessageCount()).isZero();
    }

    @Test
    void stompRepliesToExistingQueuesThatCannotTakeThemDoNotPlaceTheCallAgain() throws Exception {
        var requestQueue = app.module().broker().server().locateQueue("send-call");
        long addedBefore = requestQueue.getMessagesAdded();
        long killedBefore = requestQueue.getMessagesKilled();
        try (Socket socket = new Socket("127.0.0.1", app.module().jmsPort())) {
            socket.setSoTimeout(20_000);
            OutputStream out = socket.getOutputStream();
            InputStream in = socket.getInputStream();
            out.write(JmsQueueTest.frame("CONNECT\naccept-version:1.2\nhost:localhost\n\n"));
            assertThat(JmsQueueTest.readFrame(in)).startsWith("CONNECTED\n");
            // existing queues named as reply addresses: the request queue itself and the dead-letter queue
            out.write(JmsQueueTest.frame("SEND\ndestination:send-call\ndestination-type:ANYCAST\nreply-to:send-call\n\n"
                                         + "{\"phone\": \"5511988880111\"}"));
            out.write(JmsQueueTest.frame("SEND\ndestination:send-call\ndestination-type:ANYCAST\nreply-to:DLQ\n\n"
                                         + "{\"phone\": \"5511988880112\"}"));
            out.write(JmsQueueTest.frame("SEND\ndestination:send-call\ndestination-type:ANYCAST\nreceipt:sent\n\n"
                                         + "{\"phone\": \"5511988880113\"}"));
            assertThat(JmsQueueTest.readFrame(in)).startsWith("RECEIPT\n");
        }

        awaitRecordOfPhone("5511988880113");
        awaitInputQueueEmpty();

        for (String phone : List.of("5511988880111", "5511988880112")) {
            assertThat(recordsOfPhone(phone)).singleElement()
                    .satisfies(record -> assertThat(record.path("outcome").asText()).isEqualTo("success"));
            assertThat(app.zapi().requestsFor(phone)).hasSize(1);
        }
        // the three requests and nothing else, none of them parked in the dead-letter queue
        assertThat(requestQueue.getMessagesAdded() - addedBefore).isEqualTo(3);
        assertThat(requestQueue.getMessagesKilled() - killedBefore).isZero();
    }

    @Test
    void anAmqpRequesterGetsSuccessAndRejectionRepliesCorrelatedToItsMessageIds() throws Exception {
        try (Connection connection = amqp(app.module().jmsPort());
             Session session = connection.createSession(false, Session.AUTO_ACKNOWLEDGE);
             MessageProducer producer = session.createProducer(session.createQueue("send-call"))) {
            Queue replies = session.createTemporaryQueue();
            TextMessage success = session.createTextMessage("{\"phone\": \"5511988880107\"}");
            success.setJMSReplyTo(replies);
            TextMessage rejected = session.createTextMessage("{\"phone\": \"5511988880108\", \"callDuration\": 99}");
            rejected.setJMSReplyTo(replies);
            TextMessage correlated = session.createTextMessage("{\"phone\": \"not a phone\"}");
            correlated.setJMSReplyTo(replies);
            correlated.setJMSCorrelationID("the-sender's-own");
            producer.send(success);
            producer.send(rejected);
            producer.send(correlated);

            try (MessageConsumer consumer = session.createConsumer(replies)) {
                // the queue's consumers work side by side: replies come in any order, each correlated to its request
                java.util.Map<String, Message> byCorrelation = new java.util.HashMap<>();
                for (int i = 0; i < 3; i++) {
                    Message reply = consumer.receive(20_000);
                    assertThat(reply).isNotNull();
                    byCorrelation.put(reply.getJMSCorrelationID(), reply);
                }
                Message first = byCorrelation.get(success.getJMSMessageID());
                Message second = byCorrelation.get(rejected.getJMSMessageID());
                Message third = byCorrelation.get("the-sender's-own");
                assertThat(first).isNotNull();
                assertThat(second).isNotNull();
                assertThat(third).isNotNull();

                assertThat(first.getJMSCorrelationID()).isEqualTo(success.getJMSMessageID());
                assertThat(Json.MAPPER.readTree(((TextMessage) first).getText()).path("outcome").asText())
                        .isEqualTo("success");
                assertThat(second.getJMSCorrelationID()).isEqualTo(rejected.getJMSMessageID());
                JsonNode rejection = Json.MAPPER.readTree(((TextMessage) second).getText());
                assertThat(rejection.path("outcome").asText()).isEqualTo("rejected");
                assertThat(rejection.path("error").asText()).startsWith("callDuration must be from 1 to 15");
                // a correlation id the sender set is kept, as JMS request-reply expects
                assertThat(third.getJMSCorrelationID()).isEqualTo("the-sender's-own");
                assertThat(Json.MAPPER.readTree(((TextMessage) third).getText()).path("outcome").asText())
                        .isEqualTo("rejected");
            }
        }
        assertThat(app.zapi().requestsFor("5511988880107")).hasSize(1);
        assertThat(app.zapi().requestsFor("5511988880108")).isEmpty();
        awaitInputQueueEmpty();
    }

    @Test
    void nonPersistentRequestsSurviveARestartOfTheModule(@TempDir Path restartDir) throws Exception {
        try (RunningModule first = RunningModule.start(app.zapi().baseUrl(), restartDir)) {
            var queue = first.broker().server().locateQueue("send-call");
            int consumers = first.jmsConsumers();
            await().atMost(Duration.ofSeconds(10)).until(() -> queue.getConsumerCount() == consumers);
            // the module takes nothing more: the requests wait in the broker until it stops
            first.context().getRouteController().stopRoute("jms-queue");
            try (Connection connection = amqp(first.jmsPort());
                 Session session = connection.createSession(false, Session.AUTO_ACKNOWLEDGE);
                 MessageProducer producer = session.createProducer(session.createQueue("send-call"))) {
                producer.setDeliveryMode(DeliveryMode.NON_PERSISTENT);
                producer.send(session.createTextMessage("{\"phone\": \"5511988880109\", \"id\": \"np-amqp\"}"));
            }
            // the README's own STOMP example: no persistent header
            try (Socket socket = new Socket("127.0.0.1", first.jmsPort())) {
                socket.setSoTimeout(20_000);
                OutputStream out = socket.getOutputStream();
                InputStream in = socket.getInputStream();
                out.write(JmsQueueTest.frame("CONNECT\naccept-version:1.2\nhost:localhost\n\n"));
                assertThat(JmsQueueTest.readFrame(in)).startsWith("CONNECTED\n");
                out.write(JmsQueueTest.frame("SEND\ndestination:send-call\ndestination-type:ANYCAST\nreceipt:sent\n\n"
                                             + "{\"phone\": \"5511988880110\", \"id\": \"np-stomp\"}"));
                assertThat(JmsQueueTest.readFrame(in)).startsWith("RECEIPT\n");
            }
            await().atMost(Duration.ofSeconds(10)).until(() -> queue.getMessageCount() == 2);
        }
        assertThat(app.zapi().requestsFor("5511988880109")).isEmpty();

        try (RunningModule second = RunningModule.start(app.zapi().baseUrl(), restartDir)) {
            assertThat(second.awaitRecordWithId("np-amqp").path("outcome").asText()).isEqualTo("success");
            assertThat(second.awaitRecordWithId("np-stomp").path("outcome").asText()).isEqualTo("success");
            assertThat(app.zapi().requestsFor("5511988880109")).hasSize(1);
            assertThat(app.zapi().requestsFor("5511988880110")).hasSize(1);
        }
    }

    private static JsonNode awaitRecordOfPhone(String phone) {
        return await().atMost(Duration.ofSeconds(20)).until(() -> recordsOfPhone(phone), r -> r.size() == 1).get(0);
    }

    private static List<JsonNode> recordsOfPhone(String phone) {
        return app.module().allRecords().stream().filter(r -> phone.equals(r.path("request").path("phone").asText()))
                .toList();
    }

    private static void awaitInputQueueEmpty() {
        ActiveMQServer broker = app.module().broker().server();
        await().atMost(Duration.ofSeconds(20)).until(() -> broker.locateQueue("send-call").getMessageCount() == 0
                                                          && broker.locateQueue("send-call").getDeliveringCount() == 0);
    }

    private static Connection amqp(int port) throws Exception {
        Connection connection = new JmsConnectionFactory("amqp://127.0.0.1:" + port).createConnection();
        connection.start();
        return connection;
    }
}
