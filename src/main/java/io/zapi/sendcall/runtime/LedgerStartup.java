package io.zapi.sendcall.runtime;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import org.apache.camel.CamelContext;
import org.apache.camel.spi.PropertiesComponent;
import org.apache.camel.support.service.ServiceSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.dao.DataAccessException;
import org.sqlite.SQLiteConfig;
import org.sqlite.SQLiteDataSource;
import org.springframework.jdbc.datasource.SingleConnectionDataSource;

import io.zapi.sendcall.inbox.InboxClaims;
import io.zapi.sendcall.pipeline.CallLedger;
import io.zapi.sendcall.records.PendingRecords;
import io.zapi.sendcall.records.Retention;
import io.zapi.sendcall.zapi.RateLimits;
import io.zapi.sendcall.zapi.ZapiInstance;
import io.zapi.sendcall.zapi.ZapiInstances;

/**
 * The idempotency ledger, opened before any route is built and bound as {@code callLedger}, with the
 * {@code pendingRecords} it keeps; closed with the context. Embedded SQLite under zapi.data-dir unless zapi.ledger.url
 * names a PostgreSQL database: then the ledger shared by several replicas, through a HikariCP pool, with this
 * replica's heartbeat written every zapi.ledger.node-timeout-ms / 3 by a scheduled task of Camel's thread pools.
 */
final class LedgerStartup {

    static final String URL = "zapi.ledger.url";
    static final String USERNAME = "zapi.ledger.username";
    static final String PASSWORD = "zapi.ledger.password";
    static final String NODE_ID = "zapi.node-id";
    static final String NODE_TIMEOUT_MS = "zapi.ledger.node-timeout-ms";
    private static final Logger LOG = LoggerFactory.getLogger(LedgerStartup.class);

    private LedgerStartup() {
    }

    static void start(CamelContext context) throws Exception {
        PropertiesComponent properties = context.getPropertiesComponent();
        String url = Settings.get(properties, URL);
        String nodeId = Settings.getOr(properties, NODE_ID, defaultNodeId());
        CallLedger ledger = url == null ? openSqlite(properties, nodeId) : openPostgres(context, url, nodeId);
        ScheduledExecutorService heartbeats = ledger.dialect() == CallLedger.Dialect.POSTGRESQL
                ? startHeartbeat(context, ledger, Long.parseLong(Settings.getOr(properties, NODE_TIMEOUT_MS, "30000")))
                : null;
        context.getRegistry().bind("callLedger", ledger);
        if (context.getRegistry().lookupByName("rateLimit") == null) {
            // a lone process: the rate limits are its own
            context.getRegistry().bind("rateLimit", RateLimits.inProcess(instances(context)));
        }
        // the inbox's read lock: on a shared ledger, one replica at a time reads a file of a shared inbox
        context.getRegistry().bind("inboxClaims", new InboxClaims(ledger));
        context.getRegistry().bind("pendingRecords", new PendingRecords(context, ledger));
        context.getRegistry().bind("retention", new Retention(ledger,
                Integer.parseInt(Settings.getOr(properties, "zapi.retention.days", "0")),
                FolderSettings.inbox(properties), recordFolders(properties).values(),
                fileFolder(Settings.get(properties, "zapi.reports-uri")),
                FolderSettings.outbox(properties).resolve("results")));
        // closed with the context, not with a route that uses it: a route stopped and started again keeps its ledger
        context.addService(new ServiceSupport() {
            @Override
            protected void doStop() {
                if (heartbeats != null) {
                    context.getExecutorServiceManager().shutdownNow(heartbeats);
                }
                ledger.closeDatabase();
            }
        }, true, true);
    }

