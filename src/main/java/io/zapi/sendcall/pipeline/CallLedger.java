package io.zapi.sendcall.pipeline;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Instant;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;

import javax.sql.DataSource;

import org.apache.camel.Exchange;
import org.apache.camel.ExchangePropertyKey;
import org.apache.camel.spi.IdempotentRepository;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.dao.DataAccessException;
import org.springframework.dao.DataAccessResourceFailureException;
import org.springframework.dao.RecoverableDataAccessException;
import org.springframework.dao.TransientDataAccessException;
import org.springframework.jdbc.core.ConnectionCallback;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.core.NestedExceptionUtils;
import org.springframework.transaction.CannotCreateTransactionException;
import org.springframework.transaction.TransactionException;
import org.springframework.transaction.support.TransactionTemplate;

import io.zapi.sendcall.inbox.FileReport;
import io.zapi.sendcall.inbox.ResultsFiles;
import io.zapi.sendcall.records.Outcome;
import io.zapi.sendcall.records.OutcomeRecord;
import io.zapi.sendcall.records.PendingRecords;
import io.zapi.sendcall.records.Timestamps;

/**
 * What the module has done, so that no call is placed twice and no request is recorded twice: across inputs,
 * re-dropped files, JMS redeliveries and restarts, and with zapi.ledger.url across the replicas sharing it. One
 * database, embedded SQLite under zapi.data-dir or PostgreSQL shared by several replicas, with these tables:
 * <ul>
 *   <li>{@code call_keys}: a request's idempotency key, claimed ({@code started}) before its call and {@code done}
 *   with its outcome once its record is written;</li>
 *   <li>{@code recorded_sources}: which requests (a row of an inbox file as taken, a JMS message) already have their
 *   record, so that one that comes again after a crash (a resumed file, a redelivery) is not recorded twice;</li>
 *   <li>{@code inbox_files}: the inbox files being read, so that one cut short is resumed as the same drop;</li>
 *   <li>{@code pending_records}: records whose endpoint did not take them (a full disk, a read-only folder), kept
 *   until it does ({@link PendingRecords}).</li>
 * </ul>
 * Camel's JdbcMessageIdRepository holds a key and nothing else; the ledger needs a key's state and outcome, and a
 * claim decided by one atomic insert-if-absent, hence these tables of its own (its add() counts, then inserts: two
 * processes racing get an exception, not false). SQLite: one connection, one writer at a time, its own model.
 * PostgreSQL: a pool, no Java lock; each key's row names its {@code owner} (zapi.node-id), and the {@code nodes} table
 * each replica's heartbeat, so that a key in flight on a replica that is gone is told from one in flight elsewhere.
 * <p>
 * The pipeline claims a key through Camel's idempotentConsumer EIP, with the ledger as its {@link IdempotentRepository}:
 * {@link #add(Exchange, String)} is the atomic claim, false for a duplicate. A key started but never done was in
 * flight when the module died: its call may have been placed. Its claim is taken over and the exchange flagged
 * {@link #INTERRUPTED} (recorded as failed, not sent again) or, when its record was written just before, flagged
 * {@link #ALREADY_RECORDED}; zapi.resend-interrupted=true sends it again. A key is marked done with its outcome by
 * {@link #finish} once the record is written, not by {@link #confirm}, which knows no outcome.
 */
public class CallLedger implements IdempotentRepository {

    /** Exchange property: the request's idempotency key, when it has one. */
    public static final String KEY = "idempotencyKey";
    /** Exchange property: true once this request holds its key's claim (it is the first with it, or took it over). */
    public static final String CLAIMED = "keyClaimed";
    /** Exchange property (Camel's): true when the key is held by an earlier request, done or in flight. */
    public static final String DUPLICATE = ExchangePropertyKey.DUPLICATE_MESSAGE.getName();
    /** Exchange property: true when the key was in flight when the module died, and its record is missing. */
    public static final String INTERRUPTED = "callInterrupted";
    /** Exchange property: true when the key was in flight when the module died, but its record was written. */
    public static final String ALREADY_RECORDED = "alreadyRecorded";
    /** Exchange property of an inbox file and its rows: the file as taken, the same across a resume. */
    public static final String DROP = "inboxDrop";
    /** Exchange property: true when the inbox file was read and reported already and only its move is left. */
    public static final String FILE_FINISHED = "inboxFileFinished";
    /** Set on an inbox file's exchange when it is a drop taken before (resumed): only then can a row have a record. */
    public static final String DROP_RESUMED = "inboxDropResumed";
    private static final long CLAIM_RETRY_FIRST_MS = 100;
    private static final long CLAIM_RETRY_MAX_MS = 5_000;
    private static final long EARLIER_DELIVERY_POLL_MS = 1_000;
    private static final Logger LOG = LoggerFactory.getLogger(CallLedger.class);

