package io.zapi.sendcall.events;

import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.camel.CamelContext;
import org.apache.camel.Exchange;
import org.apache.camel.ExchangePattern;
import org.apache.camel.ProducerTemplate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.zapi.sendcall.inbox.FileReport;
import io.zapi.sendcall.inbox.ResultsFiles;
import io.zapi.sendcall.observe.ZapiMetrics;
import io.zapi.sendcall.pipeline.CallLedger;
import io.zapi.sendcall.schedule.Redials;
import io.zapi.sendcall.pipeline.Json;
import io.zapi.sendcall.records.OutcomeRecord;
import io.zapi.sendcall.records.Timestamps;
import io.zapi.sendcall.zapi.ZapiInstances;

/**
 * Z-API's webhook posts (on-message-received) turned into call events: a {@code ReceivedCallback} with the
 * notification {@code CALL_VOICE} is {@code answered}, {@code CALL_MISSED_VOICE} or {@code CALL_MISSED_VIDEO}
 * {@code missed}; anything else is answered and ignored. An event is recorded once per callId and notification (the
 * ledger decides, across restarts and replicas; its record is named {@code <callId>-<notification>.json}), with
 * {@code callOf}: the correlationId of the latest success for its phone on its instance within
 * zapi.webhook.correlation-window-seconds before its moment. How Z-API's callId relates to send-call's ids is not
 * documented, hence the correlation by phone, instance and time.
 */
public class CallEvents {

    /** Exchange property: the event's record is to be written (the first post of this callId and notification). */
    public static final String EVENT = "callEvent";
    static final String EVENT_URI_SETTING = "zapi.outcome.event-uri";
    private static final Logger LOG = LoggerFactory.getLogger(CallEvents.class);
    private static final Map<String, String> EVENTS = Map.of("CALL_VOICE", "answered", "CALL_MISSED_VOICE", "missed",
            "CALL_MISSED_VIDEO", "missed");
    /** Z-API documents 32 hex characters; letters and digits only, as it names the record's file. */
    private static final Pattern CALL_ID = Pattern.compile("[A-Za-z0-9]{1,128}");
    /** Z-API's clock and this module's may differ: a success this much after the event's moment still counts. */
    private static final long CLOCK_DIFFERENCE_MS = Duration.ofSeconds(60).toMillis();

    private final ZapiInstances instances;
    private final long windowMs;
    private ProducerTemplate producer;

    /**
     * @param instances     the module's Z-API instances: an event of another instance is not this module's
     * @param windowSeconds zapi.webhook.correlation-window-seconds
     */
    public CallEvents(ZapiInstances instances, long windowSeconds) {
        this.instances = instances;
        this.windowMs = Duration.ofSeconds(windowSeconds).toMillis();
    }

    /** A recorded event: what its record says. */
    record CallEvent(String eventId, String event, String notification, String callId, String phone, String instance,
                     long moment, CallLedger.Success callOf) {
    }

    /**
     * Reads the post: for the first post of a call event, its record in the body (with its file name and endpoint)
     * and the property {@link #EVENT}; else nothing to record (another webhook type, an event seen before, an unknown
     * instance). A body that is not a call event the module can read throws {@link BadWebhookBodyException}.
     */
    public void read(Exchange exchange) throws IOException {
        JsonNode post = parse(exchange.getMessage().getBody(byte[].class));
        String notification = post.path("notification").asText("");
        if (!"ReceivedCallback".equals(post.path("type").asText()) || !EVENTS.containsKey(notification)) {
            return;
        }
        String callId = post.path("callId").asText("");
        if (!CALL_ID.matcher(callId).matches()) {
            throw new BadWebhookBodyException("callId must be 1 to 128 letters or digits (Z-API sends 32 hex characters)");
        }
        String phone = post.path("phone").asText("");
        if (phone.isBlank() || phone.length() > 64) {
            throw new BadWebhookBodyException("phone is missing or longer than 64 characters");
        }
        JsonNode momment = post.path("momment");
        if (!momment.isMissingNode() && !momment.isNull() && !momment.canConvertToLong()) {
            throw new BadWebhookBodyException("momment must be a time in epoch milliseconds");
        }
        long moment = momment.canConvertToLong() ? momment.asLong() : System.currentTimeMillis();
        String zapiInstanceId = post.path("instanceId").asText(null);
        String instance = instanceNamed(zapiInstanceId);
        if (instance == null) {
            // as sent, but on one line and short: the value is the poster's
            String shown = zapiInstanceId == null ? null : zapiInstanceId.replaceAll("[^A-Za-z0-9_.-]", "?");
            LOG.warn("A call event of instance {} came to the webhook, which this module does not use: ignored. Set "
                     + "the webhook only on instances of this module.", shown == null || shown.length() <= 64 ? shown
                    : shown.substring(0, 64) + "...");
            return;
        }
        CallLedger ledger = ledger(exchange.getContext());
        CallLedger.Success callOf = ledger.latestSuccess(phone, instance, moment - windowMs,
                moment + CLOCK_DIFFERENCE_MS);
        String event = EVENTS.get(notification);
        if (!ledger.noteEvent(callId, notification, event, phone, instance, moment,
                callOf == null ? null : callOf.correlationId())) {
            LOG.debug("call event {}-{} came again: recorded before", callId, notification);
            return;
        }
        CallEvent recorded = new CallEvent(callId + "-" + notification, event, notification, callId, phone, instance,
                moment, callOf);
        exchange.setProperty(EVENT, recorded);
        exchange.setProperty(OutcomeRecord.RECORD_URI,
                exchange.getContext().resolvePropertyPlaceholders("{{" + EVENT_URI_SETTING + "}}"));
        exchange.getMessage().setHeader(Exchange.FILE_NAME, recorded.eventId() + ".json");
        exchange.getMessage().setBody(record(recorded, ledger.nodeId()));
    }

