package io.zapi.sendcall.jms;

import jakarta.jms.Connection;
import jakarta.jms.ConnectionFactory;
import jakarta.jms.Destination;
import jakarta.jms.JMSException;
import jakarta.jms.MessageProducer;
import jakarta.jms.Queue;
import jakarta.jms.Session;
import jakarta.jms.TextMessage;
import jakarta.jms.Topic;
import org.apache.activemq.artemis.jms.client.ActiveMQDestination;
import org.apache.camel.Exchange;
import org.apache.camel.component.jms.JmsComponent;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.zapi.sendcall.records.OutcomeRecord;
import io.zapi.sendcall.runtime.ModuleConfiguration;

/**
 * Sends a JMS request's outcome record to its JMSReplyTo, once the record is written. Not camel-jms's own reply: that
 * is sent in the request's transaction, so a reply that cannot be delivered (an address that takes no queue messages,
 * a deleted temporary queue, the request queue itself) rolled the request back, and its redeliveries were recorded as
 * duplicates, or called again when their key changed. Here the reply goes on a session of its own, outside the
 * request's transaction; when it cannot be delivered the request still counts as handled and a warning says so.
 */
public final class JmsReply {

    /** Exchange property: the request's JMSReplyTo. */
    static final String REPLY_TO = "jmsReplyTo";
    /** Exchange property: the JMSCorrelationID the reply carries. */
    static final String CORRELATION_ID = "jmsReplyCorrelationId";
    private static final Logger LOG = LoggerFactory.getLogger(JmsReply.class);

    private JmsReply() {
    }

    public static void send(Exchange exchange) {
        Destination replyTo = exchange.getProperty(REPLY_TO, Destination.class);
        if (replyTo == null) {
            return;
        }
        String correlationId = exchange.getProperty(OutcomeRecord.CORRELATION_ID, String.class);
        try {
            String requestQueue = exchange.getContext()
                    .resolvePropertyPlaceholders("{{" + ModuleConfiguration.JMS_QUEUE + "}}");
            if (requestQueue.equals(name(replyTo))) {
                // the record would come back as a new request, and its rejection would be answered there again
                LOG.warn("The reply for correlationId={} is not sent: its JMSReplyTo is the request queue {} itself",
                        correlationId, requestQueue);
                return;
            }
            ConnectionFactory connections = exchange.getContext().getComponent("jms", JmsComponent.class)
                    .getConfiguration().getOrCreateTemplateConnectionFactory();
            try (Connection connection = connections.createConnection();
                 Session session = connection.createSession(false, Session.AUTO_ACKNOWLEDGE);
                 MessageProducer producer = session.createProducer(replyTo)) {
                TextMessage reply = session.createTextMessage(exchange.getMessage().getBody(String.class));
                reply.setJMSCorrelationID(exchange.getProperty(CORRELATION_ID, String.class));
                // persistent, so that the broker says at once (not later, not never) when it cannot take it
                producer.send(reply);
            }
        } catch (JMSException | RuntimeException e) {
            LOG.warn("The reply for correlationId={} could not be sent to {}: {}. The request is handled all the same "
                     + "(see its record); it is not tried again.", correlationId, replyTo, e.getMessage());
        }
    }

    /** The address a reply would go to; a STOMP reply-to is a plain Artemis destination, neither queue nor topic. */
    private static String name(Destination destination) throws JMSException {
        return destination instanceof ActiveMQDestination artemis ? artemis.getAddress()
                : destination instanceof Queue queue ? queue.getQueueName()
                : destination instanceof Topic topic ? topic.getTopicName() : null;
    }
}
