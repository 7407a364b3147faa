package io.zapi.sendcall.records;

import java.io.IOException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.camel.CamelContext;
import org.apache.camel.Endpoint;
import org.apache.camel.Exchange;
import org.apache.camel.ProducerTemplate;
import org.apache.camel.component.file.FileEndpoint;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.zapi.sendcall.pipeline.CallLedger;
import io.zapi.sendcall.pipeline.Json;

/**
 * Records (and reports) whose endpoint did not take them: a full disk, a read-only folder, a broker away. The request
 * has its outcome, and for a placed call that outcome must stay "placed": the record is kept (in the ledger, else in
 * memory) and written when the endpoint takes it again, never replaced by another record and never the reason to run
 * the request again. The half-written temporary file is removed, and the reason is said without the server's paths.
 */
public class PendingRecords {

    /** Exchange property: why the record is pending, when it is. */
    public static final String PENDING = "recordPending";
    private static final Logger LOG = LoggerFactory.getLogger(PendingRecords.class);
    private static final int BATCH = 500;

    /** One record not written yet: where it goes, under which file name, and its text. */
    public record Pending(String correlationId, String uri, String fileName, String body, String reason) {
    }

    private final CamelContext context;
    private final CallLedger ledger;
    /** What the ledger could not keep either (its own disk full): held until written or the process ends. */
    private final Map<String, Pending> inMemory = new ConcurrentHashMap<>();
    private ProducerTemplate producer;

    public PendingRecords(CamelContext context, CallLedger ledger) {
        this.context = context;
        this.ledger = ledger;
    }

    /**
     * After the record's endpoint failed: keeps the record, removes its temporary file, and makes the answer (HTTP
     * body, JMS reply) say that the outcome stands and its record is pending.
     */
    public void keep(Exchange exchange) throws JsonProcessingException {
        Exception failure = exchange.getProperty(Exchange.EXCEPTION_CAUGHT, Exception.class);
        String uri = exchange.getProperty(OutcomeRecord.RECORD_URI, String.class);
        String fileName = exchange.getMessage().getHeader(Exchange.FILE_NAME, String.class);
        String body = exchange.getMessage().getBody(String.class);
        String reason = reason(failure);
        removeTemporaryFile(uri, fileName);
        String id = uri + "|" + fileName;
        Pending pending = new Pending(id, uri, fileName, body, reason);
        if (!ledger.park(pending)) {
            inMemory.put(id, pending);
        }
        exchange.setProperty(PENDING, reason);
        LOG.warn("{} could not be written: {}. It is kept and written when its endpoint takes it; the outcome "
                 + "stands.", fileName, reason);
        if (body != null && body.startsWith("{")) {
            ObjectNode answer = (ObjectNode) Json.MAPPER.readTree(body);
            answer.put(PENDING, "the outcome stands; its record could not be written yet (" + reason
                                + ") and is written as soon as its endpoint takes it");
            exchange.getMessage().setBody(Json.MAPPER.writeValueAsString(answer));
        }
    }

    /** Tries every pending record again, oldest first; stops at the first that still fails (its endpoint is still away). */
    public int writeAll() {
        List<Pending> due = new java.util.ArrayList<>(inMemory.values());
        due.addAll(ledger.pendingRecords(BATCH));
        int written = 0;
        for (Pending pending : due) {
            Exchange sent = producer().send(pending.uri(), exchange -> {
                exchange.getMessage().setBody(pending.body());
                exchange.getMessage().setHeader(Exchange.FILE_NAME, pending.fileName());
                exchange.getMessage().setHeader(Exchange.CONTENT_TYPE, "application/json");
            });
            if (sent.getException() != null) {
                removeTemporaryFile(pending.uri(), pending.fileName());
                LOG.warn("{} record(s) still pending: {}", due.size() - written, reason(sent.getException()));
                return written;
            }
            if (inMemory.remove(pending.correlationId()) == null) {
                ledger.recordWritten(pending.correlationId());
            }
            written++;
        }
        if (written > 0) {
            LOG.info("{} pending record(s) written", written);
        }
        return written;
    }

    private ProducerTemplate producer() {
        if (producer == null) {
            producer = context.createProducerTemplate();
        }
        return producer;
    }

    /**
     * The file component writes under a hidden temporary name, then renames; a write that failed leaves that name
     * behind (empty, on a full disk). Nothing else would ever remove it.
     */
    private void removeTemporaryFile(String uri, String fileName) {
        if (uri == null || fileName == null || !uri.startsWith("file:")) {
            return;
        }
        try {
            Endpoint endpoint = context.getEndpoint(uri);
            if (endpoint instanceof FileEndpoint file && file.getTempPrefix() != null) {
                Files.deleteIfExists(file.getFile().toPath().resolve(file.getTempPrefix() + fileName));
            }
        } catch (IOException | RuntimeException e) {
            LOG.debug("temporary record file not removed: {}", e.getMessage());
        }
    }

    /** What went wrong, without the server's paths: the file system's own reason when there is one. */
    static String reason(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof FileSystemException fs && fs.getReason() != null) {
                return fs.getReason();
            }
            if (t instanceof IOException io && t.getCause() == null && io.getMessage() != null) {
                return withoutPaths(io.getMessage());
            }
        }
        Throwable root = failure;
        while (root != null && root.getCause() != null) {
            root = root.getCause();
        }
        return root == null ? "unknown" : root.getClass().getSimpleName() + ": " + withoutPaths(root.getMessage());
    }

    private static String withoutPaths(String message) {
        return message == null ? "" : message.replaceAll("(?:[A-Za-z]:)?(?:[/\\\\][^\\s/\\\\:,;()]+)+[/\\\\]?", "<path>");
    }
}