    private static CallLedger openSqlite(PropertiesComponent properties, String nodeId) throws Exception {
        Path folder = Path.of(Settings.get(properties, ModuleConfiguration.DATA_DIR)).toAbsolutePath()
                .resolve("ledger");
        Files.createDirectories(folder);
        // WAL journal, synchronous NORMAL: a commit is in the operating system's hands when add() returns, so a key
        // survives kill -9 of the module (not a power cut before the next checkpoint), at a small write per commit
        SQLiteConfig config = new SQLiteConfig();
        config.setJournalMode(SQLiteConfig.JournalMode.WAL);
        config.setSynchronous(SQLiteConfig.SynchronousMode.NORMAL);
        config.setBusyTimeout(30_000);
        SQLiteDataSource sqlite = new SQLiteDataSource(config);
        Path file = folder.resolve("calls.db");
        String location = file.normalize().toString();
        sqlite.setUrl("jdbc:sqlite:" + file);
        // one connection for the ledger, which uses it one call at a time
        try {
            SingleConnectionDataSource database = new SingleConnectionDataSource(sqlite.getConnection(), true);
            CallLedger ledger = new CallLedger(database, CallLedger.Dialect.SQLITE, location, nodeId, 0,
                    Settings.isTrue(properties, "zapi.resend-interrupted"), recordFolders(properties));
            ledger.open();
            return ledger;
        } catch (SQLException | DataAccessException e) {
            // a read-only or full folder: SQLite says so in its own words, with no hint of what to do
            throw new StartupException("Cannot write the ledger database " + file + " (" + e.getMessage()
                                       + "): make " + folder + " writable, or set " + ModuleConfiguration.DATA_DIR
                                       + " (env " + Settings.envName(ModuleConfiguration.DATA_DIR) + ") to a folder "
                                       + "this user can write.");
        }
    }

    private static CallLedger openPostgres(CamelContext context, String url, String nodeId) {
        PropertiesComponent properties = context.getPropertiesComponent();
        if (!url.startsWith("jdbc:postgresql:")) {
            throw new StartupException(URL + " (env " + Settings.envName(URL) + ") must be a jdbc:postgresql:// URL "
                                       + "(or empty for the embedded SQLite ledger), not " + SecretMasking.mask(url));
        }
        long nodeTimeoutMs = Long.parseLong(Settings.getOr(properties, NODE_TIMEOUT_MS, "30000"));
        HikariConfig config = new HikariConfig();
        config.setPoolName("zapi-ledger");
        config.setJdbcUrl(url);
        config.setUsername(Settings.get(properties, USERNAME));
        config.setPassword(Settings.get(properties, PASSWORD));
        // the pipeline's requests at once, plus the heartbeat, the health check, retention and pending records
        config.setMaximumPoolSize(Integer.parseInt(Settings.getOr(properties, "zapi.concurrency", "8")) + 4);
        // a lost database is noticed within seconds: the claim waits and retries, the health check says DOWN
        config.setConnectionTimeout(3_000);
        config.setValidationTimeout(2_000);
        String where = SecretMasking.mask(url);
        HikariDataSource pool;
        try {
            pool = new HikariDataSource(config);
        } catch (RuntimeException e) {
            throw new StartupException("Cannot reach the shared ledger " + where + " (" + SecretMasking.mask(
                    rootMessage(e)) + "): check " + URL + ", " + USERNAME + " and " + PASSWORD + " (env "
                                       + Settings.envName(URL) + ", " + Settings.envName(USERNAME) + ", "
                                       + Settings.envName(PASSWORD) + "), and that PostgreSQL is up.");
        }
        CallLedger ledger = new CallLedger(pool, CallLedger.Dialect.POSTGRESQL, where,
                nodeId, nodeTimeoutMs, Settings.isTrue(properties, "zapi.resend-interrupted"),
                recordFolders(properties));
        try {
            ledger.open();
        } catch (DataAccessException e) {
            pool.close();
            throw new StartupException("Cannot create or read the shared ledger's tables in " + where + " ("
                                       + SecretMasking.mask(e.getMostSpecificCause().getMessage()) + "): the role "
                                       + "of " + USERNAME + " needs CREATE on its schema at the first start.");
        }
        LOG.info("Ledger: shared on PostgreSQL {} as node {} (heartbeat every {} ms, node timeout {} ms)", where,
                nodeId, heartbeatEveryMs(nodeTimeoutMs), nodeTimeoutMs);
        List<ZapiInstance> instances = instances(context);
        try {
            context.getRegistry().bind("rateLimit", RateLimits.onPostgres(pool, instances,
                    () -> context.isStopping() || context.isStopped()));
        } catch (SQLException e) {
            pool.close();
            throw new StartupException("Cannot create the shared rate limit's table in " + where + " ("
                                       + SecretMasking.mask(e.getMessage()) + "): the role of " + USERNAME
                                       + " needs CREATE on its schema at the first start.");
        }
        for (ZapiInstance instance : instances) {
            if (instance.rateLimit() > 0) {
                LOG.info("Rate limit of Z-API instance {}: {} calls per second for all replicas sharing {}",
                        instance.name(), instance.rateLimit(), where);
            }
        }
        return ledger;
    }