    private static final List<String> SCHEMA = List.of(
            "CREATE TABLE IF NOT EXISTS call_keys (key TEXT PRIMARY KEY, state TEXT NOT NULL, outcome TEXT, "
            + "correlation_id TEXT NOT NULL, updated_at TEXT NOT NULL, owner TEXT)",
            "CREATE TABLE IF NOT EXISTS inbox_files (name TEXT PRIMARY KEY, hash TEXT NOT NULL, taken_at TEXT NOT NULL, "
            + "identity TEXT, kept_in TEXT)",
            "CREATE TABLE IF NOT EXISTS recorded_sources (source TEXT PRIMARY KEY, outcome TEXT NOT NULL, "
            + "recorded_at TEXT)",
            "CREATE TABLE IF NOT EXISTS pending_records (correlation_id TEXT PRIMARY KEY, uri TEXT NOT NULL, "
            + "file_name TEXT, body TEXT NOT NULL, reason TEXT, parked_at TEXT NOT NULL)",
            // one row, rewritten by the health check: a commit that fails while the database cannot be written
            "CREATE TABLE IF NOT EXISTS write_checks (id INTEGER PRIMARY KEY, checked_at TEXT NOT NULL)",
            // call events (io.zapi.sendcall.events): each success, for the callOf of the events that follow it (in
            // epoch milliseconds, compared with the event's moment), and each event once by callId and notification
            "CREATE TABLE IF NOT EXISTS call_successes (correlation_id TEXT PRIMARY KEY, phone TEXT NOT NULL, "
            + "instance TEXT NOT NULL, succeeded_at BIGINT NOT NULL, file TEXT, report TEXT)",
            "CREATE INDEX IF NOT EXISTS call_successes_by_phone ON call_successes (phone, instance, succeeded_at)",
            "CREATE TABLE IF NOT EXISTS call_events (call_id TEXT NOT NULL, notification TEXT NOT NULL, "
            + "event TEXT NOT NULL, phone TEXT, instance TEXT, moment BIGINT, call_of TEXT, received_at TEXT NOT NULL, "
            + "PRIMARY KEY (call_id, notification))",
            "CREATE INDEX IF NOT EXISTS call_events_by_call ON call_events (call_of)",
            // the answered and missed counts of a file's report are read per event and per running report
            "CREATE INDEX IF NOT EXISTS call_successes_by_report ON call_successes (report)",
            // each file's final report, for the events of its calls that come after it (rewritten with their counts)
            "CREATE TABLE IF NOT EXISTS final_reports (report TEXT PRIMARY KEY, body TEXT NOT NULL, "
            + "written_at BIGINT NOT NULL)",
            // inbox files as campaigns (io.zapi.sendcall.files): each file's latest status for GET /files, from any
            // replica, and what its user asked of it (control: paused, cancelled), which survives a restart
            "CREATE TABLE IF NOT EXISTS inbox_file_status (name TEXT PRIMARY KEY, original_name TEXT NOT NULL, "
            + "report TEXT NOT NULL, state TEXT NOT NULL, control TEXT, entry TEXT NOT NULL, started_at TEXT NOT NULL, "
            + "updated_at BIGINT NOT NULL, ended_at BIGINT)",
            // rows of inbox files waiting to be called (io.zapi.sendcall.schedule): outside calling hours, notBefore
            // in the future, their file paused, or a redial; due_at in epoch milliseconds. One row per file row: its
            // latest attempt; replaced_outcome is the outcome of the attempt a redial replaces in the file's report
            "CREATE TABLE IF NOT EXISTS waiting_rows (report TEXT NOT NULL, idx BIGINT NOT NULL, file_name TEXT NOT NULL, "
            + "inbox_file TEXT NOT NULL, kept_prefix TEXT NOT NULL, drop_name TEXT, file_hash TEXT, row_value TEXT NOT NULL, "
            + "precheck TEXT, attempt INTEGER NOT NULL, due_at BIGINT NOT NULL, reason TEXT, waits_for TEXT, state TEXT NOT NULL, "
            + "taken_by TEXT, outcome TEXT, replaced_outcome TEXT, ended_at BIGINT, redial_of TEXT, results_name TEXT, "
            + "instance TEXT, replaced_instance TEXT, "
            + "PRIMARY KEY (report, idx))",
            "CREATE INDEX IF NOT EXISTS waiting_rows_due ON waiting_rows (state, due_at)",
            // with zapi.redial.max-attempts: each call of an inbox row that was placed, to be called again should
            // Z-API's webhook say it was missed (schedule/WaitingRows.redialMissed)
            "CREATE TABLE IF NOT EXISTS placed_rows (correlation_id TEXT PRIMARY KEY, report TEXT NOT NULL, "
            + "idx BIGINT NOT NULL, file_name TEXT NOT NULL, inbox_file TEXT NOT NULL, kept_prefix TEXT NOT NULL, "
            + "drop_name TEXT, file_hash TEXT, row_value TEXT NOT NULL, precheck TEXT, attempt INTEGER NOT NULL, "
            + "placed_at BIGINT NOT NULL, results_name TEXT, instance TEXT)",
            // results files (io.zapi.sendcall.inbox.ResultsFiles): whether each is complete (changes are applied to
            // complete ones only), and the changes to their entries not applied yet, by the entry's index
            "CREATE TABLE IF NOT EXISTS results_files (results TEXT PRIMARY KEY, complete INTEGER NOT NULL, "
            + "updated_at TEXT NOT NULL)",
            "CREATE TABLE IF NOT EXISTS results_updates (results TEXT NOT NULL, idx BIGINT NOT NULL, line TEXT NOT NULL, "
            + "PRIMARY KEY (results, idx))");
    /**
     * Columns added to tables of earlier versions, made at the first start (SQLite: ALTER when missing; PostgreSQL:
     * ADD COLUMN IF NOT EXISTS): a row's results entry, kept with its record (a resumed file writes it again) and with
     * its success (its call's event is written into it).
     */
    private static final List<List<String>> ADDED_COLUMNS = List.of(
            List.of("recorded_sources", "results_line"), List.of("call_successes", "results"),
            List.of("call_successes", "results_line"));
    /** Shared ledger only: each replica's heartbeat, by the database's clock, so that no two clocks are compared. */
    private static final String NODES = "CREATE TABLE IF NOT EXISTS nodes (node_id TEXT PRIMARY KEY, "
                                        + "heartbeat TIMESTAMPTZ NOT NULL, started_at TIMESTAMPTZ NOT NULL)";
    /**
     * Shared ledger only: which replica reads which file of the shared inbox now (the inbox's read lock, see
     * io.zapi.sendcall.inbox.InboxClaims), held while the file is read and released once it is moved or rolled back.
     */
    private static final String INBOX_CLAIMS = "CREATE TABLE IF NOT EXISTS inbox_claims (file TEXT PRIMARY KEY, "
                                               + "owner TEXT NOT NULL, claimed_at TIMESTAMPTZ NOT NULL)";
    /**
     * The one test of a replica gone, for a key in flight and for an inbox file alike: no heartbeat of the owner newer
     * than the node timeout, by the database's clock. A dead owner's heartbeat only gets older, so once its file is
     * taken over by this test its keys in flight pass it too: they are interrupted, never duplicates of a live node.
     * Parameters: the owner column, then the node timeout in seconds.
     */
    private static final String OWNER_IS_GONE = "NOT EXISTS (SELECT 1 FROM nodes n WHERE n.node_id = %s AND "
                                                + "n.heartbeat > now() - make_interval(secs => ?))";
    /** Any number, the same for every replica: the advisory lock under which one replica at a time makes the schema. */
    private static final long SCHEMA_LOCK = 0x7a617069L;
    /** The first key of the two-key advisory locks under which one replica at a time rewrites a results file. */
    private static final int RESULTS_LOCK = 0x7a617072;

    private final DataSource database;
    private final Dialect dialect;
    private final String location;
    private final String nodeId;
    private final long nodeTimeoutMs;
    /**
     * SQLite: one connection, one writer at a time, its own model, so every use goes through this lock. PostgreSQL:
     * null; a pool of connections, and the database decides between requests and replicas (row locks, ON CONFLICT).
     */
    private final ReentrantLock serial;
    private final JdbcTemplate jdbc;
    private final TransactionTemplate transactions;
    /** The claims and finishes of concurrent requests, committed together (group commit). */
    private final GroupCommit writes;
    private final boolean resendInterrupted;
    private final Map<String, Path> recordFolders;
    /** SQLite: keys the last run left started but not done: their calls may have been placed. */
    private final Set<String> interrupted = ConcurrentHashMap.newKeySet();

    /** The database under the ledger: the embedded default, or the one shared by several replicas. */
    public enum Dialect {
        SQLITE, POSTGRESQL
    }

    /**
     * @param location      where the database is, for messages: the SQLite file, or the JDBC URL
     * @param nodeId        this replica's name (zapi.node-id): the owner of the keys it claims, in its records
     * @param nodeTimeoutMs shared ledger: a key in flight is taken for interrupted once its owner's heartbeat is older
     * @param recordFolders the folder of each outcome whose records are files, by outcome name
     */
    public CallLedger(DataSource database, Dialect dialect, String location, String nodeId, long nodeTimeoutMs,
                      boolean resendInterrupted, Map<String, Path> recordFolders) {
        this.database = database;
        this.dialect = dialect;
        this.location = location;
        this.nodeId = nodeId;
        this.nodeTimeoutMs = nodeTimeoutMs;
        this.serial = dialect == Dialect.SQLITE ? new ReentrantLock() : null;
        this.jdbc = new JdbcTemplate(database);
        this.transactions = new TransactionTemplate(new DataSourceTransactionManager(database));
        this.writes = new GroupCommit(transactions, this::lockIfSerial, this::unlockIfSerial, "ledger-writes");
        this.resendInterrupted = resendInterrupted;
        this.recordFolders = recordFolders;
    }

