package io.zapi.sendcall;

/** Text that must be writable as UTF-8. */
final class Utf8 {

    private Utf8() {
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
}
