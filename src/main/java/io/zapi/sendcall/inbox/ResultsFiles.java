package io.zapi.sendcall.inbox;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Supplier;

import org.apache.camel.Exchange;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.zapi.sendcall.pipeline.CallLedger;
import io.zapi.sendcall.runtime.SecretMasking;

/**
 * The results files of inbox files, in {@code <outbox>/results/}: {@code <kept name>.results.csv} for a CSV input,
 * {@code .results.jsonl} for the others, one entry per request in the input's order ({@link ResultLine}). Written
 * while the file is read ({@link ResultsFile}, hooked into {@link FileReport}); a change to an entry after that (a
 * call event, a waiting row called, a redial: {@link #lineChanged}) is kept in the ledger and applied to the file by
 * routes/results-files.camel.yaml, once the file is complete, by one replica at a time.
 */
public class ResultsFiles {

    /** Exchange property of an inbox file and its rows: its {@link ResultsFile} being written. */
    public static final String PROPERTY = "resultsFile";
    /**
     * Exchange property of an inbox file and its rows: its results file's name. A row run again later (a waiting row
     * once due) that carries it has its entry kept with its record and success, as a row read with the file has.
     */
    public static final String NAME = "resultsFileName";
    /** Exchange property of a row of a resumed file recorded before: its entry as kept in the ledger (JSON). */
    public static final String STORED_LINE = "resultsLine";
    private static final Logger LOG = LoggerFactory.getLogger(ResultsFiles.class);
    /** Room kept in a file name for the hidden temporary name a change is written under ("." + name + ".tmp"). */
    private static final int TEMPORARY_BYTES = ".".length() + ".tmp".length();

    private final Path folder;
    private final Supplier<CallLedger> ledger;

    /**
     * @param folder the results folder, {@code <zapi.outbox-dir>/results}
     * @param ledger the ledger, once it is open
     */
    public ResultsFiles(Path folder, Supplier<CallLedger> ledger) {
        this.folder = folder;
        this.ledger = ledger;
    }

    /**
     * Starts the results file of the inbox file on this exchange (properties inboxFile, keptPrefix): written from its
     * start, also when the drop is resumed. Null when the exchange is of no inbox file.
     */
    ResultsFile open(Exchange exchange) {
        String name = nameOf(exchange);
        if (name == null) {
            return null;
        }
        boolean resumed = exchange.getProperty(CallLedger.DROP_RESUMED, false, Boolean.class);
        ResultsFile file = ResultsFile.open(folder, name, resumed);
        try {
            ledger.get().resultsFileWriting(name);
        } catch (RuntimeException e) {
            LOG.debug("{}: the ledger could not note it being written", name, e);
        }
        exchange.setProperty(PROPERTY, file);
        exchange.setProperty(NAME, name);
        return file;
    }

    /** A row of the file has ended (the split's aggregation): its entry, at its place in the reading. */
    static void ended(Exchange row) {
        ResultsFile file = row.getProperty(PROPERTY, ResultsFile.class);
        Integer position = row.getProperty(Exchange.SPLIT_INDEX, Integer.class);
        if (file == null || position == null) {
            return;
        }
        String stored = row.getProperty(STORED_LINE, String.class);
        ResultLine line = null;
        if (stored != null) {
            try {
                line = ResultLine.fromJson(stored);
            } catch (IllegalArgumentException e) {
                LOG.debug("{}: a kept results line could not be read: made again from its outcome", file.name(), e);
            }
        }
        file.add(position, line != null ? line : ResultLine.of(row));
    }

    /** The file is read to its end: its results file is complete, and changes to it may be applied from now on. */
    void complete(Exchange exchange) {
        ResultsFile file = exchange.getProperty(PROPERTY, ResultsFile.class);
        if (file == null) {
            return;
        }
        file.close();
        try {
            ledger.get().resultsFileComplete(file.name());
        } catch (RuntimeException e) {
            LOG.warn("{}: the ledger could not note it complete, so later changes (call events) are not applied to "
                     + "it: {}", file.name(), SecretMasking.mask(String.valueOf(e.getMessage())));
        }
    }

