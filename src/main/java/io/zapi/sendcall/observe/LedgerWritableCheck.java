package io.zapi.sendcall.observe;

import java.nio.file.Path;
import java.util.Map;

import org.apache.camel.health.HealthCheckResultBuilder;
import org.apache.camel.impl.health.AbstractHealthCheck;

import io.zapi.sendcall.pipeline.CallLedger;

/**
 * Readiness: the ledger database can be written. Every request claims its key there before its call and is marked
 * done there after its record, so a module whose ledger takes no write (a full disk, a read-only file system) cannot
 * handle a request. UP again by itself once the disk takes writes again.
 */
public final class LedgerWritableCheck extends AbstractHealthCheck {

    private final CallLedger ledger;
    private final Path databaseFile;

    public LedgerWritableCheck(CallLedger ledger, Path databaseFile) {
        super(HealthChecks.GROUP, "ledger");
        this.ledger = ledger;
        this.databaseFile = databaseFile;
    }

    @Override
    public boolean isLiveness() {
        // a full disk is cured without a restart
        return false;
    }

    @Override
    protected void doCall(HealthCheckResultBuilder builder, Map<String, Object> options) {
        builder.detail("ledger.file", databaseFile.toString());
        try {
            ledger.checkWritable();
            builder.up();
        } catch (RuntimeException e) {
            builder.down().message("the ledger database " + databaseFile + " cannot be written ("
                                   + HealthChecks.rootMessage(e) + "): free space on its disk or make it writable");
        }
    }
}
