package io.zapi.sendcall.inbox;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import org.apache.camel.CamelContext;
import org.apache.camel.Exchange;
import org.apache.camel.ProducerTemplate;
import org.apache.camel.support.DefaultExchange;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.zapi.sendcall.pipeline.CallLedger;
import io.zapi.sendcall.pipeline.CallRequest;
import io.zapi.sendcall.pipeline.Json;
import io.zapi.sendcall.pipeline.OptOutList;
import io.zapi.sendcall.pipeline.RequestSource;
import io.zapi.sendcall.pipeline.RequestValidator;
import io.zapi.sendcall.records.OutcomeRecord;
import io.zapi.sendcall.runtime.SecretMasking;
import io.zapi.sendcall.zapi.ZapiInstance;
import io.zapi.sendcall.zapi.ZapiInstances;

/**
 * The number pre-check of inbox files (zapi.precheck=true): the inbox route splits a file's rows through
 * {@link #rows}, which reads zapi.precheck.batch-size rows ahead and asks Z-API's phone-exists-batch
 * (routes/precheck-numbers.camel.yaml) which of their numbers are on WhatsApp, before any of them is called. Each row
 * then carries what was found ({@link RequestRow#precheck()}); the validator rejects a row not on WhatsApp, so it is
 * recorded like any rejected row and never called.
 * <p>
 * Checked are the rows that would be called: valid, and whose idempotency key the ledger does not know yet (a
 * duplicate, or a request in flight when the module stopped, ends as it would without the check) nor already
 * recorded (a resumed file). A check that fails (after its tries) skips its batch: the rows are called as without it.
 * When Z-API knows a number under another form ({@code outputPhone}, e.g. Brazil's ninth digit), the phone is called
 * as the request gives it; the record notes the other form.
 */
public class NumberPrecheck {

    public static final String PASSED = "passed";
    public static final String NOT_ON_WHATSAPP = "not on WhatsApp";
    public static final String SKIPPED = "skipped: ";
    /** The largest batch phone-exists-batch takes. */
    public static final int MAX_BATCH = 50_000;
    private static final String ROUTE = "direct:precheck-numbers";
    private static final Logger LOG = LoggerFactory.getLogger(NumberPrecheck.class);

    private final boolean enabled;
    private final int batchSize;
    private final RequestValidator validator;
    private final ZapiInstances instances;
    private final OptOutList optOut;
    private volatile ProducerTemplate template;

    public NumberPrecheck(boolean enabled, int batchSize, RequestValidator validator, ZapiInstances instances,
                          OptOutList optOut) {
        this.enabled = enabled;
        this.batchSize = batchSize;
        this.validator = validator;
        this.instances = instances;
        this.optOut = optOut;
    }

    /** The rows the inbox route splits: the file itself without the pre-check, else its rows checked batch by batch. */
    public Iterator<RequestRow> rows(Exchange fileExchange) {
        RequestFile file = fileExchange.getProperty("requestFile", RequestFile.class);
        if (!enabled) {
            return file;
        }
        return new PrecheckedRows(file, batchSize, batch -> check(fileExchange, batch));
    }

    /**
     * The instance a row's number is checked on: the one the row names, else the one for checks (whether a number is
     * on WhatsApp does not depend on the instance that asks). A batch's rows are checked on each of their instances
     * apart.
     */
    private ZapiInstance instanceOf(CallRequest call) {
        return call.instance() != null ? instances.named(call.instance()) : instances.forChecks();
    }

    /** The batch's rows in their order, each with what the check found, or as they were when not checked. */
    List<RequestRow> check(Exchange fileExchange, List<RequestRow> batch) {
        List<RequestRow> rows = new ArrayList<>(batch);
        Map<Integer, CallRequest> calls = new LinkedHashMap<>();
        Map<Integer, String> keys = new HashMap<>();
        Map<Integer, String> sources = new HashMap<>();
        for (int i = 0; i < rows.size(); i++) {
            CallRequest call = validator.validRow(rows.get(i));
            // an opted-out number is rejected by the pipeline: it is not sent to Z-API, even to be checked
            if (call != null && !optOut.contains(call.phone())) {
                RequestSource source = RequestSource.fileRowAt(fileExchange, rows.get(i).index());
                calls.put(i, call);
                keys.put(i, CallLedger.keyOf(call, source));
                if (source.recordedAs() != null) {
                    sources.put(i, source.recordedAs());
                }
            }
        }
        if (calls.isEmpty()) {
            return rows;
        }
        String file = fileExchange.getProperty(FileReport.FILE, String.class);
        Set<String> knownKeys;
        Set<String> recorded;
        try {
            CallLedger ledger = CallLedger.of(fileExchange.getContext());
            knownKeys = ledger.knownKeys(keys.values());
            recorded = fileExchange.getProperty(CallLedger.DROP_RESUMED, false, Boolean.class)
                    ? ledger.recordedSources(sources.values()) : Set.of();
        } catch (RuntimeException e) {
            skip(rows, calls.keySet(), file, "the ledger could not be read: " + e.getMessage());
            return rows;
        }
        calls.keySet().removeIf(i -> knownKeys.contains(keys.get(i)) || recorded.contains(sources.get(i)));
        Map<ZapiInstance, Map<String, List<Integer>>> byInstance = new LinkedHashMap<>();
        calls.forEach((i, call) -> byInstance.computeIfAbsent(instanceOf(call), name -> new LinkedHashMap<>())
                .computeIfAbsent(call.phone(), phone -> new ArrayList<>()).add(i));
        byInstance.forEach((instance, phones) -> {
            try {
                Map<String, String> found = ask(fileExchange.getContext(), instance, phones.keySet());
                phones.forEach((phone, at) -> at.forEach(i -> rows.set(i, rows.get(i).checked(
                        found.getOrDefault(phone, SKIPPED + "Z-API's answer did not name this phone")))));
            } catch (PrecheckFailed e) {
                skip(rows, phones.values().stream().flatMap(List::stream).toList(), file, e.getMessage());
            }
        });
        return rows;
    }

