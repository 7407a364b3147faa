package io.zapi.sendcall;

import java.io.InputStream;
import java.util.Locale;

import org.apache.camel.Body;
import org.apache.camel.Exchange;
import org.apache.camel.Header;

/** Opens an inbox file as a stream of requests, choosing the reader by the file's type. */
public class RequestFiles {

    /** Opens the file by its type; a type we do not read yields one unreadable row naming the accepted types. */
    public RequestFile open(@Body InputStream in, @Header(Exchange.FILE_NAME) String fileName) {
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

}
