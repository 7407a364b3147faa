package io.zapi.sendcall.files;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.camel.CamelContext;

import io.zapi.sendcall.pipeline.CallLedger;
import io.zapi.sendcall.pipeline.Json;

/**
 * The inbox files in progress, as every replica sees them: each file's latest status (its {@code GET /files} entry,
 * written by whichever replica reads it or ends its waiting rows) and what its user asked of it (pause, cancel), kept
 * in the ledger so that a paused file stays paused across a restart and any replica can act on any file.
 */
public class FilesInProgress {

    /** What a user can ask of a file. */
    public enum Control {
        PAUSED, CANCELLED;

        String label() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }

        static Control of(String label) {
            return label == null ? null : valueOf(label.toUpperCase(java.util.Locale.ROOT));
        }
    }

    /** The states a file ends in: no action applies to it any more. */
    static final List<String> ENDED = List.of("done", "cancelled", "unreadable");
    /** A file that ended is listed this long after, with its final state, so that a watcher sees how it ended. */
    static final Duration LISTED_AFTER_END = Duration.ofMinutes(10);
    /** A file's control is read from the ledger at most this often per file: rows ask for it one by one. */
    private static final long CONTROL_FRESH_MS = 250;

    private final CamelContext context;
    private final Map<String, CachedControl> controls = new ConcurrentHashMap<>();

    private record CachedControl(Control control, long readAt) {
    }

    public FilesInProgress(CamelContext context) {
        this.context = context;
    }

    /** A file is taken (or resumed): listed from now on; a control asked before a restart stays. */
    public void started(String name, String originalName, String report, String startedAt, ObjectNode entry) {
        ledger().use(jdbc -> jdbc.update("INSERT INTO inbox_file_status (name, original_name, report, state, entry, "
                                         + "started_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO "
                                         + "UPDATE SET state = excluded.state, entry = excluded.entry, updated_at = "
                                         + "excluded.updated_at, ended_at = NULL", name, originalName, report,
                entry.path("state").asText(), text(entry), startedAt, System.currentTimeMillis()));
    }

    /** The file's latest status; ended when its state is one of {@link #ENDED}. */
    public void update(String name, ObjectNode entry) {
        String state = entry.path("state").asText();
        long now = System.currentTimeMillis();
        ledger().use(jdbc -> jdbc.update("UPDATE inbox_file_status SET state = ?, entry = ?, updated_at = ?, ended_at = ? "
                                         + "WHERE name = ?", state, text(entry), now, ENDED.contains(state) ? now : null,
                name));
    }

    /** The file's latest status as written, or null for a name never listed. */
    public ObjectNode entry(String name) {
        List<String> found = ledger().use(jdbc -> jdbc.queryForList(
                "SELECT entry FROM inbox_file_status WHERE name = ?", String.class, name));
        return found.isEmpty() ? null : parse(found.get(0));
    }

    /** The kept name of the file of this report, or null when it was never listed. */
    public String nameOfReport(String report) {
        List<String> found = ledger().use(jdbc -> jdbc.queryForList(
                "SELECT name FROM inbox_file_status WHERE report = ?", String.class, report));
        return found.isEmpty() ? null : found.get(0);
    }

    /** What the user asked of this file, if anything; fresh to within a quarter of a second, from any replica. */
    public Control control(String name) {
        if (name == null) {
            return null;
        }
        long now = System.currentTimeMillis();
        CachedControl cached = controls.get(name);
        if (cached != null && now - cached.readAt() < CONTROL_FRESH_MS) {
            return cached.control();
        }
        List<String> found = ledger().use(jdbc -> jdbc.queryForList(
                "SELECT control FROM inbox_file_status WHERE name = ?", String.class, name));
        Control control = found.isEmpty() ? null : Control.of(found.get(0));
        controls.put(name, new CachedControl(control, now));
        return control;
    }

    /** The entries of the files in progress and of those ended in the last ten minutes, oldest first. */
    public Map<String, Object> list() {
        long endedAfter = System.currentTimeMillis() - LISTED_AFTER_END.toMillis();
        List<ObjectNode> files = new ArrayList<>();
        ledger().use(jdbc -> {
            jdbc.query("SELECT entry, control FROM inbox_file_status WHERE ended_at IS NULL OR ended_at > ? "
                       + "ORDER BY started_at, name", row -> {
                           ObjectNode entry = parse(row.getString(1));
                           if (entry != null) {
                               files.add(entry);
                           }
                       }, endedAfter);
            return null;
        });
        return Map.of("files", files);
    }

    /**
     * Pauses, resumes or cancels a file (POST /files/{name}/{action}): the control is kept in the ledger, where every
     * replica's rows of the file look for it. Answers the file's entry as it stands after the action.
     */
    public ObjectNode act(String name, String action) {
        ObjectNode entry = entry(name);
        if (entry == null) {
            throw new UnknownFileException(name);
        }
        String state = entry.path("state").asText();
        if (ENDED.contains(state)) {
            throw new FileEndedException(name, state);
        }
        Control next = switch (action) {
            case "pause" -> Control.PAUSED;
            case "resume" -> null;
            case "cancel" -> Control.CANCELLED;
            default -> throw new IllegalArgumentException("no action is named " + action);
        };
        // checked and changed in one statement, not through the cache: another replica may have cancelled the file (or
        // it may have ended) a moment ago, and cancelling is for good (its rows are being given their cancelled records)
        int changed = ledger().use(jdbc -> jdbc.update("UPDATE inbox_file_status SET control = ? WHERE name = ? AND "
                                                       + "ended_at IS NULL AND (control IS NULL OR control <> ?)",
                next == null ? null : next.label(), name, Control.CANCELLED.label()));
        controls.remove(name);
        if (changed == 0) {
            ObjectNode now = entry(name);
            String ended = now == null ? state : now.path("state").asText();
            throw new FileEndedException(name, ENDED.contains(ended) ? ended : "cancelled");
        }
        entry.put("state", stateAfter(state, next));
        entry.put("control", next == null ? null : next.label());
        return entry;
    }

    /** The state a file shows right after an action, before its rows next say where they stand. */
    private static String stateAfter(String state, Control control) {
        if (control == Control.PAUSED) {
            return "paused";
        }
        if (control == Control.CANCELLED) {
            return "cancelling";
        }
        return "paused".equals(state) ? "running" : state;
    }


    /** The body of an answer that is not a file's entry: {"error": "NOT_FOUND", "message": "..."}. */
    public static Map<String, String> error(String error, String message) {
        return Map.of("error", error, "message", message);
    }

    private CallLedger ledger() {
        return CallLedger.of(context);
    }

    private static String text(ObjectNode entry) {
        try {
            return Json.MAPPER.writeValueAsString(entry);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static ObjectNode parse(String text) {
        try {
            return (ObjectNode) Json.AS_WRITTEN.readTree(text);
        } catch (IOException | ClassCastException e) {
            return null;
        }
    }
}
