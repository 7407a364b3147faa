package io.zapi.sendcall.records;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;

/** One way to write a moment everywhere (records, reports, the ledger): UTC, exactly three fractional digits. */
public final class Timestamps {

    private static final DateTimeFormatter MILLIS = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'")
            .withZone(ZoneOffset.UTC);

    private Timestamps() {
    }

    /** e.g. {@code 2026-11-29T16:31:03.219Z}, and {@code .000Z} on a whole second. */
    public static String format(Instant instant) {
        return MILLIS.format(instant);
    }

    public static String now() {
        return format(Instant.now());
    }
}
