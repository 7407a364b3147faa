package io.zapi.sendcall.records;

import org.apache.camel.Exchange;
import org.slf4j.MDC;

import io.zapi.sendcall.pipeline.RequestSource;

/**
 * The outcome line's fields in the MDC, for the log step between {@link #put} and {@link #clear} (record-outcome):
 * with zapi.log.format=json they are fields of their own ({@code correlationId}, {@code channel}, {@code outcome},
 * {@code status}), so a log store finds a request's line without parsing its message. Both steps run on the thread of
 * the log step, and clear leaves the thread's MDC as it found it for the next exchange.
 */
public final class OutcomeLogFields {

    static final String CORRELATION_ID = "correlationId";
    static final String CHANNEL = "channel";
    static final String OUTCOME = "outcome";
    static final String STATUS = "status";

    private OutcomeLogFields() {
    }

    public static void put(Exchange exchange) {
        putIfKnown(CORRELATION_ID, exchange.getProperty(OutcomeRecord.CORRELATION_ID, String.class));
        putIfKnown(CHANNEL, RequestSource.of(exchange).channel());
        putIfKnown(OUTCOME, exchange.getProperty(OutcomeRecord.OUTCOME, String.class));
        putIfKnown(STATUS, exchange.getProperty(OutcomeRecord.STATUS, String.class));
    }

    public static void clear() {
        for (String key : new String[] {CORRELATION_ID, CHANNEL, OUTCOME, STATUS}) {
            MDC.remove(key);
        }
    }

    private static void putIfKnown(String key, String value) {
        if (value == null) {
            MDC.remove(key);
        } else {
            MDC.put(key, value);
        }
    }
}
