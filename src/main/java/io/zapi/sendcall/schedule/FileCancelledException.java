package io.zapi.sendcall.schedule;

/** A row of an inbox file its user cancelled: its outcome is {@code cancelled}, and it is never called. */
public class FileCancelledException extends Exception {

    public FileCancelledException(String keptName) {
        super("not called: its file " + keptName + " was cancelled (POST /files/{name}/cancel)", null, false, false);
    }
}
