package io.zapi.sendcall;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Locale;
import java.util.function.BooleanSupplier;

import org.apache.camel.Body;
import org.apache.camel.Exchange;
import org.apache.camel.Header;
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

    /** Opens the file by its type; a type we do not read yields one unreadable row naming the accepted types. */
    public RequestFile open(@Body InputStream in, @Header(Exchange.FILE_NAME) String fileName) {
        return reader(in, fileName).stopWhen(stopping);
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

    /** The file's SHA-256, which names its rows for idempotency: the same content is the same requests. */
    public String sha256(@Body InputStream in) throws IOException {
        try (in) {
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
