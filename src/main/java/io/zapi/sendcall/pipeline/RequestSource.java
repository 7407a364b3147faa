package io.zapi.sendcall.pipeline;

import org.apache.camel.Exchange;

import io.zapi.sendcall.inbox.FileReport;
import io.zapi.sendcall.inbox.RequestRow;

/**
 * Where a request came from: what an input hands the pipeline beside the request itself, set by the input in one
 * step (exchange property {@link #PROPERTY}). The record's {@code source} is made from it, and the ledger names the
 * request by it.
 *
 * @param channel     file, http or jms
 * @param name        the inbox file's name, the HTTP Idempotency-Key (else the exchange id), the JMS message's name
 * @param index       the request's 1-based place in a file holding several; else null
 * @param key         names a request that has no id of its own, for idempotency (the file's content and the row,
 *                    the JMS message); null when the transport names nothing (HTTP)
 * @param transportId an id the transport gave (the Idempotency-Key header, as received), which takes the place of
 *                    the body's id; null when none
 * @param recordedAs  this very request (a row of a file as taken, a JMS message): coming again after a crash (a
 *                    resumed file, a redelivery) it keeps its record instead of getting another; null for HTTP
 * @param transportInstance the Z-API instance the transport named (the Zapi-Instance header, as received), which
 *                    takes the place of the body's instance; null when none
 */
public record RequestSource(String channel, String name, Integer index, String key, Object transportId,
                            String recordedAs, Object transportInstance) {

    /** The exchange property holding it. */
    public static final String PROPERTY = "source";
    private static final String IDEMPOTENCY_KEY = "Idempotency-Key";
    /** The HTTP header that names the Z-API instance of a POST /send-call. */
    public static final String ZAPI_INSTANCE = "Zapi-Instance";

    /** A POST /send-call: named by its Idempotency-Key when it has one; its instance by a Zapi-Instance header. */
    public static RequestSource http(Exchange exchange) {
        Object idempotencyKey = exchange.getMessage().getHeader(IDEMPOTENCY_KEY);
        String name = idempotencyKey != null ? exchange.getMessage().getHeader(IDEMPOTENCY_KEY, String.class)
                : exchange.getExchangeId();
        return new RequestSource("http", name, null, null, idempotencyKey, null,
                exchange.getMessage().getHeader(ZAPI_INSTANCE));
    }

    /** One row of an inbox file: named by the file's content and its place in it, and by the file as taken. */
    public static RequestSource fileRow(Exchange exchange) {
        return fileRowAt(exchange, exchange.getMessage().getBody(RequestRow.class).index());
    }

    /** The row at this index of the exchange's inbox file, before it is handed out (the number pre-check). */
    public static RequestSource fileRowAt(Exchange exchange, Integer index) {
        String drop = exchange.getProperty(CallLedger.DROP, String.class);
        return new RequestSource("file", exchange.getProperty(FileReport.FILE, String.class), index,
                "file:" + exchange.getProperty("fileHash", String.class) + ":" + index, null,
                drop != null ? "row:" + drop + ":" + index : null, null);
    }

    /** A JMS message, by its name (see {@link JmsRequestBody}): a redelivery is the same request. */
    public static RequestSource jms(String name) {
        return new RequestSource("jms", name, null, "jms:" + name, null, "jms:" + name, null);
    }

    /** The source of the request on this exchange, or an empty one when no input set it. */
    public static RequestSource of(Exchange exchange) {
        RequestSource source = exchange.getProperty(PROPERTY, RequestSource.class);
        return source != null ? source : new RequestSource(null, null, null, null, null, null, null);
    }
}
