package io.zapi.sendcall.observe;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiConsumer;
import java.util.function.Supplier;
import java.util.regex.Pattern;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.config.MeterFilter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.apache.camel.CamelContext;
import org.apache.camel.Exchange;
import org.apache.camel.ExchangePropertyKey;
import org.apache.camel.Processor;
import org.apache.camel.StartupListener;
import org.apache.camel.component.micrometer.MicrometerConstants;
import org.apache.camel.support.SynchronizationAdapter;
import org.apache.hc.client5.http.ConnectTimeoutException;
import org.apache.hc.client5.http.classic.ExecChain;
import org.apache.hc.client5.http.classic.ExecChainHandler;
import org.apache.hc.core5.http.ClassicHttpRequest;
import org.apache.hc.core5.http.ClassicHttpResponse;
import org.apache.hc.core5.http.HttpException;

import io.zapi.sendcall.pipeline.CallRequest;
import io.zapi.sendcall.pipeline.RequestSource;
import io.zapi.sendcall.records.Outcome;
import io.zapi.sendcall.records.OutcomeRecord;
import io.zapi.sendcall.zapi.RetryableStatusException;
import io.zapi.sendcall.zapi.ZapiInstances;

/**
 * The module's own meters, in the Micrometer registry Camel Main made for GET /observe/metrics (bound as
 * {@code metricsRegistry} by camel-micrometer-prometheus). Every label is a word from a short fixed list, an HTTP
 * status or the name of a configured Z-API instance ({@code none} when a request got none): never a phone, a file
 * name or an id, so the number of series stays bounded whatever the traffic.
 * <ul>
 * <li>{@code zapi_requests_total{channel, outcome, instance}}: one per outcome record (routes/outcomes.camel.yaml)</li>
 * <li>{@code zapi_call_duration_seconds{status, instance}}, {@code zapi_calls_in_flight}: each HTTP call to Z-API,
 * timed in the HttpClient itself ({@link #callMeter()}), so that a call ending without an answer is timed too</li>
 * <li>{@code zapi_retries_total{reason, instance}}: each retry the retry policy makes
 * (routes/error-handling.camel.yaml)</li>
 * <li>{@code zapi_instance_requests_in_flight{instance}}: requests picked for an instance and not yet done, waits for
 * its rate limit and retries included (zapi/ZapiInstances)</li>
 * <li>{@code zapi_inbox_files_in_progress}, {@code zapi_inbox_rows_read_total}: routes/inbox-files.camel.yaml</li>
 * </ul>
 */
public class ZapiMetrics implements StartupListener {

    /** Channels and retry reasons outside these lists are counted as "other": a label never takes a free value. */
    private static final Set<String> CHANNELS = Set.of("file", "http", "jms");
    private static final Set<String> RETRYABLE_STATUSES = Set.of("429", "502", "503", "504");
    private static final String OTHER = "other";
    /** The instance label of a request that got none (rejected before one was picked, or asked for none known). */
    private static final String NO_INSTANCE = "none";
    /** Buckets of zapi_call_duration_seconds, from a fast answer to the longest a response timeout allows. */
    private static final Duration[] CALL_BUCKETS = {Duration.ofMillis(5), Duration.ofMillis(10), Duration.ofMillis(25),
            Duration.ofMillis(50), Duration.ofMillis(100), Duration.ofMillis(250), Duration.ofMillis(500),
            Duration.ofSeconds(1), Duration.ofMillis(2500), Duration.ofSeconds(5), Duration.ofSeconds(10),
            Duration.ofSeconds(30), Duration.ofSeconds(60)};

    private final Supplier<CamelContext> camelContext;
    private final AtomicInteger callsInFlight = new AtomicInteger();
    private final AtomicInteger filesInProgress = new AtomicInteger();
    private volatile MeterRegistry registry;
    /** Meters by their label values, registered once: a builder's register looks the meter up on every use. */
    private final Map<String, Counter> requestCounters = new ConcurrentHashMap<>();
    private final Map<String, Timer> callTimers = new ConcurrentHashMap<>();
    /** Told of each call as it ends, with its HTTP status, or the failure when no answer came. */
    private volatile BiConsumer<Integer, Throwable> callWatcher = (status, failure) -> { };
    /** The instance of a call to Z-API, by its request path (which holds the instance's id and token). */
    private volatile Map<String, String> instanceByPath = Map.of();
    private volatile ZapiInstances instances;

    public ZapiMetrics(Supplier<CamelContext> camelContext) {
        this.camelContext = camelContext;
    }

    /** The gauges exist from the start, so that a scrape before any traffic shows them at 0. */
    @Override
    public void onCamelContextStarted(CamelContext context, boolean alreadyStarted) {
        registry();
    }

