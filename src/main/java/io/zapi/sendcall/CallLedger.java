package io.zapi.sendcall;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

import javax.sql.DataSource;

import org.apache.camel.Exchange;
import org.apache.camel.processor.idempotent.jdbc.JdbcMessageIdRepository;
import org.apache.camel.support.service.ServiceSupport;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * Which requests were already handled, so that no call is placed twice: across inputs, re-dropped files, JMS
 * redeliveries and restarts. Three of Camel's JDBC idempotent repositories on one embedded SQLite database under
 * zapi.data-dir: keys whose call has started, keys whose record is written, and inbox files being read.
 * <p>
 * A key started but never finished was in flight when the module died: its call may have been placed. By default
 * it is not sent again but recorded as failed; zapi.resend-interrupted=true sends it again.
 */
public class CallLedger extends ServiceSupport {

    /** Exchange property: the request's idempotency key, when it has one. */
    public static final String KEY = "idempotencyKey";
    /** Exchange property an input sets to name the request by its source (file hash and row, JMS message id). */
    public static final String SOURCE_KEY = "sourceKey";
    /** Exchange property: true while an inbox file interrupted earlier is read again. */
    public static final String RESUMING = "resuming";
    /** Exchange property: what {@link #admit} decided. */
    public static final String ADMISSION = "admission";
    private static final String ENTERED = "ledgerEntered";
    private static final String CREATE_TABLE = "CREATE TABLE CAMEL_MESSAGEPROCESSED (processorName VARCHAR(255), "
                                               + "messageId VARCHAR(1024), createdAt TIMESTAMP, "
                                               + "PRIMARY KEY (processorName, messageId))";

    private final DataSource database;
    private final JdbcMessageIdRepository started;
    private final JdbcMessageIdRepository done;
    private final JdbcMessageIdRepository files;
    private final boolean resendInterrupted;
    private final List<Path> recordFolders;
    private final Set<String> interrupted = ConcurrentHashMap.newKeySet();

    public CallLedger(DataSource database, boolean resendInterrupted, List<Path> recordFolders) {
        this.database = database;
        this.started = repository("started");
        this.done = repository("done");
        this.files = repository("files");
        this.resendInterrupted = resendInterrupted;
        this.recordFolders = recordFolders;
    }

    private JdbcMessageIdRepository repository(String name) {
        JdbcMessageIdRepository repository = new JdbcMessageIdRepository(database, name);
        repository.setCreateString(CREATE_TABLE);
        return repository;
    }

    @Override
    protected void doStart() throws Exception {
        started.start();
        done.start();
        files.start();
        // what the last run left started but not finished: those calls may have been placed
        interrupted.addAll(new JdbcTemplate(database).queryForList(
                "SELECT s.messageId FROM CAMEL_MESSAGEPROCESSED s WHERE s.processorName = 'started' AND NOT EXISTS "
                + "(SELECT 1 FROM CAMEL_MESSAGEPROCESSED d WHERE d.processorName = 'done' AND d.messageId = s.messageId)",
                String.class));
    }

    @Override
    protected void doStop() throws Exception {
        files.stop();
        done.stop();
        started.stop();
        if (database instanceof DisposableBean connection) {
            connection.destroy();
        }

    }

    /**
     * Decides what becomes of a validated request: {@code new} (call it), {@code duplicate} (already handled, or in
     * flight right now), {@code skip} (already recorded, while its file is read again after an interruption),
     * {@code interrupted} (in flight when the module died: record it as failed) or {@code resend}.
     */
    public String admit(Exchange exchange) {
        String key = key(exchange);
        if (key == null) {
            exchange.setProperty(ADMISSION, "new");
            return "new";
        }
        return admit(exchange, key);
    }

    // one connection, one writer at a time: SQLite's own model, and requests with the same key are admitted in turn
    private synchronized String admit(Exchange exchange, String key) {
        String first = firstCorrelationId(key);
        exchange.setProperty(OutcomeRecord.CORRELATION_ID, first);
        String admission;
        if (done.contains(key)) {
            admission = exchange.getProperty(RESUMING, false, Boolean.class) ? "skip" : "duplicate";
        } else if (started.add(key)) {
            admission = "new";
        } else if (interrupted.remove(key)) {
            admission = recordExists(first) ? "skip" : resendInterrupted ? "resend" : "interrupted";
        } else {
            admission = "duplicate";
        }
        if (admission.equals("duplicate")) {
            exchange.setProperty(OutcomeRecord.DUPLICATE_OF, first);
            exchange.setProperty(OutcomeRecord.CORRELATION_ID, UUID.randomUUID().toString());
        } else if (admission.equals("skip")) {
            done.add(key);
        } else {
            exchange.setProperty(ENTERED, true);
        }
        exchange.setProperty(ADMISSION, admission);
        return admission;
    }

    /** Once the record is written: the key is done. */
    public synchronized void finish(Exchange exchange) {
        String key = exchange.getProperty(KEY, String.class);
        if (key != null && exchange.getProperty(ENTERED, false, Boolean.class)) {
            done.add(key);
            started.remove(key);
        }
    }

    /** Marks an inbox file as being read; true if it was already, i.e. an earlier run was interrupted in it. */
    public synchronized boolean resumeFile(String fileHash) {
        return !files.add(fileHash);
    }

    public synchronized void finishFile(String fileHash) {
        files.remove(fileHash);
    }

    /** The request's own id wins; else what its source says (file hash and row, JMS message id); else none. */
    private static String key(Exchange exchange) {
        CallRequest request = exchange.getProperty(OutcomeRecord.CALL_REQUEST, CallRequest.class);
        String key = request != null && request.id() != null ? "id:" + request.id()
                : exchange.getProperty(SOURCE_KEY, String.class);
        exchange.setProperty(KEY, key);
        return key;
    }

    /** The first request with a key gets a correlation id derived from it, so a duplicate can point at it. */
    static String firstCorrelationId(String key) {
        return UUID.nameUUIDFromBytes(("zapi-send-call:" + key).getBytes(StandardCharsets.UTF_8)).toString();
    }

    /** The module died between writing the record and marking the key done: the record is there. */
    private boolean recordExists(String correlationId) {
        return recordFolders.stream().anyMatch(folder -> Files.exists(folder.resolve(correlationId + ".json")));
    }

    /**
     * When the inbox file with this hash was first taken: when {@link #resumeFile} first marked it, by this run or by
     * one interrupted in it (the "files" row's createdAt). Null when it is not marked.
     */
    public synchronized java.util.Date fileTakenAt(String fileHash) {
        List<java.sql.Timestamp> taken = new JdbcTemplate(database).queryForList(
                "SELECT createdAt FROM CAMEL_MESSAGEPROCESSED WHERE processorName = 'files' AND messageId = ?",
                java.sql.Timestamp.class, fileHash);
        return taken.isEmpty() ? null : new java.util.Date(taken.get(0).getTime());
    }
}