    public void open() {
        lockIfSerial();
        try {
            if (dialect == Dialect.POSTGRESQL) {
                makePostgresSchema();
                heartbeat();
                // this node id's keys in flight when it last stopped: its earlier run is gone, so they are given up
                // at once (no owner is a gone owner) rather than after the node timeout, for whichever replica meets
                // them first, this one included. Kept owned, they would look in flight on a live node to the others:
                // a JMS message of them redelivered elsewhere would wait for a run that no longer exists.
                int givenUp = jdbc.update("UPDATE call_keys SET owner = NULL WHERE state = 'started' AND owner = ?",
                        nodeId);
                if (givenUp > 0) {
                    LOG.warn("Ledger: {} requests were in flight on node {} when it last stopped: their calls may have "
                             + "been placed, so they are not placed again", givenUp, nodeId);
                }
            } else {
                SCHEMA.forEach(jdbc::execute);
                migrateCamelRepositories();
                addRecordedAt();
                if (!hasColumn("call_keys", "owner")) {
                    jdbc.execute("ALTER TABLE call_keys ADD COLUMN owner TEXT");
                }
                if (!hasColumn("call_keys", "source")) {
                    jdbc.execute("ALTER TABLE call_keys ADD COLUMN source TEXT");
                }
                for (List<String> added : ADDED_COLUMNS) {
                    if (!hasColumn(added.get(0), added.get(1))) {
                        jdbc.execute("ALTER TABLE " + added.get(0) + " ADD COLUMN " + added.get(1) + " TEXT");
                    }
                }
            }
            // SQLite: the keys in flight when the module last stopped, every one (its ledger is this process's alone,
            // whatever node id the last run had: by default a new process id)
            if (dialect == Dialect.SQLITE) {
                interrupted.addAll(jdbc.queryForList("SELECT key FROM call_keys WHERE state = 'started'",
                        String.class));
            }
        } finally {
            unlockIfSerial();
        }
    }

    /**
     * Commits one small write, for the health check: throws while the database cannot be written (a full disk, a
     * read-only file system), as the claims and records of the pipeline would then fail too.
     */
    public void checkWritable() {
        lockIfSerial();
        try {
            jdbc.update("INSERT INTO write_checks (id, checked_at) VALUES (1, ?) "
                        + "ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at", Timestamps.now());
        } finally {
            unlockIfSerial();
        }
    }

    /**
     * Shared ledger: this replica is alive, by the database's clock. Written at start and every node-timeout/3 by a
     * scheduled task of LedgerStartup; a replica whose heartbeat is older than zapi.ledger.node-timeout-ms has its
     * keys in flight taken for interrupted by the others.
     */
    public void heartbeat() {
        jdbc.update("INSERT INTO nodes (node_id, heartbeat, started_at) VALUES (?, now(), now()) "
                    + "ON CONFLICT (node_id) DO UPDATE SET heartbeat = now()", nodeId);
    }

    /** The ledger bound in this context (LedgerStartup binds it as callLedger), or null before it is. */
    public static CallLedger of(org.apache.camel.CamelContext context) {
        return context.getRegistry().lookupByNameAndType("callLedger", CallLedger.class);
    }

    /** This replica's name (zapi.node-id): the owner of the keys it claims, the node of its records. */
    public String nodeId() {
        return nodeId;
    }

    /** Where the database is: the SQLite file, or the shared ledger's JDBC URL. */
    public String location() {
        return location;
    }

    public Dialect dialect() {
        return dialect;
    }

    /** Shared ledger: a replica whose heartbeat is older than this is gone (zapi.ledger.node-timeout-ms). */
    public double nodeTimeoutSeconds() {
        return nodeTimeoutMs / 1000.0;
    }

    /**
     * Work on the ledger's database for the tables of other boxes (the files in progress, the waiting rows): SQLite
     * under its one connection's lock, PostgreSQL on a pooled connection.
     */
    public <T> T use(java.util.function.Function<JdbcTemplate, T> work) {
        lockIfSerial();
        try {
            return work.apply(jdbc);
        } finally {
            unlockIfSerial();
        }
    }

    /** The same in one transaction. */
    public <T> T inTransaction(java.util.function.Function<JdbcTemplate, T> work) {
        lockIfSerial();
        try {
            return transactions.execute(status -> work.apply(jdbc));
        } finally {
            unlockIfSerial();
        }
    }

    /** SQLite: one caller at a time on its one connection; PostgreSQL: no lock, the database decides. */
    private void lockIfSerial() {
        if (serial != null) {
            serial.lock();
        }
    }

    private void unlockIfSerial() {
        if (serial != null) {
            serial.unlock();
        }
    }

    /** Camel starts and stops the repository with the idempotentConsumer: the ledger lives as long as the context. */
    @Override
    public void start() {
        // opened by LedgerStartup before the routes start
    }

    @Override
    public void stop() {
        // closed by LedgerStartup when the context stops, after every route
    }

    public void closeDatabase() {
        writes.close();
        lockIfSerial();
        try {
            // SQLite's one connection (Spring's), or the shared ledger's pool (HikariCP's)
            if (database instanceof DisposableBean || database instanceof AutoCloseable) {
                try {
                    if (database instanceof DisposableBean connection) {
                        connection.destroy();
                    } else {
                        ((AutoCloseable) database).close();
                    }
                } catch (Exception e) {
                    LOG.warn("The ledger database did not close cleanly: {}", e.getMessage());
                }
            }
        } finally {
            unlockIfSerial();
        }
    }

    /**
     * The request's idempotency key: its own id wins ({@code id:<id>}); else what its source says (a row of a file as
     * taken, a JMS message id); else none, and the request cannot be a duplicate.
     */
    public String keyOf(Exchange exchange) {
        String key = keyOf(exchange.getProperty(OutcomeRecord.CALL_REQUEST, CallRequest.class),
                RequestSource.of(exchange));
        Integer redial = exchange.getProperty(OutcomeRecord.REDIAL, Integer.class);
        // a redial is another call of the same row: a key of its own, derived from the first, claimed once per redial
        return key != null && redial != null && redial > 1 ? key + "#redial-" + (redial - 1) : key;
    }

    /** {@link #keyOf(Exchange)} of a request and its source, before it reaches the pipeline (the number pre-check). */
    public static String keyOf(CallRequest request, RequestSource source) {
        return request != null && request.id() != null ? "id:" + request.id() : source.key();
    }

    /** How many keys one look-up names: well under SQLite's and PostgreSQL's limits on a statement's parameters. */
    private static final int LOOKUP_CHUNK = 500;

    /**
     * Which of these keys the ledger holds, in whatever state (handled, or in flight here or on another replica): the
     * number pre-check leaves such requests alone, so that a duplicate or a resumed request ends as it would without it.
     */
    public Set<String> knownKeys(Collection<String> keys) {
        return lookUp("SELECT key FROM call_keys WHERE key IN (%s)", keys);
    }