    /**
     * Makes Camel's own meters pass {@code promtool check metrics} like ours: label names in snake_case
     * ({@code routeId} becomes {@code route_id}) and a help text for each. To be called before Camel registers any
     * meter (ModuleConfiguration, before the routes exist): a filter does not change meters already registered.
     */
    public void conformCamelMeters(CamelContext context) {
        MeterRegistry camels = context.getRegistry()
                .lookupByNameAndType(MicrometerConstants.METRICS_REGISTRY_NAME, MeterRegistry.class);
        if (camels != null) {
            camels.config().meterFilter(new PrometheusLint());
        }
    }

    /**
     * The instances calls go through: the call timer tells them by path, and each gets its gauge of requests in
     * flight. Bound before any call (ModuleConfiguration).
     */
    public void nameInstances(ZapiInstances zapiInstances) {
        Map<String, String> byPath = new HashMap<>();
        zapiInstances.all().forEach(instance -> {
            byPath.put(instance.requestPath(), instance.name());
            byPath.put(instance.requestPath(instance.phoneExistsBatchPath()), instance.name());
        });
        this.instanceByPath = Map.copyOf(byPath);
        this.instances = zapiInstances;
    }

    /** An outcome record was made (records/outcomes route): by its input, its outcome and its instance. */
    public void countRequest(Exchange exchange) {
        String channel = RequestSource.of(exchange).channel();
        String channelLabel = CHANNELS.contains(channel) ? channel : OTHER;
        String outcome = Outcome.of(exchange.getProperty("outcome", String.class)).label();
        String instance = instanceLabel(OutcomeRecord.instance(exchange,
                exchange.getProperty(OutcomeRecord.CALL_REQUEST, CallRequest.class)));
        requestCounters.computeIfAbsent(channelLabel + " " + outcome + " " + instance,
                labels -> Counter.builder("zapi.requests")
                        .description("Requests that got their outcome record, by input channel, outcome and Z-API "
                                     + "instance")
                        .tag("channel", channelLabel)
                        .tag("outcome", outcome)
                        .tag("instance", instance)
                        .register(registry())).increment();
    }

    private static String instanceLabel(String name) {
        return name != null ? name : NO_INSTANCE;
    }

    /** A call event from Z-API's webhook was recorded (once per callId and notification): answered or missed. */
    public void countCallEvent(String event, String instance) {
        Counter.builder("zapi.call.events")
                .description("Call events from Z-API's webhook recorded, by event (answered, missed) and instance")
                .tag("event", event)
                .tag("instance", instance == null ? OTHER : instance)
                .register(registry()).increment();
    }

    /** A row (request) was read from an inbox file. */
    public void countRowRead() {
        Counter.builder("zapi.inbox.rows.read").description("Requests read from inbox files")
                .register(registry()).increment();
    }

    /** An inbox file is being read: in progress until its exchange ends, whichever way it ends. */
    public void fileStarted(Exchange exchange) {
        registry();
        filesInProgress.incrementAndGet();
        exchange.getExchangeExtension().addOnCompletion(new SynchronizationAdapter() {
            @Override
            public void onDone(Exchange done) {
                filesInProgress.decrementAndGet();
            }
        });
    }

    /** The retry policy's onRedelivery: counts the retry about to be made, by why the attempt before failed. */
    public Processor retryCounter() {
        return exchange -> Counter.builder("zapi.retries")
                .description("Calls to Z-API made again by the retry policy, by what the attempt before got and "
                             + "Z-API instance")
                .tag("reason", retryReason(exchange))
                .tag("instance", instanceLabel(OutcomeRecord.instance(exchange, null)))
                .register(registry()).increment();
    }

    /** Times each HTTP call to Z-API (the HttpClient's outermost step) and counts it in flight meanwhile. */
    public ExecChainHandler callMeter() {
        return this::timeCall;
    }

    /**
     * The one watcher of each call as it ends (the zapi health check): its HTTP status, or its failure when no answer
     * came. Told from the HttpClient itself, as the call's meter is, rather than from Camel's exchange events: those
     * cost every exchange of every route some work, for this one endpoint.
     */
    public void watchCalls(BiConsumer<Integer, Throwable> watcher) {
        this.callWatcher = watcher;
    }

