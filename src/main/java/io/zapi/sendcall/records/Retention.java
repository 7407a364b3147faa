package io.zapi.sendcall.records;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileSystemException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.zapi.sendcall.pipeline.CallLedger;

/**
 * zapi.retention.days: phone numbers are personal data (LGPD), so what the module keeps about a request is purged once
 * it is older than that: records, reports and results files (counted with the reports), kept originals in inbox/.done and inbox/.error, and ledger keys. Run by
 * routes/retention.camel.yaml at start-up and every zapi.retention.interval-ms; 0 days keeps everything.
 * <p>
 * Only what the module itself wrote is deleted, by its name: a record {@code <correlationId>.json}, a report or a kept
 * original {@code <yyyyMMdd-HHmmssSSS>-<name>}, each under a hidden temporary prefix too. A folder an outcome URI names
 * may be shared with other files; those stay. A link is never followed: a link the inbox set aside is deleted as the
 * link, never its target. What cannot be deleted is counted and left; the run goes on. The log says counts only: a
 * name holds a phone number as easily as a record does.
 */
public class Retention {

    /** Records as the module names them: {@code <correlationId>.json}, or under the file component's temp prefix. */
    static final Pattern RECORD = Pattern.compile("\\.?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\\.json");
    /** Reports and kept originals: the time the file was first taken, then its name. */
    static final Pattern KEPT = Pattern.compile("\\.?(\\d{8}-\\d{9})-.+");
    /** How the inbox route writes that time ({@code ${date:...:yyyyMMdd-HHmmssSSS}}, the JVM's zone). */
    private static final DateTimeFormatter TAKEN_AT = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmssSSS");
    private static final Logger LOG = LoggerFactory.getLogger(Retention.class);

    private final CallLedger ledger;
    private final int days;
    private final Path inbox;
    private final Set<Path> recordFolders;
    private final Path reportsFolder;
    /** The results files' folder (io.zapi.sendcall.inbox.ResultsFiles), named like reports; null: none purged. */
    private final Path resultsFolder;

    /**
     * @param inbox         the inbox (zapi.inbox-dir), whose .done and .error hold the kept originals
     * @param recordFolders the folders of the outcomes whose URI is {@code file:}; another endpoint keeps its records
     *                      its own way
     * @param reportsFolder the reports' folder when zapi.reports-uri is {@code file:}, else null
     */
    public Retention(CallLedger ledger, int days, Path inbox, Collection<Path> recordFolders, Path reportsFolder) {
        this(ledger, days, inbox, recordFolders, reportsFolder, null);
    }

    /** @param resultsFolder the results files' folder, {@code <zapi.outbox-dir>/results}: counted with the reports */
    public Retention(CallLedger ledger, int days, Path inbox, Collection<Path> recordFolders, Path reportsFolder,
                     Path resultsFolder) {
        this.ledger = ledger;
        this.resultsFolder = resultsFolder == null ? null : resultsFolder.toAbsolutePath().normalize();
        this.days = days;
        this.inbox = inbox.toAbsolutePath().normalize();
        // two outcomes may share a folder: each file is looked at once
        this.recordFolders = new LinkedHashSet<>();
        recordFolders.forEach(folder -> this.recordFolders.add(folder.toAbsolutePath().normalize()));
        this.reportsFolder = reportsFolder == null ? null : reportsFolder.toAbsolutePath().normalize();
    }

    /** What one run purged, per kind, and what it could not delete. */
    public record Purged(int records, int reports, int originals, int keys, int otherLedgerEntries, int failed,
                         String failure) {
    }

    public Purged purge() {
        if (days == 0) {
            LOG.info("Retention: zapi.retention.days is 0, nothing is purged (records, reports, originals and ledger "
                     + "keys are kept for ever)");
            return new Purged(0, 0, 0, 0, 0, 0, null);
        }
        Instant cutoff = Instant.now().minus(Duration.ofDays(days));
        Failures failures = new Failures();
        int records = 0;
        for (Path folder : recordFolders) {
            records += purgeFiles(folder, RECORD, cutoff, failures);
        }
        int reports = reportsFolder == null ? 0 : purgeFiles(reportsFolder, KEPT, cutoff, failures);
        if (resultsFolder != null && !resultsFolder.equals(reportsFolder)) {
            reports += purgeFiles(resultsFolder, KEPT, cutoff, failures);
        }
        int originals = purgeOriginals(inbox.resolve(".done"), cutoff, failures)
                        + purgeOriginals(inbox.resolve(".error"), cutoff, failures);
        CallLedger.Purged ledgerPurged = ledger.purgeOlderThan(cutoff,
                name -> Files.exists(inbox.resolve(name), LinkOption.NOFOLLOW_LINKS));
        Purged purged = new Purged(records, reports, originals, ledgerPurged.keys(), ledgerPurged.otherEntries(),
                failures.count, failures.first);
        if (failures.count == 0) {
            LOG.info("Retention: purged what was older than {} days: {} records, {} reports, {} originals, {} keys "
                     + "({} other ledger entries)", days, records, reports, originals, purged.keys(),
                    purged.otherLedgerEntries());
        } else {
            LOG.warn("Retention: purged what was older than {} days: {} records, {} reports, {} originals, {} keys "
                     + "({} other ledger entries); {} could not be deleted ({}), tried again at the next run", days,
                    records, reports, originals, purged.keys(), purged.otherLedgerEntries(), failures.count,
                    failures.first);
        }
        return purged;
    }