    /** Which of these requests (RequestSource#recordedAs: rows of a resumed file) already have their record. */
    public Set<String> recordedSources(Collection<String> sources) {
        return lookUp("SELECT source FROM recorded_sources WHERE source IN (%s)", sources);
    }

    private Set<String> lookUp(String query, Collection<String> values) {
        Set<String> found = new HashSet<>();
        List<String> all = new ArrayList<>(values);
        for (int from = 0; from < all.size(); from += LOOKUP_CHUNK) {
            List<String> chunk = all.subList(from, Math.min(all.size(), from + LOOKUP_CHUNK));
            String marks = String.join(",", java.util.Collections.nCopies(chunk.size(), "?"));
            lockIfSerial();
            try {
                found.addAll(jdbc.queryForList(query.formatted(marks), String.class, chunk.toArray()));
            } finally {
                unlockIfSerial();
            }
        }
        return found;
    }

    /**
     * Claims the key for this request with one atomic insert-if-absent: true when it is the first with it. False, a
     * duplicate, when another request holds it, done or in flight now; then duplicateOf names the first one's record.
     * A key the last run left in flight is taken over (true), with the exchange flagged as interrupted or already
     * recorded, unless zapi.resend-interrupted=true.
     */
    @Override
    public boolean add(Exchange exchange, String key) {
        String first = firstCorrelationId(key);
        String source = RequestSource.of(exchange).recordedAs();
        // committed with the claims of other requests in flight (group commit), not under the lock that it takes
        if (claimWhenReachable(exchange, key, source, first)) {
            exchange.setProperty(CLAIMED, true);
            return true;
        }
        lockIfSerial();
        try {
            if (takeOver(key)) {
                return takenOver(exchange, key, first);
            }
            if (dialect == Dialect.POSTGRESQL && source != null && inFlightAs(key, source)) {
                return awaitEarlierDelivery(exchange, key, source, first);
            }
            exchange.setProperty(OutcomeRecord.DUPLICATE_OF, first);
            return false;
        } finally {
            unlockIfSerial();
        }
    }

    /** The key was in flight in a process that is gone: flagged already recorded, or interrupted. */
    private boolean takenOver(Exchange exchange, String key, String first) {
        exchange.setProperty(CLAIMED, true);
        String recorded = recordedOutcome(key, first);
        if (recorded != null) {
            exchange.setProperty(ALREADY_RECORDED, true);
            exchange.setProperty(OutcomeRecord.OUTCOME, recorded);
        } else if (!resendInterrupted) {
            exchange.setProperty(INTERRUPTED, true);
        }
        return true;
    }

    /** True while the key is in flight for this very request (the same JMS message, delivered before). */
    private boolean inFlightAs(String key, String source) {
        return !jdbc.queryForList("SELECT key FROM call_keys WHERE key = ? AND state = 'started' AND source = ?",
                String.class, key, source).isEmpty();
    }

    /**
     * Shared ledger: this request is in flight already on a replica that still looks alive: a JMS message redelivered
     * because the consumer that had it was cut off (its replica killed: the broker notices at once, the heartbeat only
     * after the node timeout). It is not a duplicate of itself: it waits for that delivery to end, then keeps its
     * record (already recorded), or for that replica's heartbeat to stop, then it is taken over (interrupted: its call
     * may have been placed). Only on PostgreSQL: SQLite's ledger is one process's, where no delivery outlives its
     * consumer.
     */
    private boolean awaitEarlierDelivery(Exchange exchange, String key, String source, String first) {
        LOG.warn("correlationId={} is in flight already on another replica or consumer, and came again ({}): it waits "
                 + "for that one to end, or for its replica's heartbeat to be older than {} ms", first, source,
                nodeTimeoutMs);
        while (true) {
            if (exchange.getContext().isStopping()) {
                throw new EarlierDeliveryInFlightException(first, nodeTimeoutMs);
            }
            try {
                Thread.sleep(Math.max(50, Math.min(EARLIER_DELIVERY_POLL_MS, nodeTimeoutMs / 10)));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new EarlierDeliveryInFlightException(first, nodeTimeoutMs);
            }
            if (takeOver(key)) {
                return takenOver(exchange, key, first);
            }
            if (!inFlightAs(key, source)) {
                if (alreadyRecorded(exchange)) {
                    exchange.setProperty(CLAIMED, true);
                    exchange.setProperty(ALREADY_RECORDED, true);
                    return true;
                }
                exchange.setProperty(OutcomeRecord.DUPLICATE_OF, first);
                return false;
            }
        }
    }

    @Override
    public boolean add(String key) {
        return claim(key, null, firstCorrelationId(key));
    }

    /**
     * Committed before it returns, together with the claims and finishes of other requests in flight.
     *
     * @param source the claiming request itself (its RecordSource.recordedAs), so that it is known coming again
     */
    private boolean claim(String key, String source, String correlationId) {
        String claimedAt = Timestamps.now();
        return writes.commit(() -> jdbc.update("INSERT INTO call_keys (key, state, correlation_id, updated_at, owner, "
                                               + "source) VALUES (?, 'started', ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING",
                key, correlationId, claimedAt, nodeId, source) == 1, true);
    }

    /**
     * Shared ledger: a claim the database could not take (connection lost, database restarting) is tried again, with
     * a growing pause, until it is taken or the module stops: no call is placed without its claim, and readiness
     * (the ledger check) is DOWN meanwhile. An SQLite ledger that cannot be written fails the request, as before.
     */
    private boolean claimWhenReachable(Exchange exchange, String key, String source, String correlationId) {
        long pauseMs = CLAIM_RETRY_FIRST_MS;
        while (true) {
            try {
                return claim(key, source, correlationId);
            } catch (DataAccessResourceFailureException | TransientDataAccessException
                     | RecoverableDataAccessException | CannotCreateTransactionException e) {
                if (dialect != Dialect.POSTGRESQL || exchange.getContext().isStopping()) {
                    throw e;
                }
                LOG.warn("The ledger {} cannot be reached to claim correlationId={} ({}): its call waits for the "
                         + "claim, tried again in {} ms", location, correlationId,
                        NestedExceptionUtils.getMostSpecificCause(e).getMessage(), pauseMs);
                try {
                    Thread.sleep(pauseMs);
                } catch (InterruptedException interruptedWait) {
                    Thread.currentThread().interrupt();
                    throw e;
                }
                pauseMs = Math.min(pauseMs * 2, CLAIM_RETRY_MAX_MS);
            }
        }
    }

