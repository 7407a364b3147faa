package io.zapi.sendcall.inbox;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import org.apache.camel.Exchange;
import org.apache.camel.spi.IdempotentRepository;

import io.zapi.sendcall.pipeline.CallLedger;

/**
 * The inbox's read lock (Camel's {@code readLock=idempotent-changed}, with this as its idempotentRepository): which
 * replica reads which inbox file now. Camel claims a file here ({@link #add(Exchange, String)}) before reading it,
 * then checks that it has settled (zapi.inbox.settle-ms), and releases the claim once the file is moved to .done or
 * .error, or left in the inbox for a later try ({@code readLockRemoveOnCommit}, {@code readLockRemoveOnRollback}).
 * <p>
 * Shared ledger: the claim is a row of the ledger holding this replica's node id ({@link CallLedger#claimInboxFile}),
 * so that a file of a shared inbox is read by one replica at a time, and taken over by another once the reader's
 * heartbeat is older than zapi.ledger.node-timeout-ms. SQLite (one process): claims in memory, as nothing else reads
 * the inbox.
 */
public class InboxClaims implements IdempotentRepository {

    private final CallLedger ledger;
    private final Set<String> inMemory = ConcurrentHashMap.newKeySet();

    public InboxClaims(CallLedger ledger) {
        this.ledger = ledger;
    }

    private boolean shared() {
        return ledger.dialect() == CallLedger.Dialect.POSTGRESQL;
    }

    /**
     * Claims the file, then makes sure it is still there: a replica that read it to its end moves it away before it
     * releases its claim, so a file listed before that move and claimed after it is not read a second time.
     */
    @Override
    public boolean add(Exchange exchange, String file) {
        if (!add(file)) {
            return false;
        }
        String path = exchange.getMessage().getHeader(Exchange.FILE_PATH, String.class);
        if (path != null && !Files.exists(Path.of(path))) {
            remove(file);
            return false;
        }
        return true;
    }

    @Override
    public boolean add(String file) {
        return shared() ? ledger.claimInboxFile(file) : inMemory.add(file);
    }

    @Override
    public boolean contains(String file) {
        return !shared() && inMemory.contains(file);
    }

    @Override
    public boolean remove(String file) {
        if (shared()) {
            ledger.releaseInboxFile(file);
            return true;
        }
        return inMemory.remove(file);
    }

    @Override
    public boolean confirm(String file) {
        return true;
    }

    @Override
    public void clear() {
        inMemory.clear();
    }

    @Override
    public void start() {
        // the ledger is opened and closed by LedgerStartup
    }

    @Override
    public void stop() {
        // the ledger is opened and closed by LedgerStartup
    }
}
