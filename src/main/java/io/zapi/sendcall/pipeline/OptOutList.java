package io.zapi.sendcall.pipeline;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import org.apache.camel.ExchangeProperty;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.zapi.sendcall.runtime.Settings;
import io.zapi.sendcall.runtime.StartupException;

/**
 * The phones that must never be called (zapi.opt-out-file): one per line, formatted as a request's phone may be, blank
 * lines and lines starting with {@code #} ignored. Checked for each request right before its key is claimed, so a
 * number added stops every request not called yet, whatever its input. The file is read again when its time, size or
 * identity changes (a ConfigMap swaps its files), looked at no more than once a {@link #CHECK_INTERVAL_MS}: one stat
 * on the request path, no thread of its own. A file that cannot be read later keeps the list read last.
 */
public class OptOutList {

    public static final String SETTING = "zapi.opt-out-file";
    public static final String REASON = "opted out: this phone is on the opt-out list (" + SETTING + "), so it was "
                                        + "not called";
    /** How long a change of the file may take to be seen. */
    static final long CHECK_INTERVAL_MS = 1000;

    private static final Logger LOG = LoggerFactory.getLogger(OptOutList.class);

    /** Null: no list (the setting is empty), nothing to check. */
    private final Path file;
    private volatile Set<String> phones = Set.of();
    /** The file as it was when last read. */
    private FileVersion readVersion;
    private volatile long nextCheckNanos;
    /** Warned that the file cannot be read: once, until it can be again. */
    private boolean unreadableWarned;

    private record FileVersion(Object fileKey, FileTime modified, long size) {
    }

    private OptOutList(Path file) {
        this.file = file;
    }

    /**
     * The list the setting names, read now; none when it is empty. A list that cannot be read stops the start-up: the
     * user asked for numbers not to be called, and the module cannot know them.
     */
    public static OptOutList read(String setting) {
        if (setting == null || setting.isBlank()) {
            return new OptOutList(null);
        }
        OptOutList list = new OptOutList(Path.of(setting.trim()));
        try {
            synchronized (list) {
                list.load();
            }
        } catch (NoSuchFileException e) {
            throw new StartupException(SETTING + " (env " + Settings.envName(SETTING) + ") names " + list.file
                                       + ", which does not exist: create it (one phone number per line), or leave "
                                       + "the setting empty for no opt-out list.");
        } catch (IOException e) {
            throw new StartupException(SETTING + " (env " + Settings.envName(SETTING) + ") names " + list.file
                                       + ", which cannot be read (" + e + "): make it a readable file of phone "
                                       + "numbers, one per line, or leave the setting empty for no opt-out list.");
        }
        return list;
    }

    /** The pipeline's step (routes/send-call.camel.yaml): a request for a phone on the list is rejected. */
    public void check(@ExchangeProperty("callRequest") CallRequest request) throws InvalidRequestException {
        if (file != null && contains(request.phone())) {
            throw new InvalidRequestException(REASON);
        }
    }

    /** Whether this phone (digits only, as {@link CallRequest#phone}) is on the list, as the file says now. */
    public boolean contains(String phone) {
        if (file == null) {
            return false;
        }
        if (System.nanoTime() - nextCheckNanos >= 0) {
            readIfChanged();
        }
        return phones.contains(phone);
    }

    /** Requests that come while the file is read wait for it: none goes by a list older than the file. */
    private synchronized void readIfChanged() {
        if (System.nanoTime() - nextCheckNanos < 0) {
            return;
        }
        try {
            if (!versionOf(file).equals(readVersion)) {
                load();
            }
            unreadableWarned = false;
        } catch (IOException e) {
            if (!unreadableWarned) {
                unreadableWarned = true;
                LOG.warn("{} {} cannot be read ({}): the module keeps the list it read last ({} numbers) until it "
                         + "can", SETTING, file, e, phones.size());
            }
        }
        nextCheckNanos = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(CHECK_INTERVAL_MS);
    }

    /** Reads the file; a line that is no phone is skipped, named by its number only: the lines are personal data. */
    private void load() throws IOException {
        // taken before the content: a change while reading is seen at the next check
        FileVersion version = versionOf(file);
        // decoded leniently: a stray byte in a comment must not lose the list; in a number it makes it invalid
        String text = new String(Files.readAllBytes(file), StandardCharsets.UTF_8);
        List<String> lines = text.startsWith(Utf8.BOM) ? text.substring(Utf8.BOM.length()).lines().toList()
                : text.lines().toList();
        Set<String> read = new HashSet<>();
        for (int index = 0; index < lines.size(); index++) {
            String line = lines.get(index).strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            try {
                read.add(RequestValidator.normalisedPhone(line));
            } catch (InvalidRequestException notAPhone) {
                LOG.warn("{} {}: line {} is not a phone number (10 to 15 digits once spaces, '+', '-', '.' and "
                         + "parentheses are removed), skipped", SETTING, file, index + 1);
            }
        }
        phones = Set.copyOf(read);
        readVersion = version;
        nextCheckNanos = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(CHECK_INTERVAL_MS);
        LOG.info("{} {}: {} numbers opted out", SETTING, file, read.size());
    }

    private static FileVersion versionOf(Path file) throws IOException {
        BasicFileAttributes attributes = Files.readAttributes(file, BasicFileAttributes.class);
        return new FileVersion(attributes.fileKey(), attributes.lastModifiedTime(), attributes.size());
    }
}