    /**
     * The key is held already: taken over (true) when it was in flight in a process that is gone. On SQLite a key the
     * last run left started. On a shared ledger a key without owner (its node restarted since) or whose owner's
     * heartbeat is older than the node timeout (by the database's clock): compare-and-set on that owner, so that of
     * two replicas that see it gone at once only one takes it over. A key of a live replica is in flight there.
     */
    private boolean takeOver(String key) {
        if (dialect == Dialect.SQLITE) {
            return interrupted.remove(key);
        }
        List<String> staleOwner = jdbc.queryForList("SELECT k.owner FROM call_keys k WHERE k.key = ? AND "
                + "k.state = 'started' AND k.owner IS DISTINCT FROM ? AND " + OWNER_IS_GONE.formatted("k.owner"),
                String.class, key, nodeId, nodeTimeoutMs / 1000.0);
        if (staleOwner.isEmpty()) {
            return false;
        }
        boolean takenOver = jdbc.update("UPDATE call_keys SET owner = ?, updated_at = ? WHERE key = ? AND "
                                        + "state = 'started' AND owner IS NOT DISTINCT FROM ?", nodeId,
                Timestamps.now(), key, staleOwner.get(0)) == 1;
        if (takenOver) {
            LOG.warn("correlationId={} was in flight on {}: taken over by {}", firstCorrelationId(key),
                    staleOwner.get(0) == null ? "a node that has restarted since"
                            : "node " + staleOwner.get(0) + ", whose heartbeat is older than " + nodeTimeoutMs + " ms",
                    nodeId);
        }
        return takenOver;
    }

    /**
     * Shared ledger: claims a file of the shared inbox for this replica, true when no other live replica reads it. One
     * atomic insert-if-absent; a claim held by this node id (its earlier run) is its own again; one held by a replica
     * whose heartbeat is older than the node timeout is taken over by a compare-and-set on that owner, so that of two
     * replicas seeing it gone at once only one takes the file.
     */
    public boolean claimInboxFile(String file) {
        if (jdbc.update("INSERT INTO inbox_claims (file, owner, claimed_at) VALUES (?, ?, now()) "
                        + "ON CONFLICT (file) DO NOTHING", file, nodeId) == 1) {
            return true;
        }
        List<String> goneOwner = jdbc.queryForList("SELECT c.owner FROM inbox_claims c WHERE c.file = ? AND "
                + "(c.owner = ? OR " + OWNER_IS_GONE.formatted("c.owner") + ")", String.class, file, nodeId,
                nodeTimeoutMs / 1000.0);
        if (goneOwner.isEmpty()) {
            return false;
        }
        boolean takenOver = jdbc.update("UPDATE inbox_claims SET owner = ?, claimed_at = now() WHERE file = ? AND "
                                        + "owner = ?", nodeId, file, goneOwner.get(0)) == 1;
        if (takenOver && !goneOwner.get(0).equals(nodeId)) {
            LOG.warn("Inbox file {} was being read by node {}, whose heartbeat is older than {} ms: taken over by {}",
                    file, goneOwner.get(0), nodeTimeoutMs, nodeId);
        }
        return takenOver;
    }

    /**
     * Shared ledger: this replica no longer reads the file (moved, or left for a later try); a claim taken over since
     * by another replica is left to it.
     */
    public void releaseInboxFile(String file) {
        jdbc.update("DELETE FROM inbox_claims WHERE file = ? AND owner = ?", file, nodeId);
    }

    @Override
    public boolean contains(String key) {
        lockIfSerial();
        try {
            return !jdbc.queryForList("SELECT key FROM call_keys WHERE key = ?", String.class, key).isEmpty();
        } finally {
            unlockIfSerial();
        }
    }

    /** Only for removeOnFailure, which the pipeline never sets: a failed call may have been placed. */
    @Override
    public boolean remove(String key) {
        lockIfSerial();
        try {
            return jdbc.update("DELETE FROM call_keys WHERE key = ?", key) == 1;
        } finally {
            unlockIfSerial();
        }
    }

    /** Nothing to do here: {@link #finish} marks the key done together with its outcome, once the record is written. */
    @Override
    public boolean confirm(String key) {
        return true;
    }

    @Override
    public void clear() {
        throw new UnsupportedOperationException(
                "the call ledger is never cleared: its keys are what stops a call being placed twice");
    }

    /**
     * Once the record is written (or kept pending): the request's key is done with its outcome, and an inbox row is
     * marked recorded. A ledger that cannot be written now is logged, not thrown: the record exists, and a key left
     * started is found with its record at the next start.
     */
    public void finish(Exchange exchange) {
        String outcome = exchange.getProperty(OutcomeRecord.OUTCOME, String.class);
        String key = exchange.getProperty(KEY, String.class);
        boolean claimed = key != null && exchange.getProperty(CLAIMED, false, Boolean.class);
        String source = RequestSource.of(exchange).recordedAs();
        CallRequest request = exchange.getProperty(OutcomeRecord.CALL_REQUEST, CallRequest.class);
        boolean placed = Outcome.SUCCESS.label().equals(outcome) && request != null;
        if (!claimed && source == null && !placed) {
            return;
        }
        String finishedAt = Timestamps.now();
        // the row's results entry: written again for the row when its file is resumed, and given its call's event
        String resultsLine = ResultsFiles.lineToKeep(exchange);
        try {
            // one transaction (shared with other requests'): a request's key and its source are recorded together
            writes.commitWithoutResult(() -> {
                if (claimed) {
                    jdbc.update("UPDATE call_keys SET state = 'done', outcome = ?, updated_at = ? WHERE key = ?",
                            outcome, finishedAt, key);
                }
                if (source != null) {
                    jdbc.update("INSERT INTO recorded_sources (source, outcome, recorded_at, results_line) VALUES "
                                + "(?, ?, ?, ?) ON CONFLICT DO NOTHING", source, outcome, finishedAt, resultsLine);
                }
                if (placed) {
                    // what a call event from Z-API's webhook is correlated with (its callOf), and the file it came from
                    jdbc.update("INSERT INTO call_successes (correlation_id, phone, instance, succeeded_at, file, "
                                + "report, results, results_line) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                            exchange.getProperty(OutcomeRecord.CORRELATION_ID, String.class), request.phone(),
                            OutcomeRecord.instance(exchange, request), System.currentTimeMillis(),
                            exchange.getProperty(FileReport.FILE, String.class), FileReport.reportNameOf(exchange),
                            ResultsFiles.resultsNameOf(exchange), resultsLine);
                }
            });
        } catch (DataAccessException | TransactionException | IllegalStateException e) {
            LOG.warn("The ledger could not mark correlationId={} done (its record is written): {}",
                    exchange.getProperty(OutcomeRecord.CORRELATION_ID),
                    NestedExceptionUtils.getMostSpecificCause(e).getMessage());
        }
    }

    /**
     * A success a call event is correlated with: its record's correlationId, and the file's report, results file and
     * the row's entry in it, if any.
     */
    public record Success(String correlationId, String file, String report, String results, String resultsLine) {
    }

    /**
     * The latest success for this phone on this instance whose time is within [from, to] (epoch milliseconds), or
     * null: any replica's, as they share the ledger.
     */
    public Success latestSuccess(String phone, String instance, long from, long to) {
        lockIfSerial();
        try {
            List<Success> found = jdbc.query("SELECT correlation_id, file, report, results, results_line FROM "
                                             + "call_successes WHERE phone = ? AND instance = ? AND succeeded_at "
                                             + "BETWEEN ? AND ? ORDER BY succeeded_at DESC LIMIT 1",
                    (row, i) -> new Success(row.getString(1), row.getString(2), row.getString(3), row.getString(4),
                            row.getString(5)), phone, instance,
                    from, to);
            return found.isEmpty() ? null : found.get(0);
        } finally {
            unlockIfSerial();
        }
    }

