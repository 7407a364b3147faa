package io.zapi.sendcall;

import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Set;
import java.util.function.BooleanSupplier;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.csv.CsvFactory;
import com.fasterxml.jackson.dataformat.csv.CsvMapper;
import com.fasterxml.jackson.dataformat.csv.CsvParser;
import com.fasterxml.jackson.dataformat.csv.CsvReadException;
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
    private static final CsvMapper CSV = CsvMapper.builder(CsvFactory.builder()
                    .streamReadConstraints(Json.LIMITS)
                    .build())
            .enable(CsvParser.Feature.TRIM_SPACES)
            .enable(CsvParser.Feature.SKIP_EMPTY_LINES)
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

    /**
     * One JSON object, or an array of them streamed element by element. An element that is JSON but no request we may
     * read (a duplicated key, a number out of range, over {@link Json#MAX_REQUEST_BYTES}) is rejected alone; what is
     * not JSON, or not UTF-8, ends the file there.
     */
    static final class JsonFile extends RequestFile {
        private final InputStream in;
        private JsonParser parser;
        private boolean array;
        private int index;
        /** The element being read: the one an error belongs to. */
        private int reading;

        JsonFile(InputStream in) {
            this.in = in;
        }

        @Override
        protected RequestRow read() throws IOException {
            try {
                if (parser == null) {
                    // created here, not in the constructor: it reads the first bytes, which may not be UTF-8
                    parser = Json.REQUESTS.createParser(new Utf8.CheckedInputStream(in, 0, false));
                    JsonToken first = parser.nextToken();
                    if (first == null) {
                        return giveUp(null, "file is empty: expected a JSON object or an array of objects");
                    }
                    if (first != JsonToken.START_ARRAY) {
                        // a lone value is the whole file: it has no index
                        RequestRow row = request(null);
                        if (parser.nextToken() != null) {
                            return giveUp(null, "unexpected content after the JSON value (line "
                                                + parser.currentLocation().getLineNr() + ")");
                        }
                        return row;
                    }
                    array = true;
                }
                if (!array) {
                    return null;
                }
                reading = index + 1;
                JsonToken token = parser.nextToken();
                if (token == JsonToken.END_ARRAY) {
                    if (parser.nextToken() != null) {
                        return giveUp(reading, "unexpected content after the JSON array");
                    }
                    array = false;
                    return null;
                }
                if (token == null) {
                    return giveUp(reading, "file ends inside the JSON array");
                }
                index = reading;
                return request(index);
            } catch (JsonProcessingException e) {
                return giveUp(array ? reading : null, "file is not valid JSON: " + reason(e));
            } catch (Utf8.UnreadableInputException e) {
                return giveUp(array ? reading : null, "file could not be read to its end: " + e.getMessage());
            }
        }

        private RequestRow request(Integer rowIndex) throws IOException {
            try {
                return RequestRow.parsed(rowIndex, Json.readRequest(parser));
            } catch (InvalidRequestException e) {
                return RequestRow.unreadable(rowIndex, null, e.getMessage());
            }
        }

        @Override
        public void close() throws IOException {
            if (parser != null) {
                parser.close();
            }
            in.close();
        }
    }

    /**
     * One JSON object per line; blank lines are skipped; a bad line is rejected alone, whatever is wrong with it: not
     * JSON, not UTF-8, longer than {@link Json#MAX_REQUEST_BYTES} (the rest of such a line is skipped, not held).
     * Lines end at LF, CR LF or CR, as for {@link java.io.BufferedReader#readLine()}.
     */
    static final class JsonLinesFile extends RequestFile {
        private final InputStream in;
        private final byte[] buffer = new byte[64 * 1024];
        private int position;
        private int limit;
        private boolean skipLineFeed;
        /** The current line, up to {@link Json#MAX_REQUEST_BYTES} of it. */
        private byte[] line = new byte[1024];
        private int length;
        private boolean tooLong;
        private int lineNumber;
        private boolean anyRequest;

        JsonLinesFile(InputStream in) {
            this.in = in;
        }

        @Override
        protected RequestRow read() throws IOException {
            while (nextLine()) {
                lineNumber++;
                if (tooLong) {
                    anyRequest = true;
                    return RequestRow.unreadable(lineNumber, null, "line " + lineNumber + " is longer than "
                                                                   + Json.MAX_REQUEST_BYTES
                                                                   + " bytes: it was skipped, not read");
                }
                int start = lineNumber == 1 && startsWithBom() ? 3 : 0;
                String text;
                try {
                    text = Utf8.decode(line, start, length - start);
                } catch (Utf8.MalformedException e) {
                    anyRequest = true;
                    return RequestRow.unreadable(lineNumber, new String(line, start, length - start,
                            StandardCharsets.UTF_8), "line " + lineNumber + " is not valid UTF-8: " + e.getMessage());
                }
                if (isBlank(text)) {
                    continue;
                }
                anyRequest = true;
                try {
                    return RequestRow.parsed(lineNumber, Json.readRequest(text));
                } catch (JsonProcessingException e) {
                    return RequestRow.unreadable(lineNumber, text, "line " + lineNumber + " is not valid JSON: "
                                                                   + e.getOriginalMessage());
                } catch (InvalidRequestException e) {
                    return RequestRow.unreadable(lineNumber, text, "line " + lineNumber + ": " + e.getMessage());
                }
            }
            return anyRequest ? null : giveUp(null, "file is empty: expected one JSON object per line");
        }

        /** Reads the next line into {@link #line}; false at the end of the file. */
        private boolean nextLine() throws IOException {
            length = 0;
            tooLong = false;
            boolean any = false;
            while (true) {
                if (position == limit) {
                    limit = Math.max(in.read(buffer), 0);
                    position = 0;
                    if (limit == 0) {
                        return any;
                    }
                }
                if (skipLineFeed) {
                    skipLineFeed = false;
                    if (buffer[position] == '\n') {
                        position++;
                        continue;
                    }
                }
                any = true;
                int start = position;
                while (position < limit && buffer[position] != '\n' && buffer[position] != '\r') {
                    position++;
                }
                keep(start, position - start);
                if (position < limit) {
                    skipLineFeed = buffer[position] == '\r';
                    position++;
                    return true;
                }
            }
        }

        /** Keeps the line's bytes while it is within the limit; past it, only notes that it is too long. */
        private void keep(int start, int count) {
            if (tooLong || count == 0) {
                return;
            }
            if (length + count > Json.MAX_REQUEST_BYTES) {
                tooLong = true;
                return;
            }
            if (length + count > line.length) {
                line = Arrays.copyOf(line, Math.min(Json.MAX_REQUEST_BYTES, Math.max(line.length * 2, length + count)));
            }
            System.arraycopy(buffer, start, line, length, count);
            length += count;
        }

        private boolean startsWithBom() {
            return length >= 3 && (line[0] & 0xFF) == 0xEF && (line[1] & 0xFF) == 0xBB && (line[2] & 0xFF) == 0xBF;
        }

        /** Only JSON's own whitespace: a line of U+2028 or the like is no blank line but a bad one. */
        private static boolean isBlank(String text) {
            for (int i = 0; i < text.length(); i++) {
                char c = text.charAt(i);
                if (c != ' ' && c != '\t') {
                    return false;
                }
            }
            return true;
        }

        @Override
        public void close() throws IOException {
            in.close();
        }
    }

    /**
     * RFC 4180 CSV with a header row naming the columns; values stay text and are judged by the validator. A row with
     * more or fewer cells than the header has columns is rejected alone; a quoting error, bytes that are not UTF-8 or
     * a row over {@link Json#MAX_REQUEST_BYTES} end the file there, since where the next row begins is then unknown.
     */
    static final class CsvFile extends RequestFile {
        private static final String NO_ROWS = "CSV file has no rows: expected a header row naming phone (and "
                                              + "optionally callDuration, id), then one row per call";
        private final InputStream in;
        private MappingIterator<Map<String, String>> rows;
        private int index;
        private boolean headerChecked;

        CsvFile(InputStream in) {
            this.in = in;
        }

        @Override
        protected RequestRow read() throws IOException {
            try {
                if (rows == null) {
                    // opened here, not in the constructor: it reads the first bytes, which may be no CSV at all
                    rows = CSV.readerForMapOf(String.class)
                            .with(CsvSchema.emptySchema().withHeader())
                            .readValues(new Utf8.CheckedInputStream(in, Json.MAX_REQUEST_BYTES, true));
                }
                if (!rows.hasNextValue()) {
                    return index == 0 ? giveUp(null, NO_ROWS) : null;
                }
                if (!headerChecked) {
                    headerChecked = true;
                    String problem = headerProblem(headerNames());
                    if (problem != null) {
                        return giveUp(null, problem);
                    }
                }
                Map<String, String> columns;
                try {
                    columns = rows.nextValue();
                } catch (CsvReadException e) {
                    if (!e.getOriginalMessage().startsWith("Too many entries")) {
                        throw e;
                    }
                    // more cells than columns: the parser skips to the end of the row, the next one is read as usual
                    index++;
                    return RequestRow.unreadable(index, null, "CSV row " + index + " has more cells than the "
                                                              + headerNames().size() + " columns of the header");
                }
                index++;
                if (columns.size() < headerNames().size()) {
                    return RequestRow.unreadable(index, null, "CSV row " + index + " has " + columns.size()
                                                              + " cell(s), the header has " + headerNames().size()
                                                              + " columns");
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
                if (!headerRead()) {
                    // Jackson's words for a file with no line but blank ones
                    return giveUp(null, e.getOriginalMessage().startsWith("Empty header line") ? NO_ROWS
                            : "CSV header row could not be read: " + reason(e));
                }
                return giveUp(index + 1, "CSV row " + (index + 1) + " could not be read: " + reason(e));
            } catch (Utf8.UnreadableInputException e) {
                return giveUp(headerRead() ? index + 1 : null, "file could not be read to its end: "
                                                               + e.getMessage());
            }
        }

        private static String headerProblem(List<String> names) {
            if (!names.contains("phone")) {
                return "CSV header has no phone column: found " + names;
            }
            Set<String> seen = new HashSet<>();
            for (String name : names) {
                if (!name.isEmpty() && !seen.add(name)) {
                    // as with a duplicated JSON key: which of two phones would we call?
                    return "CSV header names the column " + name + " twice: found " + names;
                }
            }
            return null;
        }

        private boolean headerRead() {
            return rows != null && ((CsvSchema) rows.getParser().getSchema()).size() > 0;
        }

        private List<String> headerNames() {
            CsvSchema schema = (CsvSchema) rows.getParser().getSchema();
            return schema.getColumnNames();
        }

        @Override
        public void close() throws IOException {
            if (rows != null) {
                rows.close();
            }
            in.close();
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
