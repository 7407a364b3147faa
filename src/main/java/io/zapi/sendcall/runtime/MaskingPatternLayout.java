package io.zapi.sendcall.runtime;

import ch.qos.logback.classic.PatternLayout;
import ch.qos.logback.classic.pattern.MessageConverter;
import ch.qos.logback.classic.spi.ILoggingEvent;

/**
 * A logback pattern layout that masks secrets in the whole formatted line, stack traces included, whatever
 * library wrote it (camel-http and HttpClient log the request URI, and so the token, at DEBUG).
 * <p>
 * Its message ({@code %msg}, {@code %m}, {@code %message}) is also kept to one line: a line break in it is written as
 * {@code \n}. Messages name what came in (a file name may hold a line break), and nothing that came in may forge a
 * log line of its own.
 */
public class MaskingPatternLayout extends PatternLayout {

    public MaskingPatternLayout() {
        for (String word : new String[] {"m", "msg", "message"}) {
            getInstanceConverterMap().put(word, OneLineMessageConverter::new);
        }
    }

    @Override
    public String doLayout(ILoggingEvent event) {
        return SecretMasking.mask(super.doLayout(event));
    }

    /** The message with its line breaks (CR, LF, NEL, U+2028, U+2029) escaped. */
    static String oneLine(String message) {
        if (message == null) {
            return null;
        }
        StringBuilder line = null;
        for (int i = 0; i < message.length(); i++) {
            char c = message.charAt(i);
            String escaped = switch (c) {
                case '\n' -> "\\n";
                case '\r' -> "\\r";
                case '\u0085' -> "\\u0085";
                case '\u2028' -> "\\u2028";
                case '\u2029' -> "\\u2029";
                default -> null;
            };
            if (escaped != null && line == null) {
                line = new StringBuilder(message.length() + 16).append(message, 0, i);
            }
            if (line != null) {
                if (escaped != null) {
                    line.append(escaped);
                } else {
                    line.append(c);
                }
            }
        }
        return line == null ? message : line.toString();
    }

    /** {@code %msg} on one line. */
    public static class OneLineMessageConverter extends MessageConverter {
        @Override
        public String convert(ILoggingEvent event) {
            return oneLine(super.convert(event));
        }
    }
}