    /**
     * Notes a call event, once per callId and notification across restarts and replicas: true when this is the first
     * time (one atomic insert-if-absent), false when it was noted before.
     */
    public boolean noteEvent(String callId, String notification, String event, String phone, String instance,
                             long moment, String callOf) {
        lockIfSerial();
        try {
            return jdbc.update("INSERT INTO call_events (call_id, notification, event, phone, instance, moment, call_of, "
                               + "received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING", callId,
                    notification, event, phone, instance, moment, callOf, Timestamps.now()) == 1;
        } finally {
            unlockIfSerial();
        }
    }

    /** How many events of each kind ({@code answered}, {@code missed}) the calls of a file's report have had. */
    /**
     * Keeps a file's final report, before its event counts are read into it: an event that comes after this finds it
     * and rewrites the report with its counts; one that came before is in the counts.
     */
    public void keepFinalReport(String report, String body) {
        lockIfSerial();
        try {
            jdbc.update("INSERT INTO final_reports (report, body, written_at) VALUES (?, ?, ?) ON CONFLICT (report) "
                        + "DO UPDATE SET body = excluded.body, written_at = excluded.written_at", report, body,
                    System.currentTimeMillis());
        } finally {
            unlockIfSerial();
        }
    }

    /** The final report of this name as kept ({@link #keepFinalReport}), or null while its file is still read. */
    public String finalReport(String report) {
        lockIfSerial();
        try {
            List<String> found = jdbc.queryForList("SELECT body FROM final_reports WHERE report = ?", String.class,
                    report);
            return found.isEmpty() ? null : found.get(0);
        } finally {
            unlockIfSerial();
        }
    }

    public Map<String, Integer> eventCountsOfReport(String report) {
        lockIfSerial();
        try {
            Map<String, Integer> counts = new java.util.TreeMap<>();
            jdbc.query("SELECT e.event, COUNT(*) FROM call_events e JOIN call_successes s ON e.call_of = "
                       + "s.correlation_id WHERE s.report = ? GROUP BY e.event",
                    row -> {
                        counts.put(row.getString(1), row.getInt(2));
                    }, report);
            return counts;
        } finally {
            unlockIfSerial();
        }
    }

    /** A results file is being written (again, when its drop is resumed): changes to it wait until it is complete. */
    public void resultsFileWriting(String results) {
        noteResultsFile(results, 0);
    }

    /** A results file is complete: the changes kept for it are applied from now on. */
    public void resultsFileComplete(String results) {
        noteResultsFile(results, 1);
    }

    private void noteResultsFile(String results, int complete) {
        lockIfSerial();
        try {
            jdbc.update("INSERT INTO results_files (results, complete, updated_at) VALUES (?, ?, ?) ON CONFLICT "
                        + "(results) DO UPDATE SET complete = excluded.complete, updated_at = excluded.updated_at",
                    results, complete, Timestamps.now());
        } finally {
            unlockIfSerial();
        }
    }

    /** Keeps a change to an entry of a results file (its JSON), replacing one of the same entry not applied yet. */
    public void changeResultsLine(String results, long index, String line) {
        lockIfSerial();
        try {
            jdbc.update("INSERT INTO results_updates (results, idx, line) VALUES (?, ?, ?) ON CONFLICT (results, idx) "
                        + "DO UPDATE SET line = excluded.line", results, index, line);
        } finally {
            unlockIfSerial();
        }
    }

    /** The complete results files with changes kept for them. */
    public List<String> resultsFilesWithChanges() {
        lockIfSerial();
        try {
            return jdbc.queryForList("SELECT DISTINCT u.results FROM results_updates u JOIN results_files f ON "
                                     + "f.results = u.results WHERE f.complete = 1", String.class);
        } finally {
            unlockIfSerial();
        }
    }

    /** The changes kept for this results file: each entry's new JSON by its index. */
    public Map<Long, String> resultsChanges(String results) {
        lockIfSerial();
        try {
            Map<Long, String> changes = new java.util.HashMap<>();
            jdbc.query("SELECT idx, line FROM results_updates WHERE results = ?",
                    row -> {
                        changes.put(row.getLong(1), row.getString(2));
                    }, results);
            return changes;
        } finally {
            unlockIfSerial();
        }
    }

    /** These changes are in the file now: removed, each unless it was replaced by a newer one meanwhile. */
    public void resultsChangesApplied(String results, Map<Long, String> applied) {
        lockIfSerial();
        try {
            applied.forEach((index, line) -> jdbc.update("DELETE FROM results_updates WHERE results = ? AND idx = ? "
                                                         + "AND line = ?", results, index, line));
        } finally {
            unlockIfSerial();
        }
    }

    /**
     * Runs the rewriting of a results file while no other replica rewrites it: on a shared ledger under a transaction
     * lock on the file's name (another replica holding it skips the file this time; its changes are removed in the
     * same transaction); SQLite's ledger is one process's, whose one timer rewrites one file at a time.
     */
    public void whileHoldingResultsFile(String results, Runnable rewrite) {
        if (dialect == Dialect.SQLITE) {
            rewrite.run();
            return;
        }
        transactions.executeWithoutResult(status -> {
            if (Boolean.TRUE.equals(jdbc.queryForObject("SELECT pg_try_advisory_xact_lock(?, hashtext(?))",
                    Boolean.class, RESULTS_LOCK, results))) {
                rewrite.run();
            }
        });
    }

    /**
     * An inbox file is taken: returns the drop it belongs to, {@code <taken at>|<name>}. The file of the same name and
     * content that was cut short earlier (a crash, a shutdown, a failure) is the same drop, resumed; any other file (a
     * new name, or new content under an old name) is a new drop. Identical files under other names are other drops:
     * their rows are duplicates of the first one's, never taken for rows already recorded.
     */
    public String takeFile(Exchange exchange) {
        lockIfSerial();
        try {
            String name = exchange.getMessage().getHeader(Exchange.FILE_NAME, String.class);
            String hash = exchange.getProperty("fileHash", String.class);
            String identity = identity(exchange.getMessage().getHeader(Exchange.FILE_PATH, String.class));
            List<Map<String, Object>> earlier = jdbc.queryForList(
                    "SELECT taken_at, identity, kept_in FROM inbox_files WHERE name = ? AND hash = ?", name, hash);
            boolean same = !earlier.isEmpty() && identity.equals(earlier.get(0).get("identity"));
            Object keptIn = earlier.isEmpty() ? null : earlier.get(0).get("kept_in");
            if (same && keptIn != null) {
                // read and reported already, but still here: its move to .done or .error failed (a full or read-only
                // disk). Read again it would be recorded again; it is only moved, once that works.
                exchange.setProperty(FILE_FINISHED, true);
                exchange.setProperty("inboxFolder", keptIn);
            }
            if (!earlier.isEmpty() && (same || keptIn == null)) {
                exchange.setProperty(DROP_RESUMED, true);
                return earlier.get(0).get("taken_at") + "|" + name;
            }
            String takenAt = Timestamps.now();
            jdbc.update("INSERT INTO inbox_files (name, hash, taken_at, identity) VALUES (?, ?, ?, ?) ON CONFLICT (name) "
                        + "DO UPDATE SET hash = excluded.hash, taken_at = excluded.taken_at, identity = excluded.identity, "
                        + "kept_in = NULL", name, hash, takenAt, identity);
            return takenAt + "|" + name;
        } finally {
            unlockIfSerial();
        }
    }

