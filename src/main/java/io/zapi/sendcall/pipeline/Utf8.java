package io.zapi.sendcall.pipeline;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * Requests are UTF-8 (RFC 8259 for JSON, and the CSV contract). Decoding is strict everywhere: a malformed, overlong or
 * surrogate sequence is an error, never a silent U+FFFD or a '/' smuggled in as C0 AF.
 */
public final class Utf8 {

    /** The byte order mark, as the text decoded from EF BB BF. */
    static final String BOM = "\uFEFF";

    private Utf8() {
    }

    /** Decodes strictly, or says at which byte the input stops being UTF-8. */
    public static String decode(byte[] bytes, int offset, int length) throws MalformedException {
        ByteBuffer in = ByteBuffer.wrap(bytes, offset, length);
        try {
            return strictDecoder().decode(in).toString();
        } catch (CharacterCodingException e) {
            // the decoder leaves the input at the sequence it could not decode
            int at = in.position();
            throw new MalformedException("byte " + (at - offset + 1) + " (0x"
                                         + String.format("%02X", bytes[at] & 0xFF) + ") is not part of a UTF-8 "
                                         + "character");
        }
    }

    /** Malformed and overlong sequences and encoded surrogates are errors, not U+FFFD. */
    private static CharsetDecoder strictDecoder() {
        return StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
    }

    /** True when every surrogate is half of a pair: the text can be written as UTF-8. */
    static boolean isWellFormed(String text) {
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < text.length() && Character.isLowSurrogate(text.charAt(i + 1))) {
                i++;
            } else if (Character.isSurrogate(c)) {
                return false;
            }
        }
        return true;
    }

    /**
     * JSON text with each unpaired surrogate written as its escape: a request may carry "\ud800" (valid JSON, but no
     * character), and Jackson writes it back as the bare char, which no UTF-8 encoder takes, so the record could not
     * be written. As an escape it is valid JSON again, and reads back as the very same string.
     */
    public static String escapeUnpairedSurrogates(String json) {
        if (isWellFormed(json)) {
            return json;
        }
        StringBuilder escaped = new StringBuilder(json.length() + 16);
        for (int i = 0; i < json.length(); i++) {
            char c = json.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < json.length() && Character.isLowSurrogate(json.charAt(i + 1))) {
                escaped.append(c).append(json.charAt(++i));
            } else if (Character.isSurrogate(c)) {
                escaped.append(String.format("\\u%04x", (int) c));
            } else {
                escaped.append(c);
            }
        }
        return escaped.toString();
    }

    /** Input that is not UTF-8. */
    public static final class MalformedException extends Exception {
        MalformedException(String message) {
            super(message);
        }
    }

    /** A file that stops being readable: not UTF-8 text, or a CSV row over the limit. */
    public static final class UnreadableInputException extends IOException {
        UnreadableInputException(String message) {
            super(message);
        }
    }

    /**
     * Passes a file's bytes through to a parser while the JDK's decoder checks that they are UTF-8 (Jackson alone would
     * take an overlong C0 AF as '/'). A NUL byte is rejected too: no JSON or CSV text holds one, but
     * UTF-16 does. For CSV it also bounds a row, so that the parser never buffers an endless one; a line break inside
     * a quoted value (RFC 4180) does not end the row.
     * <p>
     * The parser gets the bytes, not decoded chars, so its locations and the bound of a JSON array element
     * ({@link Json#readRequest(com.fasterxml.jackson.core.JsonParser)}) stay in bytes. The bytes before a problem are
     * handed on first, and the exception comes on the next read: a parser that reads ahead still sees every request
     * that came before the bad byte.
     */
    public static final class CheckedInputStream extends FilterInputStream {

        private final CharsetDecoder decoder = strictDecoder();
        /** Bytes handed on but not decoded yet (a character split between two reads), then the bytes read next. */
        private ByteBuffer undecoded = ByteBuffer.allocate(8192);
        /** Where the decoder writes: only whether it can decode matters, not the text. */
        private final CharBuffer decoded = CharBuffer.allocate(8192);
        private final long maxRowBytes;
        /** The CSV column separator, or 0 for JSON: no rows to bound. */
        private final char separator;
        private long line = 1;
        /** The line the current CSV row began on. */
        private long rowStart = 1;
        private long rowBytes;
        private boolean quoted;
        /** At the start of a CSV value (or right after a closing quote): a quote here opens (or escapes) one. */
        private boolean valueStart = true;
        private IOException failure;

        /** For JSON: checks that the bytes are UTF-8 text. */
        public CheckedInputStream(InputStream in) {
            this(in, 0, (char) 0);
        }

        /** For CSV: also ends the file at a row over {@code maxRowBytes}. */
        public CheckedInputStream(InputStream in, long maxRowBytes, char separator) {
            super(in);
            this.maxRowBytes = maxRowBytes;
            this.separator = separator;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            int n = read(one, 0, 1);
            return n < 0 ? -1 : one[0] & 0xFF;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (failure != null) {
                throw failure;
            }
            int n = super.read(b, off, len);
            if (n == 0) {
                return 0;
            }
            boolean end = n < 0;
            int count = Math.max(n, 0);
            int carried = undecoded.position();
            if (undecoded.remaining() < count) {
                undecoded = ByteBuffer.allocate(carried + count).put(undecoded.flip());
            }
            undecoded.put(b, off, count).flip();
            CoderResult result;
            do {
                decoded.clear();
                result = decoder.decode(undecoded, decoded, end);
            } while (result.isOverflow());
            // a malformed character may have begun in bytes handed on by an earlier read: then none of these are good
            int good = result.isError() ? Math.max(undecoded.position() - carried, 0) : count;
            String problem = null;
            for (int i = off; i < off + good && problem == null; i++) {
                problem = check(b[i]);
                if (problem != null) {
                    good = i - off;
                }
            }
            if (problem == null && result.isError()) {
                problem = end ? "not valid UTF-8: the file ends inside a character (line " + line + ")"
                        : "not valid UTF-8: byte 0x" + String.format("%02X", undecoded.get(undecoded.position()))
                          + " at line " + line;
            }
            undecoded.compact();
            if (problem != null) {
                failure = new UnreadableInputException(problem);
                if (good == 0) {
                    throw failure;
                }
                return good;
            }
            return n;
        }

        /** Takes one byte of UTF-8 (a line break, a quote or a separator is never part of a longer character). */
        private String check(byte c) {
            if (c == 0) {
                return "a NUL byte at line " + line + ": the file is not UTF-8 text (UTF-16?)";
            }
            boolean lineBreak = c == '\n' || c == '\r';
            if (c == '\n') {
                line++;
            }
            if (separator == 0) {
                return null;
            }
            if (quoted) {
                // a quote closes the value, unless the next one makes it "", a quote inside the value
                quoted = c != '"';
                valueStart = !quoted;
            } else if (c == '"' && valueStart) {
                quoted = true;
            } else if (c >= 0) {
                valueStart = c == separator || lineBreak || valueStart && (c == ' ' || c == '\t');
            }
            if (lineBreak && !quoted) {
                rowBytes = 0;
                rowStart = line;
            } else if (++rowBytes > maxRowBytes) {
                return "the row from line " + rowStart + " is longer than " + maxRowBytes + " bytes";
            }
            return null;
        }
    }
}
