package io.zapi.sendcall.jms;

import jakarta.jms.BytesMessage;
import jakarta.jms.Destination;
import jakarta.jms.JMSException;
import jakarta.jms.MapMessage;
import jakarta.jms.Message;
import jakarta.jms.ObjectMessage;
import jakarta.jms.StreamMessage;
import jakarta.jms.TextMessage;
import org.apache.activemq.artemis.api.core.FilterConstants;
import org.apache.activemq.artemis.jms.client.ActiveMQMessage;
import org.apache.camel.Exchange;

import io.zapi.sendcall.inbox.RequestRow;
import io.zapi.sendcall.pipeline.Json;
import io.zapi.sendcall.pipeline.RequestSource;
import io.zapi.sendcall.pipeline.RequestValidator;
import io.zapi.sendcall.runtime.ModuleConfiguration;

/**
 * Takes the request out of a JMS message (the route receives the message itself: mapJmsMessage=false). Only text
 * and bytes are read. An ObjectMessage is never deserialized: Java deserialization of what anyone on the broker
 * sent is how a consumer gets attacked, and camel-jms 4.18.0 would do it before any route step ran. A bytes message
 * over {@link Json#MAX_REQUEST_BYTES} is not copied out of the client at all. What is not read becomes an unreadable
 * request, so the pipeline rejects it with the reason and the message is acknowledged.
 * <p>
 * It also names the message (its source name and idempotency key, which must be the same on every delivery of that
 * message and differ between messages) and keeps where its reply goes ({@link JmsReply}).
 */
public final class JmsRequestBody {

    private JmsRequestBody() {
    }

    /** Set by the Artemis AMQP converter on every message that came in over AMQP. */
    private static final String AMQP_ORIGINAL_ENCODING = "JMS_AMQP_ORIGINAL_ENCODING";

    public static void read(Exchange exchange) throws JMSException {
        Object body = exchange.getMessage().getBody();
        if (!(body instanceof Message message)) {
            return;
        }
        String name = name(exchange, message);
        exchange.setProperty(RequestSource.PROPERTY, RequestSource.jms(name));
        Destination replyTo = message.getJMSReplyTo();
        if (replyTo != null) {
            exchange.setProperty(JmsReply.REPLY_TO, replyTo);
            // JMS request-reply: the sender's correlation id when it set one, else the id it knows its message by
            String correlation = message.getJMSCorrelationID();
            exchange.setProperty(JmsReply.CORRELATION_ID, correlation != null ? correlation : name);
        }
        exchange.getMessage().setBody(request(message));
    }

    /**
     * The message's name, the same on every delivery of it: the id its producer gave it, else the broker's.
     * <ul>
     * <li>CORE and OpenWire messages have a JMS message id the client or the broker chose once and stored with the
     * message; so do STOMP messages on the embedded broker (see {@link EmbeddedBroker}).</li>
     * <li>An AMQP message reaches this (CORE) consumer converted, once per delivery: a message-id that is not a UUID
     * is kept only in {@code NATIVE_MESSAGE_ID}, and its JMS message id is a random one made anew for each delivery,
     * so that redeliveries would look like new messages. Its own message-id is taken instead.</li>
     * <li>A message with no id of its own (AMQP clients send none unless told to; STOMP on an external broker) is
     * named by the broker's id for it, which the broker keeps in its journal across redeliveries and restarts,
     * qualified by which broker it is (a new journal starts counting again).</li>
     * </ul>
     */
    private static String name(Exchange exchange, Message message) throws JMSException {
        if (message.propertyExists(AMQP_ORIGINAL_ENCODING)) {
            String amqpMessageId = message.getStringProperty(FilterConstants.NATIVE_MESSAGE_ID);
            if (amqpMessageId != null) {
                return amqpMessageId;
            }
        } else if (message.getJMSMessageID() != null) {
            return message.getJMSMessageID();
        }
        if (message instanceof ActiveMQMessage artemis) {
            return "broker:" + brokerName(exchange) + ":" + artemis.getCoreMessage().getMessageID();
        }
        throw new IllegalStateException("a JMS message without a message id from a broker other than ActiveMQ "
                                        + "Artemis: zapi.jms.broker-url must name an Artemis broker");
    }

    /** The embedded broker's node id (kept in its data folder), or the external broker's URL. */
    private static String brokerName(Exchange exchange) {
        EmbeddedBroker embedded = exchange.getContext().hasService(EmbeddedBroker.class);
        if (embedded != null) {
            return embedded.server().getNodeID().toString();
        }
        return exchange.getContext().resolvePropertyPlaceholders("{{" + ModuleConfiguration.JMS_BROKER_URL + "}}")
                .trim();
    }

    private static Object request(Message message) throws JMSException {
        if (message instanceof TextMessage text) {
            return text.getText();
        }
        if (message instanceof BytesMessage bytes) {
            long length = bytes.getBodyLength();
            if (length > Json.MAX_REQUEST_BYTES) {
                return RequestRow.unreadable(null, null, RequestValidator.tooLong(length + " bytes").getMessage());
            }
            byte[] content = new byte[(int) length];
            bytes.readBytes(content);
            return content;
        }
        String type = message instanceof ObjectMessage ? "ObjectMessage (Java serialization)"
                : message instanceof MapMessage ? "MapMessage"
                : message instanceof StreamMessage ? "StreamMessage" : null;
        if (type != null) {
            return RequestRow.unreadable(null, null, "a JMS " + type + " is not read: send the JSON request as a "
                                                     + "text or bytes message in UTF-8");
        }
        // a message with no body at all
        return null;
    }
}