    /** Which file on disk this is (device and inode, time, size): a new copy of the same content is another file. */
    private static String identity(String path) {
        try {
            BasicFileAttributes attributes = Files.readAttributes(Path.of(path), BasicFileAttributes.class,
                    LinkOption.NOFOLLOW_LINKS);
            return attributes.fileKey() + "|" + attributes.lastModifiedTime().toMillis() + "|" + attributes.size();
        } catch (IOException e) {
            return "unknown";
        }
    }

    /** When the drop's file was first taken: it names the kept original and the report, across a resume. */
    public java.util.Date fileTakenAt(Exchange exchange) {
        String drop = exchange.getProperty(DROP, String.class);
        return java.util.Date.from(Instant.parse(drop.substring(0, drop.indexOf('|'))));
    }

    /**
     * True when this request (a row of a resumed file, a redelivered JMS message) already has its record; then its
     * outcome is set, for the report, and it is not handed to the pipeline again.
     */
    public boolean alreadyRecorded(Exchange exchange) {
        RequestSource request = RequestSource.of(exchange);
        if ("file".equals(request.channel()) && !exchange.getProperty(DROP_RESUMED, false, Boolean.class)) {
            // a row of a drop taken now for the first time: nothing of it can be recorded (no query per row)
            return false;
        }
        lockIfSerial();
        try {
            String source = request.recordedAs();
            List<Map<String, Object>> recorded = source == null ? List.of()
                    : jdbc.queryForList("SELECT outcome, results_line FROM recorded_sources WHERE source = ?", source);
            if (recorded.isEmpty()) {
                return false;
            }
            exchange.setProperty(OutcomeRecord.OUTCOME, recorded.get(0).get("outcome"));
            // the row keeps its line in its file's results file, written again from the start
            exchange.setProperty(ResultsFiles.STORED_LINE, recorded.get(0).get("results_line"));
            return true;
        } finally {
            unlockIfSerial();
        }
    }

    /**
     * The file is read to its end and reported: its rows are no longer needed. The file itself is remembered as
     * finished until another file takes its name, so that it is not read again should its move fail.
     */
    public void finishFile(Exchange exchange) {
        lockIfSerial();
        try {
            String drop = exchange.getProperty(DROP, String.class);
            String rows = "row:" + drop + ":";
            jdbc.update("DELETE FROM recorded_sources WHERE substr(source, 1, ?) = ?", rows.length(), rows);
            jdbc.update("UPDATE inbox_files SET kept_in = ? WHERE name = ? AND taken_at = ?",
                    exchange.getProperty("inboxFolder", ".done", String.class), drop.substring(drop.indexOf('|') + 1),
                    drop.substring(0, drop.indexOf('|')));
        } finally {
            unlockIfSerial();
        }
    }

    /** Keeps a record its endpoint did not take, to be written later; false if the ledger cannot keep it either. */
    public boolean park(PendingRecords.Pending record) {
        lockIfSerial();
        try {
            try {
                jdbc.update("INSERT INTO pending_records (correlation_id, uri, file_name, body, reason, parked_at) "
                            + "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING", record.correlationId(), record.uri(),
                        record.fileName(), record.body(), record.reason(), Timestamps.now());
                return true;
            } catch (DataAccessException e) {
                LOG.warn("The ledger cannot keep the pending record correlationId={} either: {}", record.correlationId(),
                        e.getMostSpecificCause().getMessage());
                return false;
            }
        } finally {
            unlockIfSerial();
        }
    }

    public List<PendingRecords.Pending> pendingRecords(int max) {
        lockIfSerial();
        try {
            return jdbc.query("SELECT correlation_id, uri, file_name, body, reason FROM pending_records "
                              + "ORDER BY parked_at LIMIT ?", (row, i) -> new PendingRecords.Pending(
                    row.getString(1), row.getString(2), row.getString(3), row.getString(4), row.getString(5)), max);
        } finally {
            unlockIfSerial();
        }
    }

    public void recordWritten(String correlationId) {
        lockIfSerial();
        try {
            jdbc.update("DELETE FROM pending_records WHERE correlation_id = ?", correlationId);
        } finally {
            unlockIfSerial();
        }
    }

    /**
     * The record's correlationId, the one rule for it: the request first handled with a key gets one derived from the
     * key, so that duplicates can point at it; a duplicate with a source of its own (a row of a file as taken, a JMS
     * message) one derived from that source, so that recorded again after a crash it is the same record; any other
     * request (no key, or rejected before it had one) a random one.
     */
    public static String correlationId(Exchange exchange) {
        String key = exchange.getProperty(KEY, String.class);
        String source = RequestSource.of(exchange).recordedAs();
        if (exchange.getProperty(DUPLICATE, false, Boolean.class)) {
            return source != null ? firstCorrelationId("duplicate:" + source) : UUID.randomUUID().toString();
        }
        return key != null && exchange.getProperty(CLAIMED, false, Boolean.class) ? firstCorrelationId(key)
                : UUID.randomUUID().toString();
    }

    /** The first request with a key gets a correlation id derived from it, so a duplicate can point at it. */
    public static String firstCorrelationId(String key) {
        return UUID.nameUUIDFromBytes(("zapi-send-call:" + key).getBytes(StandardCharsets.UTF_8)).toString();
    }

    /**
     * The module died between writing the record and marking the key done: the outcome the ledger holds for the key
     * (any replica's), else the record in its folder (this replica's folders), else a record kept pending.
     */
    private String recordedOutcome(String key, String correlationId) {
        List<String> inLedger = jdbc.queryForList("SELECT outcome FROM call_keys WHERE key = ? AND outcome IS NOT NULL",
                String.class, key);
        if (!inLedger.isEmpty()) {
            return inLedger.get(0);
        }
        for (Map.Entry<String, Path> folder : recordFolders.entrySet()) {
            if (Files.exists(folder.getValue().resolve(correlationId + ".json"))) {
                return folder.getKey();
            }
        }
        List<String> pending = jdbc.queryForList("SELECT body FROM pending_records WHERE file_name = ?",
                String.class, correlationId + ".json");
        try {
            return pending.isEmpty() ? null : Json.MAPPER.readTree(pending.get(0)).path("outcome").asText();
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            return Outcome.FAILED.label();
        }
    }

    /** What one retention run removed from the ledger: keys, and the entries of files and JMS messages. */
    public record Purged(int keys, int otherEntries) {
    }

