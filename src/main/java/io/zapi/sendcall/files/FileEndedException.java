package io.zapi.sendcall.files;

/** An action on a file that has ended (done, cancelled, unreadable): answered 409, nothing changes. */
public class FileEndedException extends RuntimeException {

    public FileEndedException(String name, String state) {
        super(name + " is " + state + ": it can no longer be paused, resumed or cancelled");
    }
}
