package io.zapi.sendcall.files;

/** An action names a file the module does not know: answered 404. */
public class UnknownFileException extends RuntimeException {

    public UnknownFileException(String name) {
        super("no inbox file is named " + name + ": use the name GET /files lists (the name kept in inbox/.done, "
              + "with its time prefix)");
    }
}