    /**
     * Retention (zapi.retention.days): removes what was last touched before the cutoff, except what still guards a
     * request. Removed: keys done before it (the same request then is called again: the trade-off the setting is
     * documented with); finished inbox files taken before it, unless the file still lies in the inbox (its move failed:
     * without its entry it would be read again); recorded JMS messages (kept against a redelivery, which comes within
     * minutes). Kept: keys still started (in flight, or interrupted by a crash and waiting for their failed record:
     * without them the call would be placed again), files not finished and their recorded rows (a file resumed later
     * must not record or call its rows again), and records still pending (the only copy of an outcome: written
     * first, then purged as files).
     */
    public Purged purgeOlderThan(Instant cutoff, java.util.function.Predicate<String> stillInInbox) {
        lockIfSerial();
        try {
            String before = Timestamps.format(cutoff);
            int keys = jdbc.update("DELETE FROM call_keys WHERE state = 'done' AND updated_at < ?", before);
            int files = 0;
            for (String name : jdbc.queryForList("SELECT name FROM inbox_files WHERE kept_in IS NOT NULL AND taken_at < ?",
                    String.class, before)) {
                if (!stillInInbox.test(name)) {
                    files += jdbc.update("DELETE FROM inbox_files WHERE name = ? AND kept_in IS NOT NULL AND taken_at < ?",
                            name, before);
                }
            }
            int sources = jdbc.update("DELETE FROM recorded_sources WHERE recorded_at < ? AND NOT EXISTS (SELECT 1 FROM "
                                      + "inbox_files f WHERE f.kept_in IS NULL AND substr(recorded_sources.source, 1, "
                                      + "length('row:' || f.taken_at || '|' || f.name || ':')) = "
                                      + "'row:' || f.taken_at || '|' || f.name || ':')", before);
            // phone numbers of placed calls and of call events are personal data too
            jdbc.update("DELETE FROM call_successes WHERE succeeded_at < ?", cutoff.toEpochMilli());
            jdbc.update("DELETE FROM call_events WHERE received_at < ?", before);
            // a report whose rows still wait is still rewritten as they end
            jdbc.update("DELETE FROM final_reports WHERE written_at < ? AND NOT EXISTS (SELECT 1 FROM waiting_rows w "
                        + "WHERE w.report = final_reports.report AND w.state <> 'done')", cutoff.toEpochMilli());
            // rows that waited and ended, calls remembered for a redial, files listed by GET /files that ended; a row
            // still waiting is work not done yet and stays, whatever its age
            jdbc.update("DELETE FROM waiting_rows WHERE state = 'done' AND ended_at < ?", cutoff.toEpochMilli());
            jdbc.update("DELETE FROM placed_rows WHERE placed_at < ?", cutoff.toEpochMilli());
            jdbc.update("DELETE FROM inbox_file_status WHERE ended_at IS NOT NULL AND ended_at < ?",
                    cutoff.toEpochMilli());
            jdbc.update("DELETE FROM results_updates WHERE results IN (SELECT results FROM results_files WHERE "
                        + "updated_at < ?)", before);
            jdbc.update("DELETE FROM results_files WHERE updated_at < ?", before);
            return new Purged(keys, files + sources);
        } finally {
            unlockIfSerial();
        }
    }

    /**
     * Ledgers before retention noted no time for a recorded source: the column is added, and what is there counts
     * from now.
     */
    private void addRecordedAt() {
        if (!hasColumn("recorded_sources", "recorded_at")) {
            jdbc.execute("ALTER TABLE recorded_sources ADD COLUMN recorded_at TEXT");
        }
        jdbc.update("UPDATE recorded_sources SET recorded_at = ? WHERE recorded_at IS NULL", Timestamps.now());
    }

    /** SQLite only: whether an older ledger's table has the column yet. */
    /**
     * Replicas starting at once: CREATE TABLE IF NOT EXISTS can still race in PostgreSQL's catalog (a unique
     * violation), so one replica at a time makes the schema, under a lock of its session. Each statement commits on its
     * own: one transaction for them all held each table's lock to its end, and a replica starting while the others
     * worked deadlocked with their writes (its CREATE INDEX on call_successes held while it waited to alter call_keys,
     * a running replica's finish holding call_keys while it waited to insert into call_successes). A column already
     * there is not added again: ALTER TABLE would lock call_keys against every replica's writes for nothing.
     */
    private void makePostgresSchema() {
        jdbc.execute((ConnectionCallback<Void>) connection -> {
            boolean autoCommit = connection.getAutoCommit();
            connection.setAutoCommit(true);
            try (Statement sql = connection.createStatement()) {
                sql.execute("SELECT pg_advisory_lock(" + SCHEMA_LOCK + ")");
                try {
                    for (String statement : SCHEMA) {
                        sql.execute(statement);
                    }
                    sql.execute(NODES);
                    sql.execute(INBOX_CLAIMS);
                    for (String column : List.of("owner", "source")) {
                        try (ResultSet found = sql.executeQuery("SELECT 1 FROM information_schema.columns WHERE "
                                + "table_schema = current_schema() AND table_name = 'call_keys' AND column_name = '"
                                + column + "'")) {
                            if (!found.next()) {
                                sql.execute("ALTER TABLE call_keys ADD COLUMN IF NOT EXISTS " + column + " TEXT");
                            }
                        }
                    }
                    for (List<String> added : ADDED_COLUMNS) {
                        try (ResultSet found = sql.executeQuery("SELECT 1 FROM information_schema.columns WHERE "
                                + "table_schema = current_schema() AND table_name = '" + added.get(0) + "' AND "
                                + "column_name = '" + added.get(1) + "'")) {
                            if (!found.next()) {
                                sql.execute("ALTER TABLE " + added.get(0) + " ADD COLUMN IF NOT EXISTS " + added.get(1)
                                            + " TEXT");
                            }
                        }
                    }
                } finally {
                    sql.execute("SELECT pg_advisory_unlock(" + SCHEMA_LOCK + ")");
                }
            } finally {
                connection.setAutoCommit(autoCommit);
            }
            return null;
        });
    }

    private boolean hasColumn(String table, String column) {
        return jdbc.queryForObject("SELECT COUNT(*) FROM pragma_table_info(?) WHERE name = ?", Integer.class, table,
                column) > 0;
    }

    /**
     * Versions before 1.1 kept their keys in Camel's JdbcMessageIdRepository table: the keys done and started there
     * are taken over once, so that nothing handled before the upgrade is called again.
     */
    private void migrateCamelRepositories() {
        if (jdbc.queryForList("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'CAMEL_MESSAGEPROCESSED'",
                String.class).isEmpty()) {
            return;
        }
        List<String> done = jdbc.queryForList(
                "SELECT messageId FROM CAMEL_MESSAGEPROCESSED WHERE processorName = 'done'", String.class);
        List<String> started = jdbc.queryForList(
                "SELECT messageId FROM CAMEL_MESSAGEPROCESSED WHERE processorName = 'started'", String.class);
        String now = Timestamps.now();
        for (String key : done) {
            jdbc.update("INSERT INTO call_keys (key, state, correlation_id, updated_at) VALUES (?, 'done', ?, ?) "
                        + "ON CONFLICT (key) DO NOTHING", key, firstCorrelationId(key), now);
        }
        for (String key : started) {
            jdbc.update("INSERT INTO call_keys (key, state, correlation_id, updated_at) VALUES (?, 'started', ?, ?) "
                        + "ON CONFLICT (key) DO NOTHING", key, firstCorrelationId(key), now);
        }
        jdbc.execute("DROP TABLE CAMEL_MESSAGEPROCESSED");
        LOG.info("Ledger: took over {} keys from the earlier ledger format", done.size() + started.size());
    }
}
