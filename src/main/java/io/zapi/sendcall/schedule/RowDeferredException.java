package io.zapi.sendcall.schedule;

import java.time.Instant;

/**
 * A row of an inbox file is not called now: it waits in the ledger (WaitingRows) until it is due, and gets its
 * outcome record then. Not an error: the pipeline's route configuration turns it into the outcome {@code waiting},
 * which writes no record.
 */
public class RowDeferredException extends Exception {

    private final transient Instant dueAt;

    public RowDeferredException(String reason, Instant dueAt) {
        super(reason, null, false, false);
        this.dueAt = dueAt;
    }

    public Instant dueAt() {
        return dueAt;
    }
}
