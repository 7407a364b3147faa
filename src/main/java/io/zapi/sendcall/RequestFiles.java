package io.zapi.sendcall;

import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Locale;
import java.util.function.BooleanSupplier;

import org.apache.camel.Body;
import org.apache.camel.Exchange;
import org.apache.camel.Header;

/** Opens an inbox file as a stream of requests, choosing the reader by the file's type. */
public class RequestFiles {

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

}
