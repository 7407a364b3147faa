package io.zapi.sendcall;

import java.time.Duration;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;

import org.apache.camel.Exchange;

/**
 * Honours Z-API's Retry-After (seconds or an HTTP date) by setting the redelivery delay the error handler reads
 * from {@link Exchange#REDELIVERY_DELAY}; capped at zapi.retry.max-delay-ms so a server cannot park us for hours.
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

    static Long millis(String retryAfter, Instant now) {
        if (retryAfter == null || retryAfter.isBlank()) {
            return null;
        }
        String value = retryAfter.trim();
        try {
            return Math.max(0, Long.parseLong(value)) * 1000;
        } catch (NumberFormatException notSeconds) {
            try {
                Instant at = ZonedDateTime.parse(value, DateTimeFormatter.RFC_1123_DATE_TIME).toInstant();
                return Math.max(0, Duration.between(now, at).toMillis());
            } catch (DateTimeParseException notADate) {
                return null;
            }
        }
    }
}
