package io.zapi.sendcall.observe;

import java.io.IOException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.apache.camel.health.HealthCheckResultBuilder;
import org.apache.camel.impl.health.AbstractHealthCheck;

/**
 * Readiness: the data folder and every folder the module writes records, reports and kept originals into can take a
 * new file. Each is tried with a real write (a one-byte hidden file, deleted at once), as that is what fails on a
 * read-only or full file system; the inbox and the outbox ignore hidden names, so nothing reads it. UP again by
 * itself once the folders are writable.
 */
public final class FoldersWritableCheck extends AbstractHealthCheck {

    private final List<Path> folders;

    /** @param folders the data folder first, then the inbox's and each outcome's and the reports' folders */
    public FoldersWritableCheck(List<Path> folders) {
        super(HealthChecks.GROUP, "folders");
        this.folders = List.copyOf(folders);
    }

    @Override
    public boolean isLiveness() {
        // a remounted or full disk is cured without a restart
        return false;
    }

    @Override
    protected void doCall(HealthCheckResultBuilder builder, Map<String, Object> options) {
        List<String> unwritable = new ArrayList<>();
        for (Path folder : folders) {
            String reason = whyNotWritable(folder);
            builder.detail("folder." + folder, reason == null ? "writable" : reason);
            if (reason != null) {
                unwritable.add(folder + " (" + reason + ")");
            }
        }
        if (unwritable.isEmpty()) {
            builder.up();
        } else {
            builder.down().message("not writable: " + String.join("; ", unwritable)
                                   + ": make each writable, or free space on its disk");
        }
    }

    /** Null when a file can be written into the folder, else why not (also the start-up's test of a folder). */
    public static String whyNotWritable(Path folder) {
        Path probe = null;
        try {
            probe = Files.createTempFile(folder, ".health-", ".tmp");
            Files.write(probe, new byte[] {'\n'});
            return null;
        } catch (FileSystemException e) {
            return e.getReason() != null ? e.getReason() : e.getClass().getSimpleName();
        } catch (IOException e) {
            return e.getMessage();
        } finally {
            if (probe != null) {
                try {
                    Files.deleteIfExists(probe);
                } catch (IOException ignored) {
                    // the write's answer is what counts; a hidden leftover is ignored by every reader
                }
            }
        }
    }
}