    /** The file's reading stopped (interrupted, or an unexpected end): what is in order is written, then closed. */
    static void close(Exchange exchange) {
        ResultsFile file = exchange.getProperty(PROPERTY, ResultsFile.class);
        if (file != null) {
            file.close();
        }
    }

    /**
     * The entry to keep in the ledger with a row's record (CallLedger.finish), so that a resumed file writes it
     * again for the row it skips; null for a request of no inbox file.
     */
    public static String lineToKeep(Exchange exchange) {
        return resultsNameOf(exchange) != null ? ResultLine.of(exchange).toJson() : null;
    }

    /** The results file's name of the inbox file this exchange is a row of; null for a request of no inbox file. */
    public static String resultsNameOf(Exchange exchange) {
        return exchange.getProperty(NAME, String.class);
    }

    /**
     * The entry of the row at this index (0 for a file's lone value) of this results file is now this one: kept in
     * the ledger and applied to the file within {@code zapi.reports.progress-interval-ms} once it is complete, by
     * whichever replica gets to it. A later change of the same entry replaces an earlier one not applied yet.
     */
    public void lineChanged(String results, int index, ResultLine line) {
        ledger.get().changeResultsLine(results, index, line.toJson());
    }

    /** The call of this success had this event ({@code answered}, {@code missed}): its entry says so. */
    public void eventOf(CallLedger.Success call, String event) {
        if (call.results() == null || call.resultsLine() == null) {
            return;
        }
        ResultLine line = ResultLine.fromJson(call.resultsLine()).withEvent(event);
        lineChanged(call.results(), line.index() == null ? 0 : line.index(), line);
    }

    /** The timer's run: the changes kept for complete results files, applied file by file. */
    public synchronized void applyChanges() {
        CallLedger calls = ledger.get();
        if (calls == null) {
            // not open yet (a route started before the ledger): the next run applies them
            return;
        }
        for (String results : calls.resultsFilesWithChanges()) {
            try {
                calls.whileHoldingResultsFile(results, () -> apply(calls, results));
            } catch (RuntimeException e) {
                LOG.warn("{}: changes to its entries could not be applied now, tried again later: {}", results,
                        SecretMasking.mask(String.valueOf(e.getMessage())));
            }
        }
    }

    private void apply(CallLedger calls, String results) {
        Map<Long, String> changes = calls.resultsChanges(results);
        Path path = folder.resolve(results);
        if (!Files.isRegularFile(path)) {
            // purged by retention, taken away, or this replica's outbox is not the one it was written to
            LOG.debug("{}: not in {}: its changes are dropped", results, folder);
        } else {
            Map<Long, ResultLine> changed = new HashMap<>();
            changes.forEach((index, line) -> changed.put(index, ResultLine.fromJson(line)));
            try {
                ResultsFile.rewrite(path, changed);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        calls.resultsChangesApplied(results, changes);
    }

    /**
     * {@code <kept name>.results.csv} (CSV input) or {@code .results.jsonl}: the kept original's name (time prefix,
     * name), shortened like it when the whole would not fit a file name.
     */
    static String nameOf(Exchange exchange) {
        String file = exchange.getProperty(FileReport.FILE, String.class);
        String prefix = exchange.getProperty(FileReport.KEPT_PREFIX, String.class);
        if (file == null || prefix == null) {
            return null;
        }
        String suffix = file.toLowerCase(java.util.Locale.ROOT).endsWith(".csv") ? ResultsFile.Format.CSV.suffix
                : ResultsFile.Format.JSONL.suffix;
        return prefix + "-" + RequestFiles.fit(file, RequestFiles.MAX_NAME_BYTES - RequestFiles.KEPT_PREFIX_BYTES
                                                     - suffix.length() - TEMPORARY_BYTES) + suffix;
    }
}
