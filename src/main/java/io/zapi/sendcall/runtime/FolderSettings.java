package io.zapi.sendcall.runtime;

import java.io.IOException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.apache.camel.spi.PropertiesComponent;

import io.zapi.sendcall.observe.FoldersWritableCheck;
import io.zapi.sendcall.records.Outcome;

/**
 * Where the inbox and the outbox are: zapi.inbox-dir and zapi.outbox-dir, under zapi.data-dir by default, or apart from
 * it (a folder several replicas share). The data folder keeps the replica's own state (its lock, ledger, broker
 * journal), so neither may be inside that state, nor one inside the other.
 */
public final class FolderSettings {

    public static final String INBOX_DIR = "zapi.inbox-dir";
    public static final String OUTBOX_DIR = "zapi.outbox-dir";
    /** The inbox's own folders: the inbox itself, then where originals are kept. */
    public static final List<String> INBOX_FOLDERS = List.of("", ".done", ".error");
    /** The outbox's folders: one per outcome, and the reports'. */
    public static final List<String> OUTBOX_FOLDERS = java.util.stream.Stream.concat(Outcome.labels().stream(),
            java.util.stream.Stream.of("reports")).toList();
    /** The data folder's subfolders that hold the replica's own state. */
    private static final List<String> OWN_STATE = List.of("ledger", "broker");

    private FolderSettings() {
    }

    /** zapi.inbox-dir, absolute (a relative one is taken from the working directory, as zapi.data-dir is). */
    public static Path inbox(PropertiesComponent properties) {
        return folder(properties, INBOX_DIR);
    }

    /** zapi.outbox-dir, absolute. */
    public static Path outbox(PropertiesComponent properties) {
        return folder(properties, OUTBOX_DIR);
    }

    private static Path folder(PropertiesComponent properties, String key) {
        String value = Settings.get(properties, key);
        if (value == null) {
            throw new StartupException(SettingsCheck.name(key) + " is empty: set it to a folder, or remove it to use "
                                       + "its default under " + SettingsCheck.name(ModuleConfiguration.DATA_DIR) + ".");
        }
        return Path.of(value).toAbsolutePath().normalize();
    }

    /**
     * Before anything is created: an inbox or outbox that is something else than a folder, inside the other, or inside
     * the data folder's own state is refused.
     */
    static void check(PropertiesComponent properties) {
        Path dataDir = Path.of(Settings.get(properties, ModuleConfiguration.DATA_DIR)).toAbsolutePath().normalize();
        Path inbox = inbox(properties);
        Path outbox = outbox(properties);
        for (String key : List.of(INBOX_DIR, OUTBOX_DIR)) {
            Path folder = folder(properties, key);
            if (Files.exists(folder) && !Files.isDirectory(folder)) {
                throw new StartupException(SettingsCheck.name(key) + " is " + folder + ", which is not a folder: set "
                                           + "it to a folder this user can write.");
            }
            for (String own : OWN_STATE) {
                if (folder.startsWith(dataDir.resolve(own))) {
                    throw new StartupException(SettingsCheck.name(key) + " is " + folder + ", inside "
                                               + dataDir.resolve(own) + ", where the module keeps its own " + own
                                               + ": set it to a folder of its own.");
                }
            }
        }
        if (dataDir.startsWith(inbox)) {
            // every folder in the inbox is set aside to .error: the data folder would be moved away under the module
            throw new StartupException(SettingsCheck.name(INBOX_DIR) + " (" + inbox + ") holds the data folder, "
                                       + SettingsCheck.name(ModuleConfiguration.DATA_DIR) + " (" + dataDir
                                       + "): set the inbox to a folder apart from it, or inside it.");
        }
        if (inbox.startsWith(outbox) || outbox.startsWith(inbox)) {
            throw new StartupException(SettingsCheck.name(INBOX_DIR) + " (" + inbox + ") and "
                                       + SettingsCheck.name(OUTBOX_DIR) + " (" + outbox + ") must be apart, neither "
                                       + "inside the other: records would be read as requests, or set aside.");
        }
    }

    /**
     * Creates the inbox's and the outbox's folders; refuses an inbox or outbox that cannot be created or written. A
     * subfolder that exists but cannot be written (a read-only mount of outbox/failed) is left to the readiness check
     * and to the records kept pending, as a folder that turns read-only later is.
     */
    static void create(PropertiesComponent properties) {
        createWritable(INBOX_DIR, inbox(properties), INBOX_FOLDERS);
        createWritable(OUTBOX_DIR, outbox(properties), OUTBOX_FOLDERS);
    }

    private static void createWritable(String key, Path root, List<String> folders) {
        String reason;
        Path folder = root;
        try {
            Files.createDirectories(root);
            reason = FoldersWritableCheck.whyNotWritable(root);
            for (String name : reason == null ? folders : List.<String>of()) {
                folder = root.resolve(name);
                Files.createDirectories(folder);
            }
        } catch (FileSystemException e) {
            // e.g. "Read-only file system", or a regular file in the way (FileAlreadyExistsException)
            reason = e.getReason() != null ? e.getReason() : e.getClass().getSimpleName();
        } catch (IOException e) {
            reason = e.getMessage();
        }
        if (reason != null) {
            throw new StartupException("Cannot use " + folder + " (" + reason + "): make it writable, or set "
                                       + SettingsCheck.name(key) + " to a folder this user can write.");
        }
    }
}
