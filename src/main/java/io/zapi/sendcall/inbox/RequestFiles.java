package io.zapi.sendcall.inbox;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Locale;
import java.util.function.BooleanSupplier;

import org.apache.camel.Exchange;
import org.apache.camel.component.file.FileComponent;
import org.apache.camel.component.file.GenericFile;

/** Opens an inbox file as a stream of requests, choosing the reader by the file's type. */
public class RequestFiles {

    /** The longest file name most file systems take (ext4, XFS, btrfs, APFS, NTFS): 255 bytes. */
    static final int MAX_NAME_BYTES = 255;
    /** What the inbox route puts before a kept original's name: yyyyMMdd-HHmmssSSS- */
    static final int KEPT_PREFIX_BYTES = "yyyyMMdd-HHmmssSSS-".length();

    private final BooleanSupplier stopping;

    /** @param stopping true once the module is shutting down: a file being read then stops taking new rows */
    public RequestFiles(BooleanSupplier stopping) {
        this.stopping = stopping;
    }

    /** Exchange property: the inbox file's size and time when it was taken, before it was hashed. */
    static final String TAKEN = "fileTaken";

    /**
     * Opens the file by its type; a type we do not read yields one unreadable row naming the accepted types. Read to
     * its end, the file is looked at again: if it changed since it was taken, the reader gives up saying so, since
     * the report could not tell what it holds.
     */
    public RequestFile open(Exchange exchange) throws IOException {
        Path path = path(exchange);
        BasicFileAttributes taken = exchange.getProperty(TAKEN, BasicFileAttributes.class);
        // never through a symbolic link: one put in place of the file since it was taken is not followed either
        ReadBytes in = new ReadBytes(Files.newInputStream(path, LinkOption.NOFOLLOW_LINKS));
        return reader(in, exchange.getMessage().getHeader(Exchange.FILE_NAME, String.class))
                .stopWhen(stopping)
                .atTheEnd(() -> changedSince(path, taken))
                .measuredBy(taken != null ? taken.size() : Files.size(path), in::count);
    }

    /**
     * Counts the bytes read through it, for the file's progress. The count is read by another thread (the report's
     * ticker) than the one reading, hence volatile; only the reading thread writes it.
     */
    private static final class ReadBytes extends FilterInputStream {
        private volatile long count;

        ReadBytes(InputStream in) {
            super(in);
        }

        long count() {
            return count;
        }

        @Override
        public int read() throws IOException {
            int b = super.read();
            if (b >= 0) {
                count++;
            }
            return b;
        }

        @Override
        public int read(byte[] buffer, int offset, int length) throws IOException {
            int read = super.read(buffer, offset, length);
            if (read > 0) {
                count += read;
            }
            return read;
        }

        @Override
        public long skip(long n) throws IOException {
            long skipped = super.skip(n);
            count += skipped;
            return skipped;
        }
    }

    /** Reads a stream as an inbox file of this name is read, without looking at any file at its end. */
    public RequestFile open(InputStream in, String fileName) {
        return reader(in, fileName).stopWhen(stopping);
    }

    /** What an inbox entry that is not a regular file becomes: one rejected row saying why, nothing opened. */
    public RequestFile setAside(String reason) {
        return new RequestFile.SetAside(reason);
    }

    /** Why the file cannot be reported as read: it changed after it was taken. Null when it did not. */
    static String changedSince(Path path, BasicFileAttributes taken) {
        if (taken == null) {
            return null;
        }
        try {
            BasicFileAttributes now = Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            if (now.size() == taken.size() && now.lastModifiedTime().equals(taken.lastModifiedTime())) {
                return null;
            }
            return "the file changed while it was being read (" + taken.size() + " bytes when it was taken, "
                   + now.size() + " bytes now): what was added or rewritten may not have been read. Write a file "
                   + "under a .part or .tmp name and rename it when it is complete";
        } catch (IOException e) {
            return "the file changed while it was being read: it could not be looked at again (" + e + ")";
        }
    }

    private static Path path(Exchange exchange) {
        GenericFile<?> file = exchange.getProperty(FileComponent.FILE_EXCHANGE_FILE, GenericFile.class);
        return Path.of(file.getAbsoluteFilePath());
    }

    private static RequestFile reader(InputStream in, String fileName) {
        String name = fileName.toLowerCase(Locale.ROOT);
        if (name.endsWith(".json")) {
            return new RequestFile.JsonFile(in);
        }
        if (name.endsWith(".jsonl") || name.endsWith(".ndjson")) {
            return new RequestFile.JsonLinesFile(in);
        }
        if (name.endsWith(".csv")) {
            return new RequestFile.CsvFile(in);
        }
        return new RequestFile.Unsupported(in, fileName);
    }

    /**
     * The file's SHA-256, which names its rows for idempotency: the same content is the same requests. Its size and
     * time are noted first ({@link #TAKEN}), to tell at its end whether it changed while it was read.
     */
    public String sha256(Exchange exchange) throws IOException {
        Path path = path(exchange);
        exchange.setProperty(TAKEN, Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS));
        try (InputStream in = Files.newInputStream(path, LinkOption.NOFOLLOW_LINKS)) {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            byte[] buffer = new byte[65536];
            for (int read = in.read(buffer); read >= 0; read = in.read(buffer)) {
                digest.update(buffer, 0, read);
            }
            return HexFormat.of().formatHex(digest.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * The inbox file's name as it is kept in .done/ or .error/, after the time prefix: the name itself, unless the
     * two together would be too long a file name. Then the original could not be moved, would stay in the inbox and
     * be read again at every poll, so the name is shortened (the record and the report keep it whole).
     */
    public String keptName(Exchange exchange) {
        GenericFile<?> file = exchange.getProperty(FileComponent.FILE_EXCHANGE_FILE, GenericFile.class);
        return fit(file.getFileName(), MAX_NAME_BYTES - KEPT_PREFIX_BYTES);
    }

    /**
     * The name itself when it takes at most {@code maxBytes} bytes in UTF-8; else as much of its start as fits,
     * then "~" and 8 hex digits of its SHA-256 (so two long names that start alike stay apart), then its extension.
     */
    static String fit(String name, int maxBytes) {
        if (name.getBytes(StandardCharsets.UTF_8).length <= maxBytes) {
            return name;
        }
        int dot = name.lastIndexOf('.');
        String extension = dot > 0 && name.length() - dot <= 16 ? name.substring(dot) : "";
        String suffix = "~" + HexFormat.of().formatHex(nameHash(name), 0, 4) + extension;
        int room = maxBytes - suffix.getBytes(StandardCharsets.UTF_8).length;
        StringBuilder head = new StringBuilder();
        int bytes = 0;
        for (int i = 0; i < name.length(); ) {
            int codePoint = name.codePointAt(i);
            int size = new String(Character.toChars(codePoint)).getBytes(StandardCharsets.UTF_8).length;
            if (bytes + size > room) {
                break;
            }
            head.appendCodePoint(codePoint);
            bytes += size;
            i += Character.charCount(codePoint);
        }
        return head + suffix;
    }

    private static byte[] nameHash(String name) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(name.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
