package io.zapi.sendcall;

import java.time.Instant;

import org.junit.jupiter.api.Test;

import io.zapi.sendcall.zapi.RetryAfter;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Retry-After comes as seconds or as an HTTP date; anything else is ignored (the backoff applies). A value too big
 * for a long is the longest wait, which zapi.retry.max-delay-ms then caps; it never wraps round to no wait.
 */
class RetryAfterTest {

    private static final Instant NOW = Instant.parse("2026-11-25T18:00:00Z");

    @Test
    void secondsAndHttpDatesBecomeMilliseconds() {
        assertThat(RetryAfter.millis("3", NOW)).isEqualTo(3000);
        assertThat(RetryAfter.millis(" 0 ", NOW)).isZero();
        assertThat(RetryAfter.millis("Wed, 25 Nov 2026 18:00:10 GMT", NOW)).isEqualTo(10_000);
        assertThat(RetryAfter.millis("Wed, 25 Nov 2026 17:59:00 GMT", NOW)).isZero();
    }

    @Test
    void somethingElseIsIgnored() {
        assertThat(RetryAfter.millis(null, NOW)).isNull();
        assertThat(RetryAfter.millis("soon", NOW)).isNull();
        assertThat(RetryAfter.millis("", NOW)).isNull();
    }

    @Test
    void aNegativeNumberIsNoRetryAfterAtAll() {
        assertThat(RetryAfter.millis("-1", NOW)).isNull();
        assertThat(RetryAfter.millis("-99999999999999999999", NOW)).isNull();
        assertThat(RetryAfter.millis("+3", NOW)).isNull();
        assertThat(RetryAfter.millis("1.5", NOW)).isNull();
    }

    @Test
    void aNumberTooBigForMillisecondsIsTheLongestWaitNotAWrapRound() {
        assertThat(RetryAfter.millis("99999999999999999999", NOW)).isEqualTo(Long.MAX_VALUE);
        assertThat(RetryAfter.millis("9223372036854775807", NOW)).isEqualTo(Long.MAX_VALUE);
        assertThat(RetryAfter.millis("9223372036854776", NOW)).isEqualTo(Long.MAX_VALUE);
        assertThat(RetryAfter.millis("9223372036854775", NOW)).isEqualTo(9_223_372_036_854_775_000L);
        assertThat(RetryAfter.millis("Fri, 31 Dec 9999 23:59:59 GMT", NOW)).isPositive();
    }
}
