package io.zapi.sendcall.zapi;

/**
 * Z-API answered with a status worth another try (429, 502, 503, 504): the call was not placed. The error handler's
 * redelivery policy decides when and how often.
 */
public class RetryableStatusException extends Exception {

    public RetryableStatusException(String message) {
        super(message);
    }
}
