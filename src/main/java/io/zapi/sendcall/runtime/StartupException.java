package io.zapi.sendcall.runtime;

/** The module cannot start as configured; the message tells the user what to set or fix. */
public class StartupException extends RuntimeException {

    public StartupException(String message) {
        super(message);
    }
}
