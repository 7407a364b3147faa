package io.zapi.sendcall.observe;

import java.util.Map;

import org.apache.camel.health.HealthCheckResultBuilder;
import org.apache.camel.impl.health.AbstractHealthCheck;

import io.zapi.sendcall.pipeline.CallLedger;
import io.zapi.sendcall.runtime.SecretMasking;

/**
 * Readiness: the ledger database can be written. Every request claims its key there before its call and is marked
 * done there after its record, so a module whose ledger takes no write (a full disk, a read-only file system) cannot
 * handle a request. UP again by itself once the disk takes writes again.
 */
public final class LedgerWritableCheck extends AbstractHealthCheck {

    private final CallLedger ledger;
    public LedgerWritableCheck(CallLedger ledger) {
        super(HealthChecks.GROUP, "ledger");
        this.ledger = ledger;
    }

    @Override
    public boolean isLiveness() {
        // a full disk is cured without a restart
        return false;
    }

    @Override
    protected void doCall(HealthCheckResultBuilder builder, Map<String, Object> options) {
        // the SQLite file, or the shared ledger's URL (PostgreSQL: a lost connection is DOWN too, until it is back)
        builder.detail(ledger.dialect() == CallLedger.Dialect.SQLITE ? "ledger.file" : "ledger.url", ledger.location());
        try {
            ledger.checkWritable();
            builder.up();
        } catch (RuntimeException e) {
            builder.down().message("the ledger database " + ledger.location() + " cannot be written ("
                                   + SecretMasking.mask(HealthChecks.rootMessage(e)) + "): " + (ledger.dialect()
                                   == CallLedger.Dialect.SQLITE ? "free space on its disk or make it writable"
                                   : "check that PostgreSQL is up and reachable; claims wait for it meanwhile"));
        }
    }
}