    private static void skip(List<RequestRow> rows, Iterable<Integer> positions, String file, String reason) {
        String masked = SecretMasking.mask(reason);
        Integer first = null;
        Integer last = null;
        int count = 0;
        for (int i : positions) {
            rows.set(i, rows.get(i).checked(SKIPPED + masked));
            first = first == null ? rows.get(i).index() : first;
            last = rows.get(i).index();
            count++;
        }
        // a file holding one request has no row numbers
        String which = first == null ? "its request" : count + " row(s) (" + first + " to " + last + ")";
        LOG.warn("{}: pre-check of {} skipped, {}: called as without it", file, which, masked);
    }

    /** What phone-exists-batch says of each phone: passed, not on WhatsApp, or skipped when it did not say. */
    private Map<String, String> ask(CamelContext context, ZapiInstance instance, Set<String> phones)
            throws PrecheckFailed {
        Exchange request = new DefaultExchange(context);
        request.setProperty(ZapiInstances.PROPERTY, instance);
        try {
            request.getMessage().setBody(Json.MAPPER.writeValueAsString(Map.of("phones", phones)));
        } catch (JsonProcessingException e) {
            throw new PrecheckFailed("the phones could not be written as JSON: " + e.getOriginalMessage());
        }
        Exchange answered = template(context).send(ROUTE, request);
        int tries = answered.getProperty("precheckAttempts", 1, Integer.class);
        if (answered.getException() != null) {
            throw new PrecheckFailed(reason(answered.getException()) + (tries > 1 ? " (" + tries + " tries)" : ""));
        }
        Integer status = answered.getProperty(OutcomeRecord.STATUS, Integer.class);
        if (status == null || status != 200) {
            throw new PrecheckFailed("Z-API answered HTTP " + status + " to phone-exists-batch");
        }
        JsonNode answer;
        try {
            answer = Json.MAPPER.readTree(answered.getProperty(OutcomeRecord.RESPONSE, String.class));
        } catch (JsonProcessingException e) {
            answer = null;
        }
        if (answer == null || !answer.isArray()) {
            throw new PrecheckFailed("Z-API's answer to phone-exists-batch is not a JSON list of {exists, "
                                     + "inputPhone, outputPhone}");
        }
        Map<String, String> found = new HashMap<>();
        for (JsonNode entry : answer) {
            JsonNode input = entry.path("inputPhone");
            JsonNode exists = entry.path("exists");
            if (!input.isTextual() || !exists.isBoolean()) {
                continue;
            }
            JsonNode output = entry.path("outputPhone");
            String result = !exists.booleanValue() ? NOT_ON_WHATSAPP
                    : output.isTextual() && !output.textValue().equals(input.textValue())
                    ? PASSED + "; WhatsApp knows the number as " + output.textValue() + " (called as requested)"
                    : PASSED;
            found.put(input.textValue(), result);
        }
        return found;
    }

    private static String reason(Exception e) {
        String message = e.getMessage();
        return message != null && !message.isBlank() ? message : e.getClass().getSimpleName();
    }

    private ProducerTemplate template(CamelContext context) {
        ProducerTemplate current = template;
        if (current == null) {
            synchronized (this) {
                if (template == null) {
                    ProducerTemplate created = context.createProducerTemplate();
                    // stopped with the context, as the services Camel makes itself
                    try {
                        context.addService(created, true, false);
                    } catch (Exception e) {
                        throw new IllegalStateException("the pre-check's producer could not be registered", e);
                    }
                    template = created;
                }
                current = template;
            }
        }
        return current;
    }

    /** Z-API could not be asked, or its answer was not one: the batch is skipped, with this reason. */
    static final class PrecheckFailed extends Exception {
        PrecheckFailed(String message) {
            super(message);
        }
    }
}
