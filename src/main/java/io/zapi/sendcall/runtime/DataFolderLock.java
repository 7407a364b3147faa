package io.zapi.sendcall.runtime;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import org.apache.camel.support.service.ServiceSupport;

/**
 * One module per data folder, whatever the broker: two modules on one folder both read the inbox and share the
 * ledger, so rows get several records and phones are called twice. The lock is an operating-system lock on
 * {@code <zapi.data-dir>/.lock}, taken before anything uses the folder and held for the life of the module; the
 * operating system lets go of it when the process dies, so a restart after kill -9 is not stopped by it.
 */
public final class DataFolderLock extends ServiceSupport {

    static final String FILE_NAME = ".lock";
    /**
     * The folders this JVM holds. Checked before the lock file is even opened: on POSIX systems closing any
     * descriptor of a file drops every lock the process has on it, so a refused second module of this JVM (tests)
     * must not open and close the file under the first one.
     */
    private static final Set<Path> HELD_HERE = ConcurrentHashMap.newKeySet();

    private final Path folder;
    private final FileChannel channel;
    private final FileLock lock;

    private DataFolderLock(Path folder, FileChannel channel, FileLock lock) {
        this.folder = folder;
        this.channel = channel;
        this.lock = lock;
    }

    /** Takes the data folder for this module, creating it if need be, or refuses to if another module has it. */
    public static DataFolderLock acquire(Path dataDir) {
        Path folder = dataDir.toAbsolutePath().normalize();
        Path file = folder.resolve(FILE_NAME);
        if (!HELD_HERE.add(folder)) {
            throw inUse(folder, String.valueOf(ProcessHandle.current().pid()));
        }
        FileChannel channel = null;
        try {
            Files.createDirectories(folder);
            channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ,
                    StandardOpenOption.WRITE);
            FileLock lock;
            try {
                lock = channel.tryLock();
            } catch (OverlappingFileLockException heldInThisJvm) {
                lock = null;
            }
            if (lock == null) {
                channel.close();
                HELD_HERE.remove(folder);
                throw inUse(folder, Files.readString(file, StandardCharsets.UTF_8).strip());
            }
            // who holds it, for the message above; the lock, not this content, is what counts
            channel.truncate(0);
            channel.write(ByteBuffer.wrap(String.valueOf(ProcessHandle.current().pid())
                    .getBytes(StandardCharsets.UTF_8)));
            return new DataFolderLock(folder, channel, lock);
        } catch (IOException e) {
            closeQuietly(channel);
            HELD_HERE.remove(folder);
            throw new StartupException("Cannot use the data folder " + folder + " (" + e.getMessage() + "): set "
                                       + "zapi.data-dir (env ZAPI_DATA_DIR) to a folder this user can write.");
        }
    }

    private static StartupException inUse(Path folder, String holder) {
        return new StartupException("The data folder " + folder + " is in use by another running module"
                                    + (holder.isEmpty() ? "" : " (process " + holder + ")") + ": stop it, or give "
                                    + "this one its own zapi.data-dir (env ZAPI_DATA_DIR).");
    }

    Path folder() {
        return folder;
    }

    @Override
    protected void doStart() {
        // taken by acquire(), before the context started anything
    }

    /** Stopped last, after the routes, the ledger and the broker that use the folder. */
    @Override
    protected void doStop() throws IOException {
        try {
            if (lock.isValid()) {
                lock.release();
            }
            channel.close();
        } finally {
            HELD_HERE.remove(folder);
        }
    }

    private static void closeQuietly(FileChannel channel) {
        if (channel != null) {
            try {
                channel.close();
            } catch (IOException ignored) {
                // the refusal says what matters
            }
        }
    }
}
