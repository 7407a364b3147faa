package io.zapi.sendcall;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * Requests are UTF-8 (RFC 8259 for JSON, and the CSV contract). Decoding is strict everywhere: a malformed, overlong or
 * surrogate sequence is an error, never a silent U+FFFD or a '/' smuggled in as C0 AF.
 */
final class Utf8 {

    /** The byte order mark, as the text decoded from EF BB BF. */
    static final String BOM = "\uFEFF";

    private Utf8() {
    }

    /** Decodes strictly, or says at which byte the input stops being UTF-8. */
    static String decode(byte[] bytes, int offset, int length) throws MalformedException {
        CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes, offset, length);
        // UTF-8 never decodes to more chars than it has bytes
        CharBuffer out = CharBuffer.allocate(length);
        CoderResult result = decoder.decode(in, out, true);
        if (!result.isError()) {
            result = decoder.flush(out);
        }
        if (result.isError()) {
            int at = in.position();
            throw new MalformedException("byte " + (at - offset + 1) + " (0x"
                                         + String.format("%02X", bytes[at] & 0xFF) + ") is not part of a UTF-8 "
                                         + "character");
        }
        return out.flip().toString();
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
    static String escapeUnpairedSurrogates(String json) {
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

    /** Where a CSV reader is within a row, as far as line breaks are concerned. */
    private enum Csv { FIELD_START, UNQUOTED, QUOTED, QUOTE_IN_QUOTED }

    /** Input that is not UTF-8. */
    static final class MalformedException extends Exception {
        MalformedException(String message) {
            super(message);
        }
    }

    /** A file that stops being readable: not UTF-8 text, or a line (CSV: a row) over the limit. */
    static final class UnreadableInputException extends IOException {
        UnreadableInputException(String message) {
            super(message);
        }
    }

    /**
     * Passes a file's bytes through while checking that they are UTF-8 text: no malformed sequence and no NUL byte
     * (which no JSON or CSV text holds, but UTF-16 does). Optionally it also bounds the bytes between two line breaks;
     * for CSV a line break inside a quoted value does not count, so the bound is on a whole row.
     * <p>
     * The bytes before the problem are handed on first, and the exception comes on the next read: a parser that reads
     * ahead still sees every request that came before the bad byte.
     */
    static final class CheckedInputStream extends FilterInputStream {

        private final long maxLineBytes;
        private final boolean csvQuotes;
        /** Continuation bytes still expected, and the range the next one must be in (overlong, surrogates). */
        private int pending;
        private int nextMin = 0x80;
        private int nextMax = 0xBF;
        private long line = 1;
        /** The line the current line (CSV: row) began on. */
        private long lineStart = 1;
        private long lineBytes;
        private Csv csv = Csv.FIELD_START;
        private IOException failure;

        /**
         * @param maxLineBytes the most bytes a line may have, or 0 for no bound
         * @param csvQuotes    true: a line break inside double quotes does not end the line (CSV)
         */
        CheckedInputStream(InputStream in, long maxLineBytes, boolean csvQuotes) {
            super(in);
            this.maxLineBytes = maxLineBytes;
            this.csvQuotes = csvQuotes;
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
            if (n < 0) {
                if (pending > 0) {
                    throw failure = new UnreadableInputException("not valid UTF-8: the file ends inside a character "
                                                                 + "(line " + line + ")");
                }
                return -1;
            }
            // where the character being checked began: this chunk's start when it began in an earlier one
            int characterStart = off;
            for (int i = off; i < off + n; i++) {
                boolean inCharacter = pending > 0;
                if (!inCharacter) {
                    characterStart = i;
                }
                String problem = check(b[i] & 0xFF);
                if (problem != null) {
                    failure = new UnreadableInputException(problem);
                    int good = (inCharacter ? characterStart : i) - off;
                    if (good == 0) {
                        throw failure;
                    }
                    return good;
                }
                if (maxLineBytes > 0 && lineBytes > maxLineBytes) {
                    // the lines before it were handed on long ago: a chunk is far shorter than the bound
                    throw failure = new UnreadableInputException((csvQuotes ? "the row from line " + lineStart
                            : "line " + lineStart) + " is longer than " + maxLineBytes + " bytes");
                }
            }
            return n;
        }

        /** Takes one byte; returns what is wrong with it, or null. */
        private String check(int c) {
            if (pending > 0) {
                if (c < nextMin || c > nextMax) {
                    return notUtf8(c);
                }
                pending--;
                nextMin = 0x80;
                nextMax = 0xBF;
                lineBytes++;
                return null;
            }
            if (c == 0) {
                return "a NUL byte at line " + line + ": the file is not UTF-8 text (UTF-16?)";
            }
            if (c < 0x80) {
                count(c);
                return null;
            }
            // the lead byte decides how many continuation bytes follow and which values the first one may take
            if (c >= 0xC2 && c <= 0xDF) {
                pending = 1;
            } else if (c >= 0xE0 && c <= 0xEF) {
                pending = 2;
                nextMin = c == 0xE0 ? 0xA0 : 0x80;
                nextMax = c == 0xED ? 0x9F : 0xBF;
            } else if (c >= 0xF0 && c <= 0xF4) {
                pending = 3;
                nextMin = c == 0xF0 ? 0x90 : 0x80;
                nextMax = c == 0xF4 ? 0x8F : 0xBF;
            } else {
                return notUtf8(c);
            }
            lineBytes++;
            return null;
        }

        /** Counts an ASCII byte: line breaks end the line, except inside a quoted CSV value (RFC 4180). */
        private void count(int c) {
            boolean lineBreak = c == '\n' || c == '\r';
            if (csvQuotes) {
                csv = switch (csv) {
                    case FIELD_START -> c == '"' ? Csv.QUOTED : c == ' ' || c == '\t' || c == ',' || lineBreak
                            ? Csv.FIELD_START : Csv.UNQUOTED;
                    case UNQUOTED -> c == ',' || lineBreak ? Csv.FIELD_START : Csv.UNQUOTED;
                    case QUOTED -> c == '"' ? Csv.QUOTE_IN_QUOTED : Csv.QUOTED;
                    // "" is a quote inside the value; anything else closes it
                    case QUOTE_IN_QUOTED -> c == '"' ? Csv.QUOTED : c == ',' || lineBreak ? Csv.FIELD_START
                            : Csv.UNQUOTED;
                };
                lineBreak &= csv != Csv.QUOTED;
            }
            if (c == '\n') {
                line++;
            }
            if (lineBreak) {
                lineBytes = 0;
                lineStart = line;
            } else {
                lineBytes++;
            }
        }

        private String notUtf8(int c) {
            return "not valid UTF-8: byte 0x" + String.format("%02X", c) + " at line " + line;
        }
    }
}
