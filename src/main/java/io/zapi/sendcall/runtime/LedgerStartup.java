package io.zapi.sendcall.runtime;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;
import java.util.LinkedHashMap;
import java.util.Map;

import org.apache.camel.CamelContext;
import org.apache.camel.spi.PropertiesComponent;
import org.apache.camel.support.service.ServiceSupport;
import org.springframework.dao.DataAccessException;
import org.sqlite.SQLiteConfig;
import org.sqlite.SQLiteDataSource;
import org.springframework.jdbc.datasource.SingleConnectionDataSource;

import io.zapi.sendcall.pipeline.CallLedger;
import io.zapi.sendcall.records.PendingRecords;
import io.zapi.sendcall.records.Retention;

/**
 * The idempotency ledger, on an embedded SQLite database under zapi.data-dir, opened before any route is built and
 * bound as {@code callLedger}, with the {@code pendingRecords} it keeps; closed with the context.
 */
final class LedgerStartup {

    private LedgerStartup() {
    }

    static void start(CamelContext context) throws Exception {
        PropertiesComponent properties = context.getPropertiesComponent();
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
        sqlite.setUrl("jdbc:sqlite:" + folder.resolve("calls.db"));
        // one connection for the ledger, which uses it one call at a time
        CallLedger ledger;
        try {
            SingleConnectionDataSource database = new SingleConnectionDataSource(sqlite.getConnection(), true);
            ledger = new CallLedger(database, Settings.isTrue(properties, "zapi.resend-interrupted"),
                    recordFolders(properties));
            ledger.open();
        } catch (SQLException | DataAccessException e) {
            // a read-only or full folder: SQLite says so in its own words, with no hint of what to do
            throw new StartupException("Cannot write the ledger database " + folder.resolve("calls.db") + " ("
                                       + e.getMessage() + "): make " + folder + " writable, or set "
                                       + ModuleConfiguration.DATA_DIR + " (env "
                                       + Settings.envName(ModuleConfiguration.DATA_DIR) + ") to a folder this user "
                                       + "can write.");
        }
        context.getRegistry().bind("callLedger", ledger);
        context.getRegistry().bind("pendingRecords", new PendingRecords(context, ledger));
        context.getRegistry().bind("retention", new Retention(ledger,
                Integer.parseInt(Settings.getOr(properties, "zapi.retention.days", "0")),
                FolderSettings.inbox(properties), recordFolders(properties).values(),
                fileFolder(Settings.get(properties, "zapi.reports-uri"))));
        // closed with the context, not with a route that uses it: a route stopped and started again keeps its ledger
        context.addService(new ServiceSupport() {
            @Override
            protected void doStop() {
                ledger.closeDatabase();
            }
        }, true, true);
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
