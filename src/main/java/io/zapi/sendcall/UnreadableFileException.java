package io.zapi.sendcall;

/** A request file that could not be read to its end; the file is kept in {@code inbox/.error/}. */
public class UnreadableFileException extends Exception {

    public UnreadableFileException(String message) {
        super(message);
    }
}