    /**
     * The instance name (as records call it) whose Z-API instance id is this (zapi.instance-id for "default", or a
     * zapi.instances.<name>.instance-id), or null when this module uses no such instance.
     */
    String instanceNamed(String zapiInstanceId) {
        return instances.nameOfInstanceId(zapiInstanceId);
    }

    /**
     * The event's record is written (or kept pending): counted in metrics, and, for a call of an inbox file whose
     * report is final, that report rewritten with its answered and missed counts (a report still running counts them
     * itself, FileReport).
     */
    public void recorded(Exchange exchange) {
        CallEvent event = exchange.getProperty(EVENT, CallEvent.class);
        ZapiMetrics metrics = exchange.getContext().getRegistry().lookupByNameAndType("zapiMetrics",
                ZapiMetrics.class);
        metrics.countCallEvent(event.event(), event.instance());
        LOG.info("call event {} {} phone={} callOf={}", event.event(), event.eventId(), event.phone(),
                event.callOf() == null ? null : event.callOf().correlationId());
        if (event.callOf() != null && event.callOf().report() != null) {
            if (FileReport.MISSED.equals(event.event())) {
                // with zapi.redial.max-attempts, the row is called again later (its report then counts it waiting)
                exchange.getContext().getRegistry().lookupByNameAndType("redials", Redials.class)
                        .redialMissed(event.callOf().correlationId());
            }
            rewriteReport(exchange.getContext(), event.callOf());
        }
        ResultsFiles results = exchange.getContext().getRegistry().lookupByNameAndType("resultsFiles",
                ResultsFiles.class);
        if (event.callOf() != null && results != null) {
            try {
                // its row's entry in the file's results file gets the event (applied by results-files.camel.yaml)
                results.eventOf(event.callOf(), event.event());
            } catch (RuntimeException e) {
                LOG.warn("{}: the event of correlationId={} could not be kept for its results file: {}",
                        event.callOf().file(), event.callOf().correlationId(), e.getMessage());
            }
        }
    }

    /**
     * The file's final report as it was written, with its counts read from the ledger now: every event of the file's
     * calls so far, whichever replica noted them. Serialised in this process, so that a report with fewer events never
     * replaces one with more.
     */
    private void rewriteReport(CamelContext context, CallLedger.Success call) {
        // its file is still read when nothing is kept: the next running report, or the final one, counts this event
        context.getRegistry().lookupByNameAndType("fileReport", FileReport.class)
                .rewriteKept(context, call.report(), null);
    }


    private static JsonNode parse(byte[] body) {
        try {
            JsonNode post = body == null ? null : Json.MAPPER.readTree(body);
            if (post == null || !post.isObject()) {
                throw new BadWebhookBodyException("the body must be a JSON object (Z-API's on-message-received)");
            }
            return post;
        } catch (IOException e) {
            throw new BadWebhookBodyException("the body is not JSON (Z-API's on-message-received is)");
        }
    }

    private static String record(CallEvent event, String node) throws IOException {
        Map<String, Object> record = new LinkedHashMap<>();
        record.put("eventId", event.eventId());
        record.put("event", event.event());
        record.put("callId", event.callId());
        record.put("notification", event.notification());
        record.put("phone", event.phone());
        record.put("instance", event.instance());
        record.put("moment", Timestamps.format(Instant.ofEpochMilli(event.moment())));
        record.put("callOf", event.callOf() == null ? null : event.callOf().correlationId());
        record.put("receivedAt", Timestamps.now());
        record.put("node", node);
        return Json.MAPPER.writeValueAsString(record);
    }

    private static CallLedger ledger(CamelContext context) {
        return CallLedger.of(context);
    }

    private synchronized ProducerTemplate producer(CamelContext context) {
        if (producer == null) {
            producer = context.createProducerTemplate();
        }
        return producer;
    }
}