    private ClassicHttpResponse timeCall(ClassicHttpRequest request, ExecChain.Scope scope, ExecChain chain)
            throws IOException, HttpException {
        MeterRegistry meters = registry();
        Timer.Sample sample = Timer.start(meters);
        callsInFlight.incrementAndGet();
        String status = "error";
        String instance = instanceByPath.getOrDefault(request.getPath(), OTHER);
        try {
            ClassicHttpResponse response = chain.proceed(request, scope);
            status = String.valueOf(response.getCode());
            callWatcher.accept(response.getCode(), null);
            return response;
        } catch (IOException | HttpException | RuntimeException e) {
            status = failureWord(e);
            callWatcher.accept(null, e);
            throw e;
        } finally {
            callsInFlight.decrementAndGet();
            String finalStatus = status;
            sample.stop(callTimers.computeIfAbsent(status + " " + instance, labels -> Timer.builder("zapi.call.duration")
                    .description("HTTP calls to Z-API, by HTTP status (or connect, timeout or error when none came) "
                                 + "and Z-API instance")
                    .tag("status", finalStatus)
                    .tag("instance", instance)
                    .serviceLevelObjectives(CALL_BUCKETS)
                    .register(meters)));
        }
    }

    /** No status: "connect" when no connection was made, "timeout" when the answer did not come in time. */
    static String failureWord(Throwable failure) {
        if (failure instanceof ConnectException || failure instanceof ConnectTimeoutException
            || failure instanceof NoRouteToHostException || failure instanceof UnknownHostException) {
            return "connect";
        }
        if (failure instanceof InterruptedIOException) {
            return "timeout";
        }
        return "error";
    }

    private static String retryReason(Exchange exchange) {
        Throwable failure = exchange.getException() != null ? exchange.getException()
                : exchange.getProperty(ExchangePropertyKey.EXCEPTION_CAUGHT, Throwable.class);
        if (failure instanceof RetryableStatusException) {
            String status = exchange.getProperty("zapiStatus", String.class);
            return RETRYABLE_STATUSES.contains(status) ? status : OTHER;
        }
        return failure != null && "connect".equals(failureWord(failure)) ? "connect" : OTHER;
    }

    /**
     * Camel's registry when metrics are on; else one of our own that nobody reads. Looked up at first use, which is
     * after Camel started its metrics service.
     */
    private MeterRegistry registry() {
        MeterRegistry meters = registry;
        if (meters == null) {
            synchronized (this) {
                if (registry == null) {
                    MeterRegistry camels = camelContext.get().getRegistry()
                            .lookupByNameAndType(MicrometerConstants.METRICS_REGISTRY_NAME, MeterRegistry.class);
                    meters = camels != null ? camels : new SimpleMeterRegistry();
                    Gauge.builder("zapi.calls.in.flight", callsInFlight, AtomicInteger::get)
                            .description("HTTP calls to Z-API under way").register(meters);
                    Gauge.builder("zapi.inbox.files.in.progress", filesInProgress, AtomicInteger::get)
                            .description("Inbox files being read").register(meters);
                    registerInstanceGauges(meters);
                    // read from the ledger at each scrape: the rows of every replica, as they share them
                    Gauge.builder("zapi.waiting.rows", camelContext, ZapiMetrics::waitingRows)
                            .description("Rows of inbox files waiting to be called (calling hours, notBefore, a "
                                         + "paused file, a redial), all replicas together").register(meters);
                    registry = meters;
                }
                meters = registry;
            }
        }
        return meters;
    }

    /** The rows waiting in the ledger; NaN while it cannot say (a scrape must not fail for it). */
    private static double waitingRows(java.util.function.Supplier<CamelContext> context) {
        try {
            io.zapi.sendcall.schedule.WaitingRows rows = context.get().getRegistry()
                    .lookupByNameAndType("waitingRows", io.zapi.sendcall.schedule.WaitingRows.class);
            return rows != null ? rows.waitingCount() : Double.NaN;
        } catch (RuntimeException e) {
            return Double.NaN;
        }
    }

    private void registerInstanceGauges(MeterRegistry meters) {
        ZapiInstances known = instances;
        if (known != null) {
            known.names().forEach(name -> Gauge.builder("zapi.instance.requests.in.flight", known,
                            all -> all.inFlight(name))
                    .description("Requests picked for a Z-API instance and not yet done, waits for its rate limit "
                                 + "and retries included")
                    .tag("instance", name).register(meters));
        }
    }

    /** Label names in snake_case, and a help text where a meter has none. */
    static final class PrometheusLint implements MeterFilter {

        private static final Pattern HUMP = Pattern.compile("([a-z0-9])([A-Z])");

        @Override
        public Meter.Id map(Meter.Id id) {
            List<Tag> tags = id.getTags().stream()
                    .map(tag -> Tag.of(HUMP.matcher(tag.getKey()).replaceAll("$1_$2").toLowerCase(Locale.ROOT),
                            tag.getValue()))
                    .toList();
            String description = id.getDescription() != null && !id.getDescription().isBlank() ? id.getDescription()
                    : "Camel's " + id.getName();
            return new Meter.Id(id.getName(), Tags.of(tags), id.getBaseUnit(), description, id.getType());
        }
    }
}
