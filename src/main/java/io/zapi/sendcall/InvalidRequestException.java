package io.zapi.sendcall;

/** A request that must not be sent: the message names the field and says what is wrong with it. */
public class InvalidRequestException extends Exception {

    public InvalidRequestException(String message) {
        super(message);
    }
}
