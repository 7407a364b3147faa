package io.zapi.sendcall.inbox;

import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.atomic.LongAdder;
import java.util.stream.Collectors;

import io.zapi.sendcall.records.Timestamps;

/**
 * How far one inbox file has got: the count per outcome of its rows so far, the bytes read of its size, the rate and
 * what is left. Rows are counted by the split's threads while the report's ticker reads: every field read by both is
 * thread-safe. The report and the log lines of the file are made from it, whatever its state.
 */
final class FileProgress {

    /** Where the file stands: running while it is read, then one of the three ends. */
    enum State {
        RUNNING, DONE, UNREADABLE, INTERRUPTED;

        String label() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /** While running, progress stays below 1: the last rows read may still be in flight. */
    private static final double RUNNING_AT_MOST = 0.9999;

    private final String file;
    private final RequestFile requestFile;
    private final Instant started;
    private final Map<String, LongAdder> counts = new ConcurrentSkipListMap<>();
    /** The same by Z-API instance (the name; {@link #NO_INSTANCE} for rows that got none), then by outcome. */
    private final Map<String, Map<String, LongAdder>> countsByInstance = new ConcurrentSkipListMap<>();
    static final String NO_INSTANCE = "none";
    /** The GET /files entry's latest failures, at most this many, newest first. */
    static final int LATEST_FAILURES = 10;
    private final java.util.Deque<Map<String, Object>> latestFailures = new java.util.ArrayDeque<>();
    private volatile String keptName;
    private volatile String reportName;
    /** Guarded by this: once closed, no running report is written any more. */
    private boolean closed;
    private int loggedTenths;
    private Instant loggedAt;

    FileProgress(String file, RequestFile requestFile, Instant started) {
        this.file = file;
        this.requestFile = requestFile;
        this.started = started;
        this.loggedAt = started;
    }

    String file() {
        return file;
    }

    /** The names the file is kept and reported under. */
    void named(String keptName, String reportName) {
        this.keptName = keptName;
        this.reportName = reportName;
    }

    String keptName() {
        return keptName;
    }

    String reportName() {
        return reportName;
    }

    /** A CSV file has a CSV results file, the others a JSON Lines one. */
    boolean isCsv() {
        return file != null && file.toLowerCase(java.util.Locale.ROOT).endsWith(".csv");
    }

    /** A row that ended in a failure (failed, an error, rejected) is among the file's latest failures. */
    void noteFailure(String outcome, org.apache.camel.Exchange row) {
        Map<String, Object> failure = failureOf(outcome, row);
        if (failure == null) {
            return;
        }
        synchronized (latestFailures) {
            latestFailures.addFirst(failure);
            while (latestFailures.size() > LATEST_FAILURES) {
                latestFailures.removeLast();
            }
        }
    }

    java.util.List<Map<String, Object>> latestFailures() {
        synchronized (latestFailures) {
            return java.util.List.copyOf(latestFailures);
        }
    }

    /** A failure as GET /files shows it: index, phone, outcome, error, at; null for an outcome that is no failure. */
    static Map<String, Object> failureOf(String outcome, org.apache.camel.Exchange row) {
        if (!java.util.List.of("failed", "error-405", "error-415", "rejected").contains(outcome)) {
            return null;
        }
        Map<String, Object> failure = new LinkedHashMap<>();
        failure.put("index", io.zapi.sendcall.pipeline.RequestSource.of(row).index());
        io.zapi.sendcall.pipeline.CallRequest request = row.getProperty(
                io.zapi.sendcall.records.OutcomeRecord.CALL_REQUEST, io.zapi.sendcall.pipeline.CallRequest.class);
        failure.put("phone", request != null ? request.phone() : null);
        failure.put("outcome", outcome);
        failure.put("error", io.zapi.sendcall.runtime.SecretMasking.mask(
                String.valueOf(row.getProperty(io.zapi.sendcall.records.OutcomeRecord.ERROR, String.class))));
        failure.put("at", Timestamps.now());
        return failure;
    }

    RequestFile requestFile() {
        return requestFile;
    }

    /** One more row ended in this outcome, through this instance (null when it got none). */
    void count(String outcome, String instance) {
        counts.computeIfAbsent(outcome, key -> new LongAdder()).increment();
        countsByInstance.computeIfAbsent(instance != null ? instance : NO_INSTANCE,
                        key -> new ConcurrentSkipListMap<>())
                .computeIfAbsent(outcome, key -> new LongAdder()).increment();
    }

    synchronized boolean isClosed() {
        return closed;
    }

    /** No running report after this one call: the file's end is being reported. */
    synchronized void close() {
        closed = true;
    }

    /** The state the file ended in, told by its reader. */
    State end() {
        if (requestFile != null && requestFile.isInterrupted()) {
            return State.INTERRUPTED;
        }
        return requestFile != null && requestFile.isUnreadable() ? State.UNREADABLE : State.DONE;
    }

