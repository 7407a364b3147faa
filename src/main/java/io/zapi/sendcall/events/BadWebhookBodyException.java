package io.zapi.sendcall.events;

/** A webhook post whose body is no call event the module can record: answered 400 with this message. */
public class BadWebhookBodyException extends RuntimeException {

    public BadWebhookBodyException(String message) {
        super(message);
    }
}
