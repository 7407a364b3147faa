package io.zapi.sendcall.inbox;

/** The module began shutting down before an inbox file was read to its end: it stays in the inbox, to be resumed. */
public class FileInterruptedException extends Exception {

    public FileInterruptedException(String message) {
        super(message);
    }
}
