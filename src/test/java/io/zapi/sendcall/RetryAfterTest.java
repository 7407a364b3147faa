package io.zapi.sendcall;

import java.time.Instant;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** Retry-After comes as seconds or as an HTTP date; anything else is ignored (the backoff applies). */
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
}
