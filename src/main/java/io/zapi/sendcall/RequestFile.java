package io.zapi.sendcall;

import java.io.BufferedReader;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Iterator;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.function.BooleanSupplier;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.csv.CsvMapper;
import com.fasterxml.jackson.dataformat.csv.CsvParser;
import com.fasterxml.jackson.dataformat.csv.CsvSchema;

/**
 * The requests of one inbox file, read one at a time so that a file of any size goes through in bounded memory.
 * A request that cannot be parsed comes out as an unreadable {@link RequestRow}; when the rest of the file cannot be
 * read either, {@link #isUnreadable()} turns true and iteration ends.
 */
public abstract class RequestFile implements Iterator<RequestRow>, Closeable {

    public static final String ACCEPTED_TYPES = ".json (one object or an array of objects), .jsonl / .ndjson "
                                                + "(one object per line) and .csv (header row with phone, "
                                                + "callDuration, id)";
    private static final CsvMapper CSV = CsvMapper.builder()
            .enable(CsvParser.Feature.TRIM_SPACES)
            .enable(CsvParser.Feature.SKIP_EMPTY_LINES)
            .enable(CsvParser.Feature.FAIL_ON_MISSING_HEADER_COLUMNS)
            .build();

    private RequestRow next;
    private boolean done;
    private String unreadableReason;
    private boolean interrupted;
    private BooleanSupplier stopping = () -> false;

    /** Stops taking rows once this says so (the module is shutting down); the file is then interrupted. */
    RequestFile stopWhen(BooleanSupplier stopping) {
        this.stopping = stopping;
        return this;
    }

    /** True when the module began shutting down before the file was read to its end: it stays in the inbox. */
    public boolean isInterrupted() {
        return interrupted;
    }

    /** True once the file turned out unreadable past some point: it then goes to inbox/.error/. */
    public boolean isUnreadable() {
        return unreadableReason != null;
    }

    public String getUnreadableReason() {
        return unreadableReason;
    }

    /** Reads the next request, or returns null at the end. */
    protected abstract RequestRow read() throws IOException;

    /** Marks the rest of the file unreadable and returns the row that says so. */
    protected RequestRow giveUp(Integer index, String reason) {
        unreadableReason = reason;
        done = true;
        return RequestRow.unreadable(index, null, reason);
    }

    @Override
    public boolean hasNext() {
        if (next == null && !done && stopping.getAsBoolean()) {
            interrupted = true;
            done = true;
        }
        if (next == null && !done) {
            try {
                next = read();
            } catch (IOException | RuntimeException e) {
                next = giveUp(null, "file could not be read: " + e.getMessage());
            }
            if (next == null) {
                done = true;
            }
        }
        return next != null;
    }

    @Override
    public RequestRow next() {
        if (!hasNext()) {
            throw new NoSuchElementException();
        }
        RequestRow row = next;
        next = null;
        return row;
    }

    static String reason(JsonProcessingException e) {
        var location = e.getLocation();
        String where = location == null ? "" : " (line " + location.getLineNr() + ", column " + location.getColumnNr() + ")";
        return e.getOriginalMessage() + where;
    }

    /** One JSON object, or an array of them streamed element by element. */
    static final class JsonFile extends RequestFile {
        private final JsonParser parser;
        private boolean array;
        private int index;

        JsonFile(InputStream in) {
            try {
                parser = Json.MAPPER.createParser(in);
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }

        @Override
        protected RequestRow read() throws IOException {
            try {
                if (!array) {
                    if (index > 0) {
                        return null;
                    }
                    JsonToken first = parser.nextToken();
                    if (first == null) {
                        return giveUp(null, "file is empty: expected a JSON object or an array of objects");
                    }
                    if (first == JsonToken.START_ARRAY) {
                        array = true;
                        return read();
                    }
                    index++;
                    JsonNode value = Json.MAPPER.readTree(parser);
                    if (parser.nextToken() != null) {
                        return giveUp(null, "unexpected content after the JSON value (line "
                                            + parser.currentLocation().getLineNr() + ")");
                    }
                    // a lone object is the whole file: it has no index
                    return RequestRow.parsed(null, value);
                }
                JsonToken token = parser.nextToken();
                if (token == JsonToken.END_ARRAY) {
                    if (parser.nextToken() != null) {
                        return giveUp(index + 1, "unexpected content after the JSON array");
                    }
                    return null;
                }
                if (token == null) {
                    return giveUp(index + 1, "file ends inside the JSON array");
                }
                JsonNode element = Json.MAPPER.readTree(parser);
                index++;
                return RequestRow.parsed(index, element);
            } catch (JsonProcessingException e) {
                return giveUp(array ? index + 1 : null, "file is not valid JSON: " + reason(e));
            }
        }

        @Override
        public void close() throws IOException {
            parser.close();
        }
    }

