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
    /** Exchange property: the outcome line, as the record-outcome route logs it. */
    static final String LINE = "outcomeLine";
    /** Exchange property: the outcome line's level, DEBUG for a row of an inbox file, else INFO. */
    static final String LEVEL = "outcomeLineLevel";

    private OutcomeLogFields() {
    }

    /**
     * Sets the fields, and the exchange properties {@link #LINE} (the line itself) and {@link #LEVEL} (DEBUG for a row
     * of an inbox file, else INFO). Made here rather than by a simple expression: it is built for every request, and
     * the expression's method calls on the source went through Camel's bean machinery each time.
     */
    public static void put(Exchange exchange) {
        RequestSource source = RequestSource.of(exchange);
        String correlationId = exchange.getProperty(OutcomeRecord.CORRELATION_ID, String.class);
        String outcome = exchange.getProperty(OutcomeRecord.OUTCOME, String.class);
        String status = exchange.getProperty(OutcomeRecord.STATUS, String.class);
        putIfKnown(CORRELATION_ID, correlationId);
        putIfKnown(CHANNEL, source.channel());
        putIfKnown(OUTCOME, outcome);
        putIfKnown(STATUS, status);
        exchange.setProperty(LINE, outcome + " correlationId=" + correlationId
                                   + " source=" + orEmpty(source.channel()) + ":" + orEmpty(source.name())
                                   + " index=" + orEmpty(source.index())
                                   + " status=" + orEmpty(status)
                                   + " error=" + orEmpty(exchange.getProperty(OutcomeRecord.ERROR)));
        exchange.setProperty(LEVEL, "file".equals(source.channel()) ? "DEBUG" : "INFO");
    }

    private static String orEmpty(Object value) {
        return value == null ? "" : value.toString();
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