    /** The regular files directly in the folder, named as the module names them, last modified before the cutoff. */
    private static int purgeFiles(Path folder, Pattern names, Instant cutoff, Failures failures) {
        return purgeWhere(folder, failures, entry -> {
            if (!names.matcher(entry.getFileName().toString()).matches()) {
                return false;
            }
            BasicFileAttributes attributes = Files.readAttributes(entry, BasicFileAttributes.class,
                    LinkOption.NOFOLLOW_LINKS);
            return attributes.isRegularFile() && attributes.lastModifiedTime().toInstant().isBefore(cutoff);
        });
    }

    /**
     * Each kept original (a file, or whatever the inbox set aside as it was: a link, a FIFO, a folder with its files) is
     * old once both the time it was taken (its name's prefix) and its last modification, of everything in it, are
     * before the cutoff: a file dropped with an old time is not purged right after it was processed.
     */
    private static int purgeOriginals(Path folder, Instant cutoff, Failures failures) {
        return purgeWhere(folder, failures, entry -> {
            Matcher name = KEPT.matcher(entry.getFileName().toString());
            return name.matches() && takenAt(name.group(1)).isBefore(cutoff) && lastModified(entry).isBefore(cutoff);
        });
    }

    /** Whether an entry of a folder is to be purged; it may look at the file system. */
    private interface Purgeable {
        boolean test(Path entry) throws IOException;
    }

    /**
     * Deletes the entries directly in the folder that are to be purged, links as links; returns how many. An entry
     * that cannot be deleted is counted as a failure and the others go on; one removed meanwhile, or a folder the
     * user removed, holds nothing to purge.
     */
    private static int purgeWhere(Path folder, Failures failures, Purgeable purgeable) {
        int purged = 0;
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(folder)) {
            for (Path entry : entries) {
                try {
                    if (purgeable.test(entry)) {
                        deleteWithoutFollowingLinks(entry);
                        purged++;
                    }
                } catch (NoSuchFileException gone) {
                    // removed meanwhile: nothing left to purge
                } catch (IOException e) {
                    failures.add(e);
                }
            }
        } catch (NoSuchFileException absent) {
            // nothing there to purge
        } catch (IOException e) {
            failures.add(e);
        }
        return purged;
    }

    private static Instant takenAt(String prefix) {
        try {
            return LocalDateTime.parse(prefix, TAKEN_AT).atZone(ZoneId.systemDefault()).toInstant();
        } catch (DateTimeParseException notATime) {
            return Instant.MAX;
        }
    }

    /** The newest modification time in the entry; Files.walk does not follow links, so a link counts as itself. */
    private static Instant lastModified(Path entry) throws IOException {
        Instant[] newest = {Instant.MIN};
        Files.walkFileTree(entry, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attributes) {
                return visitFile(dir, attributes);
            }

            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attributes) {
                Instant modified = attributes.lastModifiedTime().toInstant();
                if (modified.isAfter(newest[0])) {
                    newest[0] = modified;
                }
                return FileVisitResult.CONTINUE;
            }
        });
        return newest[0];
    }

    /** Deletes the entry and, for a folder, what it holds; a link is deleted as the link, its target untouched. */
    private static void deleteWithoutFollowingLinks(Path entry) throws IOException {
        Files.walkFileTree(entry, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attributes) throws IOException {
                Files.delete(file);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path dir, IOException failure) throws IOException {
                if (failure != null) {
                    throw failure;
                }
                Files.delete(dir);
                return FileVisitResult.CONTINUE;
            }
        });
    }

    /** How many deletions failed, and the first reason, without its path (a path names a file, and a file a phone). */
    private static final class Failures {
        private int count;
        private String first;

        void add(IOException failure) {
            count++;
            if (first == null) {
                first = failure instanceof FileSystemException fs && fs.getReason() != null ? fs.getReason()
                        : failure.getClass().getSimpleName();
            }
        }
    }
}
