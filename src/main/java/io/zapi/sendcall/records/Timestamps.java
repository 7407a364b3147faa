package io.zapi.sendcall.records;

import java.time.Instant;
import java.time.temporal.ChronoUnit;

/** One way to write a moment everywhere (records, reports, the ledger): UTC, exactly three fractional digits. */
public final class Timestamps {

    private Timestamps() {
    }

    /** e.g. {@code 2026-11-29T16:31:03.219Z}, and {@code .000Z} on a whole second. */
    public static String format(Instant instant) {
        // ISO-8601 as Instant prints it (a few times faster than a pattern formatter: several stamps per request),
        // which leaves out a fraction of zero: .000 is put back, so that every stamp has the same length and order
        String iso = instant.truncatedTo(ChronoUnit.MILLIS).toString();
        return iso.length() == 20 ? iso.substring(0, 19) + ".000Z" : iso;
    }

    public static String now() {
        return format(Instant.now());
    }
}