    /**
     * True when a progress line is due: the file passed another tenth of its size, or 30 s went by since the last
     * line. Called by the ticker alone.
     */
    boolean logDue(Instant now, Duration every) {
        int tenths = (int) Math.floor(fraction() * 10);
        if (tenths > loggedTenths || !now.isBefore(loggedAt.plus(every))) {
            loggedTenths = Math.max(tenths, loggedTenths);
            loggedAt = now;
            return true;
        }
        return false;
    }

    /** The report, as the reports folder holds it. */
    Map<String, Object> report(State state, Instant now) {
        Map<String, Long> outcomes = outcomes();
        Map<String, Object> report = new LinkedHashMap<>();
        report.put("file", file);
        report.put("state", state.label());
        report.put("requests", total(outcomes));
        report.put("outcomes", outcomes);
        report.put("instances", instances());
        report.put("unreadable", requestFile != null ? requestFile.getUnreadableReason() : null);
        report.put("progress", progress(state));
        report.put("rowsPerSecond", rowsPerSecond(outcomes, now));
        report.put("etaSeconds", etaSeconds(state, now));
        report.put("startedAt", started != null ? Timestamps.format(started) : null);
        report.put("finishedAt", state == State.RUNNING ? null : Timestamps.format(now));
        report.put("durationMs", started != null ? Duration.between(started, now).toMillis() : null);
        return report;
    }

    /**
     * The same in one log line: {@code calls.csv: running, 42% read, 120 requests (success 120), 20.5 rows/s, about
     * 31 s left}.
     */
    String line(State state, Instant now) {
        Map<String, Long> outcomes = outcomes();
        long total = total(outcomes);
        String counted = total + (total == 1 ? " request" : " requests") + (outcomes.isEmpty() ? ""
                : outcomes.entrySet().stream().map(e -> e.getKey() + " " + e.getValue())
                        .collect(Collectors.joining(", ", " (", ")")));
        String rate = rowsPerSecond(outcomes, now) + " rows/s";
        String read = (int) Math.floor(progress(state) * 100) + "% read";
        return switch (state) {
            case RUNNING -> {
                Long eta = etaSeconds(state, now);
                yield file + ": running, " + read + ", " + counted + ", " + rate
                      + (eta != null ? ", about " + eta + " s left" : "");
            }
            case INTERRUPTED -> file + ": interrupted at " + read + ", " + counted + "; it is resumed at the next start";
            default -> file + ": " + state.label() + ", " + counted + " in "
                       + (started != null ? Duration.between(started, now).toMillis() : 0) + " ms, " + rate;
        };
    }

    private Map<String, Long> outcomes() {
        return sums(counts);
    }

    /** The outcomes of the rows by instance: {"default": {"success": 3}, "none": {"rejected": 1}}. */
    private Map<String, Map<String, Long>> instances() {
        Map<String, Map<String, Long>> instances = new TreeMap<>();
        countsByInstance.forEach((instance, outcomes) -> instances.put(instance, sums(outcomes)));
        return instances;
    }

    private static Map<String, Long> sums(Map<String, LongAdder> counts) {
        Map<String, Long> sums = new TreeMap<>();
        counts.forEach((outcome, count) -> sums.put(outcome, count.sum()));
        return sums;
    }

    private static long total(Map<String, Long> outcomes) {
        return outcomes.values().stream().mapToLong(Long::longValue).sum();
    }

    /** Bytes read over the file's size, 0 to 1; 1 once the file is done, below 1 while it runs. */
    private double progress(State state) {
        if (state == State.DONE) {
            return 1.0;
        }
        double fraction = Math.floor(fraction() * 10_000) / 10_000;
        return state == State.RUNNING ? Math.min(fraction, RUNNING_AT_MOST) : fraction;
    }

    private double fraction() {
        if (requestFile == null || requestFile.getSize() <= 0) {
            return 0;
        }
        return Math.min(1.0, (double) requestFile.getBytesRead() / requestFile.getSize());
    }

    /** Rows ended per second since the file was taken by this run, one decimal. */
    private double rowsPerSecond(Map<String, Long> outcomes, Instant now) {
        long millis = started != null ? Duration.between(started, now).toMillis() : 0;
        return millis <= 0 ? 0.0 : Math.round(total(outcomes) * 10_000.0 / millis) / 10.0;
    }

    /**
     * Seconds left at the pace so far, by bytes: 0 once done, null when it cannot be told (nothing read yet, or the
     * file ended otherwise).
     */
    private Long etaSeconds(State state, Instant now) {
        if (state == State.DONE) {
            return 0L;
        }
        double fraction = fraction();
        if (state != State.RUNNING || started == null || fraction <= 0) {
            return null;
        }
        double elapsed = Duration.between(started, now).toMillis() / 1000.0;
        return (long) Math.ceil(elapsed * (1 - fraction) / fraction);
    }
}