    private static List<ZapiInstance> instances(CamelContext context) {
        return context.getRegistry().lookupByNameAndType("zapiInstances", ZapiInstances.class).all();
    }

    /** A third of the node timeout: two heartbeats may be lost before the others take this replica for gone. */
    private static long heartbeatEveryMs(long nodeTimeoutMs) {
        return Math.max(1, nodeTimeoutMs / 3);
    }

    /** The shared ledger's heartbeat, on a scheduled thread of Camel's, until the context stops. */
    private static ScheduledExecutorService startHeartbeat(CamelContext context, CallLedger ledger,
                                                           long nodeTimeoutMs) {
        ScheduledExecutorService heartbeats = context.getExecutorServiceManager()
                .newSingleThreadScheduledExecutor(LedgerStartup.class, "ledger-heartbeat");
        long every = heartbeatEveryMs(nodeTimeoutMs);
        heartbeats.scheduleWithFixedDelay(() -> {
            try {
                ledger.heartbeat();
            } catch (RuntimeException e) {
                LOG.warn("The heartbeat of node {} could not be written to the shared ledger ({}): after {} ms without "
                         + "one, other replicas take its keys in flight for interrupted", ledger.nodeId(),
                        SecretMasking.mask(rootMessage(e)), nodeTimeoutMs);
            }
        }, every, every, TimeUnit.MILLISECONDS);
        return heartbeats;
    }

    /** Host name and process id: unique among the replicas of one deployment unless zapi.node-id says otherwise. */
    static String defaultNodeId() {
        String host = System.getenv("HOSTNAME");
        if (host == null || host.isBlank()) {
            try {
                host = InetAddress.getLocalHost().getHostName();
            } catch (UnknownHostException e) {
                host = "localhost";
            }
        }
        return host + "-" + ProcessHandle.current().pid();
    }

    private static String rootMessage(Throwable failure) {
        Throwable root = failure;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        return root.getMessage() != null ? root.getMessage() : root.getClass().getSimpleName();
    }

    /** The folder of each outcome whose records are files: where the ledger finds a record already written. */
    private static Map<String, Path> recordFolders(PropertiesComponent properties) {
        Map<String, Path> recordFolders = new LinkedHashMap<>();
        for (String outcome : ModuleConfiguration.OUTCOMES) {
            String uri = Settings.get(properties, "zapi.outcome." + outcome + "-uri");
            Path folder = fileFolder(uri);
            if (folder != null) {
                recordFolders.put(outcome, folder);
            }
        }
        return recordFolders;
    }

    /** The folder a file: URI writes to; null for another endpoint. */
    private static Path fileFolder(String uri) {
        return uri != null && uri.startsWith("file:") ? Path.of(uri.substring("file:".length()).replaceFirst("\\?.*", ""))
                : null;
    }
}
