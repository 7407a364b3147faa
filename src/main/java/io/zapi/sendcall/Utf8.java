package io.zapi.sendcall;

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

    /** Input that is not UTF-8. */
    static final class MalformedException extends Exception {
        MalformedException(String message) {
            super(message);
        }
    }
}
