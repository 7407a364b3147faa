package io.zapi.sendcall.pipeline;

/** A request that must not be sent: the message names the field and says what is wrong with it. */
public class InvalidRequestException extends Exception {

    public InvalidRequestException(String message) {
        super(message);
    }
}
