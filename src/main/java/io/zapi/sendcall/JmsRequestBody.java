package io.zapi.sendcall;

import jakarta.jms.BytesMessage;
import jakarta.jms.JMSException;
import jakarta.jms.MapMessage;
import jakarta.jms.Message;
import jakarta.jms.ObjectMessage;
import jakarta.jms.StreamMessage;
import jakarta.jms.TextMessage;
import org.apache.camel.Exchange;

/**
 * Takes the request out of a JMS message (the route receives the message itself: mapJmsMessage=false). Only text
 * and bytes are read. An ObjectMessage is never deserialized: Java deserialization of what anyone on the broker
 * sent is how a consumer gets attacked, and camel-jms 4.18.0 would do it before any route step ran. A bytes message
 * over {@link Json#MAX_REQUEST_BYTES} is not copied out of the client at all. What is not read becomes an unreadable
 * request, so the pipeline rejects it with the reason and the message is acknowledged.
 */
public final class JmsRequestBody {

    private JmsRequestBody() {
    }

    public static void read(Exchange exchange) throws JMSException {
        Object body = exchange.getMessage().getBody();
        if (!(body instanceof Message message)) {
            return;
        }
        exchange.getMessage().setBody(request(message));
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