    /** One JSON object per line; blank lines are skipped; a bad line is rejected alone. */
    static final class JsonLinesFile extends RequestFile {
        private final BufferedReader reader;
        private int lineNumber;

        JsonLinesFile(InputStream in) {
            // a malformed byte sequence is an error, not a silent U+FFFD in a phone number
            var decoder = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT);
            reader = new BufferedReader(new InputStreamReader(in, decoder));
        }

        @Override
        protected RequestRow read() throws IOException {
            String line;
            try {
                do {
                    line = reader.readLine();
                    lineNumber++;
                    if (line == null) {
                        return null;
                    }
                    if (lineNumber == 1 && line.startsWith("\uFEFF")) {
                        line = line.substring(1);
                    }
                } while (line.isBlank());
            } catch (CharacterCodingException e) {
                return giveUp(lineNumber, "file is not valid UTF-8 at line " + lineNumber);
            }
            try {
                return RequestRow.parsed(lineNumber, Json.ONE_VALUE.readTree(line));
            } catch (JsonProcessingException e) {
                return RequestRow.unreadable(lineNumber, line, "line " + lineNumber + " is not valid JSON: "
                                                               + e.getOriginalMessage());
            }
        }

        @Override
        public void close() throws IOException {
            reader.close();
        }
    }

    /** RFC 4180 CSV with a header row naming the columns; values stay text and are judged by the validator. */
    static final class CsvFile extends RequestFile {
        private final MappingIterator<Map<String, String>> rows;
        private int index;

        CsvFile(InputStream in) {
            try {
                rows = CSV.readerForMapOf(String.class)
                        .with(CsvSchema.emptySchema().withHeader())
                        .readValues(in);
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }

        @Override
        protected RequestRow read() throws IOException {
            try {
                if (!rows.hasNextValue()) {
                    if (index == 0) {
                        return giveUp(null, "CSV file has no rows: expected a header row naming phone "
                                            + "(and optionally callDuration, id), then one row per call");
                    }
                    return null;
                }
                Map<String, String> columns = rows.nextValue();
                index++;
                if (index == 1 && !headerNames().contains("phone")) {
                    return giveUp(null, "CSV header has no phone column: found " + headerNames());
                }
                ObjectNode request = Json.MAPPER.createObjectNode();
                // an empty cell is an absent value: CSV has no other way to leave one out
                columns.forEach((name, value) -> {
                    if (value != null && !value.isEmpty()) {
                        request.put(name, value);
                    }
                });
                return RequestRow.parsed(index, request);
            } catch (JsonProcessingException e) {
                index++;
                return giveUp(index, "CSV row " + index + " could not be read: " + reason(e));
            }
        }

        private java.util.List<String> headerNames() {
            CsvSchema schema = (CsvSchema) rows.getParser().getSchema();
            return schema.getColumnNames();
        }

        @Override
        public void close() throws IOException {
            rows.close();
        }
    }

    /** A file type we do not read: one rejected row saying which types are accepted. */
    static final class Unsupported extends RequestFile {
        private final InputStream in;
        private final String fileName;

        Unsupported(InputStream in, String fileName) {
            this.in = in;
            this.fileName = fileName;
        }

        @Override
        protected RequestRow read() {
            return giveUp(null, "unsupported file type: " + fileName + " (accepted: " + ACCEPTED_TYPES + ")");
        }

        @Override
        public void close() throws IOException {
            in.close();
        }
    }
}
