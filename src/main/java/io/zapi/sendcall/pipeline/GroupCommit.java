package io.zapi.sendcall.pipeline;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.function.Supplier;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * The ledger's writes of concurrent requests committed together: a request's claim (before its call) or finish (after
 * its record) waits, as before, until its write is committed, but the writes that arrive while one transaction commits
 * go in the next one together, so that requests share the commit (a WAL write and, on PostgreSQL, its flush to disk)
 * instead of paying one each. One writer thread; a lone request is committed at once, without waiting for company.
 * <p>
 * A batch that fails (one write's error, a lost connection) is rolled back as a whole, then each of its writes is
 * tried again in a transaction of its own, so that a write fails only for its own reason, with its own exception.
 */
final class GroupCommit {

    /** Enough to share the commit between every request of zapi.concurrency, small enough for a short transaction. */
    private static final int MAX_BATCH = 64;

    private final BlockingQueue<Write<?>> queue = new LinkedBlockingQueue<>();
    private final TransactionTemplate transactions;
    /** Taken around each transaction: SQLite's lock of its one connection; nothing on PostgreSQL. */
    private final Runnable lock;
    private final Runnable unlock;
    private final Thread writer;
    private volatile boolean closed;

    /** @param oneStatement atomic on its own: alone in its batch, it needs no transaction (a round trip fewer) */
    private record Write<T>(Supplier<T> work, boolean oneStatement, CompletableFuture<T> done) {
    }

    /** Queued by close: the writer stops once the writes before it are committed. */
    private static final Write<Void> STOP = new Write<>(() -> null, true, new CompletableFuture<>());

    GroupCommit(TransactionTemplate transactions, Runnable lock, Runnable unlock, String name) {
        this.transactions = transactions;
        this.lock = lock;
        this.unlock = unlock;
        this.writer = new Thread(this::writeBatches, name);
        this.writer.setDaemon(true);
        this.writer.start();
    }

    /**
     * Runs the work in the next transaction and returns its result once that transaction is committed; its
     * exception (a DataAccessException) if the work failed in a transaction of its own. Waits uninterruptibly: the
     * write may be committed already, and the caller must know whether it was.
     */
    <T> T commit(Supplier<T> work, boolean oneStatement) {
        if (closed) {
            throw new IllegalStateException("the ledger is closed: the module is stopping");
        }
        Write<T> write = new Write<>(work, oneStatement, new CompletableFuture<>());
        queue.add(write);
        try {
            return write.done.join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof RuntimeException cause) {
                throw cause;
            }
            throw e;
        }
    }

    void commitWithoutResult(Runnable work) {
        commit(() -> {
            work.run();
            return null;
        }, false);
    }

    /** Commits what is queued, then stops the writer; a write that comes later is refused. */
    void close() {
        closed = true;
        queue.add(STOP);
        try {
            writer.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void writeBatches() {
        List<Write<?>> batch = new ArrayList<>();
        boolean stopping = false;
        while (!stopping) {
            try {
                batch.add(queue.take());
            } catch (InterruptedException e) {
                // not interrupted by the module (close queues STOP): a write is never dropped half-way
                continue;
            }
            queue.drainTo(batch, MAX_BATCH - batch.size());
            stopping = batch.remove(STOP);
            if (!batch.isEmpty()) {
                write(batch);
            }
            batch.clear();
        }
        List<Write<?>> late = new ArrayList<>();
        queue.drainTo(late);
        late.forEach(write -> write.done.completeExceptionally(
                new IllegalStateException("the ledger is closed: the module is stopping")));
    }

    private void write(List<Write<?>> batch) {
        lock.run();
        try {
            if (batch.size() > 1) {
                try {
                    // results are kept apart until the commit: a caller learns of its write only once it is durable
                    List<Runnable> completions = new ArrayList<>(batch.size());
                    transactions.executeWithoutResult(status -> {
                        for (Write<?> write : batch) {
                            completions.add(resultOf(write));
                        }
                    });
                    completions.forEach(Runnable::run);
                    return;
                } catch (RuntimeException | Error batchFailed) {
                    // rolled back: each write again on its own, below, where its own failure completes its caller.
                    // Nothing may end the writer thread: every request after it would wait for good
                }
            }
            for (Write<?> write : batch) {
                Runnable[] completion = new Runnable[1];
                try {
                    if (batch.size() == 1 && write.oneStatement) {
                        completion[0] = resultOf(write);
                    } else {
                        transactions.executeWithoutResult(status -> completion[0] = resultOf(write));
                    }
                } catch (RuntimeException | Error e) {
                    write.done.completeExceptionally(e);
                    continue;
                }
                completion[0].run();
            }
        } finally {
            unlock.run();
        }
    }

    /** Runs the write now; what completes its caller, to run once its transaction is committed. */
    private static <T> Runnable resultOf(Write<T> write) {
        T result = write.work.get();
        return () -> write.done.complete(result);
    }
}
