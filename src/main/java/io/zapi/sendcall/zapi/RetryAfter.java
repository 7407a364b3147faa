package io.zapi.sendcall.zapi;

import java.time.Duration;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;

import org.apache.camel.Exchange;

/**
 * Honours Z-API's Retry-After (seconds or an HTTP date) by setting the redelivery delay the error handler reads
 * from {@link Exchange#REDELIVERY_DELAY}; capped at zapi.retry.max-delay-ms so a server cannot park us for hours.
 * A value that is not one (negative, signed, a fraction, text) is ignored: the normal exponential back-off applies,
 * never no wait at all. A number of seconds too big for a long is the longest wait, so it is capped, not ignored.
 */
public class RetryAfter {

    private final long maxDelayMs;

    public RetryAfter(long maxDelayMs) {
        this.maxDelayMs = maxDelayMs;
    }

    public void apply(Exchange exchange) {
        String retryAfter = exchange.getProperty("zapiRetryAfter", String.class);
        Long delay = millis(retryAfter, Instant.now());
        if (delay != null) {
            exchange.getMessage().setHeader(Exchange.REDELIVERY_DELAY, Math.min(delay, maxDelayMs));
        }
    }

    public static Long millis(String retryAfter, Instant now) {
        if (retryAfter == null || retryAfter.isBlank()) {
            return null;
        }
        String value = retryAfter.trim();
        // delay-seconds = 1*DIGIT (RFC 9110): no sign, no fraction
        if (value.chars().allMatch(c -> c >= '0' && c <= '9')) {
            try {
                return Math.multiplyExact(Long.parseLong(value), 1000L);
            } catch (NumberFormatException | ArithmeticException tooBig) {
                return Long.MAX_VALUE;
            }
        }
        try {
            Instant at = ZonedDateTime.parse(value, DateTimeFormatter.RFC_1123_DATE_TIME).toInstant();
            // a date already past: Z-API says now is fine
            return Math.max(0, Duration.between(now, at).toMillis());
        } catch (DateTimeParseException | ArithmeticException notADate) {
            return null;
        }
    }
}
