package io.zapi.sendcall.inbox;

import java.io.BufferedInputStream;
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
import java.util.function.LongSupplier;
import java.util.function.Supplier;

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

import io.zapi.sendcall.pipeline.InvalidRequestException;
import io.zapi.sendcall.pipeline.Json;
import io.zapi.sendcall.pipeline.Utf8;

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
    private Supplier<String> atTheEnd = () -> null;
    private long size;
    private LongSupplier bytesRead = () -> 0;

    /** Stops taking rows once this says so (the module is shutting down); the file is then interrupted. */
    RequestFile stopWhen(BooleanSupplier stopping) {
        this.stopping = stopping;
        return this;
    }

    /**
     * Asked once the file was read to its end: a reason why it still cannot be taken as read (it changed meanwhile),
     * or null. A reason ends the file with one unreadable row saying so.
     */
    RequestFile atTheEnd(Supplier<String> check) {
        this.atTheEnd = check;
        return this;
    }

    /** The file's size when it was opened, and how many of its bytes have been read so far (from any thread). */
    RequestFile measuredBy(long size, LongSupplier bytesRead) {
        this.size = size;
        this.bytesRead = bytesRead;
        return this;
    }

    /** The file's size in bytes when it was opened; 0 for what was never opened. */
    public long getSize() {
        return size;
    }

    /** Bytes read from the file so far: ahead of the rows handed out by at most the readers' buffers (64 KiB). */
    public long getBytesRead() {
        return bytesRead.getAsLong();
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

    /**
     * For a reader holding rows read ahead ({@link PrecheckedRows}): once the module is stopping, the file is
     * interrupted now, as {@link #hasNext()} would do before its next row, even if those rows were its last. True then.
     */
    boolean interruptIfStopping() {
        if (!interrupted && stopping.getAsBoolean()) {
            interrupted = true;
            done = true;
            next = null;
        }
        return interrupted;
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
            if (next == null && !done) {
                String reason = atTheEnd.get();
                if (reason != null) {
                    next = giveUp(null, reason);
                }
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
                    parser = Json.REQUESTS.createParser(new Utf8.CheckedInputStream(in));
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
     * Cells are separated by a comma, a semicolon or a tab, told by the header row, whose names of request fields
     * match in any case: what spreadsheets save. A UTF-16 file is rejected whole with a reason saying what to do.
     */
    static final class CsvFile extends RequestFile {
        static final String UTF16_REASON = "file is UTF-16 (as a spreadsheet saves \"Unicode text\"), but a CSV "
                                           + "file is read as UTF-8: save it as UTF-8 (Excel: \"CSV UTF-8\") and "
                                           + "drop it again";
        /** The request fields a CSV header may name, matched in any case. */
        private static final List<String> FIELDS = List.of("phone", "callDuration", "id", "callAudioUrl",
                "instance");
        /** How much of the file's start is looked at to tell its encoding and separator. */
        private static final int HEADER_PEEK_BYTES = 64 * 1024;
        private static final String NO_ROWS = "CSV file has no rows: expected a header row naming phone (and "
                                              + "optionally callDuration, id, callAudioUrl, instance), then one row "
                                              + "per call";
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
                    BufferedInputStream buffered = new BufferedInputStream(in, HEADER_PEEK_BYTES);
                    byte[] start = peek(buffered);
                    if (isUtf16(start)) {
                        return giveUp(null, UTF16_REASON);
                    }
                    char separator = separator(start);
                    rows = CSV.readerForMapOf(String.class)
                            .with(CsvSchema.emptySchema().withHeader().withColumnSeparator(separator))
                            .readValues(new Utf8.CheckedInputStream(buffered, Json.MAX_REQUEST_BYTES, separator));
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
                        request.put(canonical(name), value);
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
            List<String> fields = names.stream().map(CsvFile::canonical).toList();
            if (!fields.contains("phone")) {
                return "CSV header has no phone column: found " + names;
            }
            Set<String> seen = new HashSet<>();
            for (String field : fields) {
                if (!field.isEmpty() && !seen.add(field)) {
                    // as with a duplicated JSON key: which of two phones would we call?
                    return "CSV header names the column " + field + " twice: found " + names;
                }
            }
            return null;
        }

        /** A column naming a request field in any case ("Phone", "CALLDURATION") is that field; others as they are. */
        static String canonical(String column) {
            for (String field : FIELDS) {
                if (field.equalsIgnoreCase(column)) {
                    return field;
                }
            }
            return column;
        }

        /** Reads the first bytes without consuming them: the header row, or its start. */
        private static byte[] peek(BufferedInputStream in) throws IOException {
            in.mark(HEADER_PEEK_BYTES);
            byte[] start = in.readNBytes(HEADER_PEEK_BYTES);
            in.reset();
            return start;
        }

        /**
         * UTF-16, as Excel's "Unicode text" and some exports write: a byte order mark FF FE or FE FF, or a header
         * whose first two characters each have a zero byte (no header name starts with a NUL character).
         */
        static boolean isUtf16(byte[] start) {
            if (start.length >= 2 && ((start[0] & 0xFF) == 0xFF && (start[1] & 0xFF) == 0xFE
                                      || (start[0] & 0xFF) == 0xFE && (start[1] & 0xFF) == 0xFF)) {
                return true;
            }
            return start.length >= 4 && (start[0] != 0 && start[1] == 0 && start[2] != 0 && start[3] == 0
                                         || start[0] == 0 && start[1] != 0 && start[2] == 0 && start[3] != 0);
        }

        /**
         * The column separator, told by the header row: whichever of comma, semicolon (what a spreadsheet writes
         * where the decimal mark is a comma, as in Brazil) and tab it holds most often outside quotes; a comma when
         * it holds none (a single column) or as many of two.
         */
        static char separator(byte[] start) {
            int commas = 0;
            int semicolons = 0;
            int tabs = 0;
            boolean quoted = false;
            for (byte b : start) {
                if (b == '"') {
                    quoted = !quoted;
                } else if (!quoted && (b == '\n' || b == '\r')) {
                    break;
                } else if (!quoted) {
                    commas += b == ',' ? 1 : 0;
                    semicolons += b == ';' ? 1 : 0;
                    tabs += b == '\t' ? 1 : 0;
                }
            }
            if (semicolons > commas && semicolons >= tabs) {
                return ';';
            }
            return tabs > commas && tabs > semicolons ? '\t' : ',';
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

    /** An inbox entry that is not a regular file (a FIFO, a symbolic link, a folder): never opened. */
    static final class SetAside extends RequestFile {
        private final String reason;

        SetAside(String reason) {
            this.reason = reason;
        }

        @Override
        protected RequestRow read() {
            return giveUp(null, reason);
        }

        @Override
        public void close() {
            // nothing was opened
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
