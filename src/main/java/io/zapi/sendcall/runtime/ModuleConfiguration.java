package io.zapi.sendcall.runtime;

import java.nio.file.Path;
import java.util.List;

import jakarta.jms.ConnectionFactory;
import org.apache.activemq.artemis.jms.client.ActiveMQConnectionFactory;
import org.apache.camel.BindToRegistry;
import org.apache.camel.CamelConfiguration;
import org.apache.camel.CamelContext;
import org.apache.camel.CamelContextAware;
import org.apache.camel.PropertyInject;
import org.apache.camel.spi.PropertiesComponent;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.jms.connection.CachingConnectionFactory;

import io.zapi.sendcall.events.CallEvents;
import io.zapi.sendcall.events.WebhookToken;
import io.zapi.sendcall.http.HttpApiKey;
import io.zapi.sendcall.http.HttpServerConnections;
import io.zapi.sendcall.http.HttpServerErrors;
import io.zapi.sendcall.files.FilesInProgress;
import io.zapi.sendcall.inbox.FileReport;
import io.zapi.sendcall.schedule.CallSchedule;
import io.zapi.sendcall.schedule.Redials;
import io.zapi.sendcall.schedule.WaitingRows;
import io.zapi.sendcall.inbox.ResultsFiles;
import io.zapi.sendcall.pipeline.CallLedger;
import io.zapi.sendcall.inbox.NumberPrecheck;
import io.zapi.sendcall.inbox.RequestFiles;
import io.zapi.sendcall.jms.EmbeddedBroker;
import io.zapi.sendcall.observe.HealthChecks;
import io.zapi.sendcall.observe.ZapiMetrics;
import io.zapi.sendcall.pipeline.OptOutList;
import io.zapi.sendcall.pipeline.PipelineResult;
import io.zapi.sendcall.pipeline.RequestValidator;
import io.zapi.sendcall.records.Outcome;
import io.zapi.sendcall.zapi.RateLimits;
import io.zapi.sendcall.zapi.RetryAfter;
import io.zapi.sendcall.zapi.ZapiCall;
import io.zapi.sendcall.zapi.ZapiHttpClient;
import io.zapi.sendcall.zapi.ZapiInstances;

/**
 * Binds the module's beans, then puts its start-up pieces together before any route is built: the sandbox
 * ({@link SandboxMode}), the data folder and its lock, the embedded JMS broker unless an external one is set
 * ({@link EmbeddedBroker#startIn}: it starts beside the rest and the route loading), the HTTP server's bits, the
 * idempotency ledger ({@link LedgerStartup}). The settings are checked before (StartupChecks), the secrets registered
 * before that ({@link Secrets}).
 */
public class ModuleConfiguration implements CamelConfiguration, CamelContextAware {

    static final String INSTANCE_ID = "zapi.instance-id";
    static final String INSTANCE_TOKEN = "zapi.instance-token";
    static final String CLIENT_TOKEN = "zapi.client-token";
    static final String BASE_URL = "zapi.base-url";
    /** Derived at start-up from zapi.inbox.poll-delay-ms (not a setting of its own): routes/inbox-files.camel.yaml. */
    static final String INBOX_SETTLE_CHECK_MS = "zapi.inbox.settle-check-ms";
    public static final String DATA_DIR = "zapi.data-dir";
    static final String SANDBOX = "zapi.sandbox";
    static final String SANDBOX_PORT = "zapi.sandbox.port";
    public static final String HTTP_API_KEY = "zapi.http.api-key";
    static final String SERVER_ENABLED = "camel.server.enabled";
    public static final String JMS_BROKER_URL = "zapi.jms.broker-url";
    public static final String JMS_QUEUE = "zapi.jms.queue";
    public static final String JMS_EMBEDDED_HOST = "zapi.jms.embedded-host";
    public static final String JMS_EMBEDDED_PORT = "zapi.jms.embedded-port";

    /**
     * The folders of the contract under zapi.data-dir with the default zapi.inbox-dir and zapi.outbox-dir; created at
     * start-up under those settings ({@link FolderSettings}).
     */
    public static final List<String> FOLDERS = java.util.stream.Stream.of(
            FolderSettings.INBOX_FOLDERS.stream().map(folder -> folder.isEmpty() ? "inbox" : "inbox/" + folder),
            FolderSettings.OUTBOX_FOLDERS.stream().map(folder -> "outbox/" + folder)).flatMap(s -> s).toList();
    public static final List<String> OUTCOMES = Outcome.labels();

    private static final Logger LOG = LoggerFactory.getLogger(ModuleConfiguration.class);

    private CamelContext camelContext;

    @PropertyInject("zapi.default-call-duration")
    private int defaultCallDuration;

    @PropertyInject("zapi.retry.max-delay-ms")
    private long maxRetryDelayMs;
    @PropertyInject(value = JMS_BROKER_URL, defaultValue = "")
    private String jmsBrokerUrl;

    /** Where the embedded broker will be reached in-VM; decided now, as the connection factory is bound first. */
    private final String embeddedBrokerUrl = EmbeddedBroker.newInVmUrl();
    private CachingConnectionFactory jmsConnections;

    private ZapiInstances instances;

    /** The Z-API instances and which one a request takes; its settings were checked before (StartupChecks). */
    @BindToRegistry
    public synchronized ZapiInstances zapiInstances() {
        if (instances == null) {
            instances = ZapiInstances.read(camelContext.getPropertiesComponent());
        }
        return instances;
    }

    @BindToRegistry
    public RequestValidator requestValidator() {
        return new RequestValidator(defaultCallDuration, zapiInstances().names());
    }

    @PropertyInject(value = OptOutList.SETTING, defaultValue = "")
    private String optOutFile;
    private OptOutList optOutList;

    /**
     * The phones never to be called (routes/send-call.camel.yaml); a list that cannot be read stops the start-up. Made
     * once: Camel Main binds this configuration's beans twice, and the list's warnings are for each reading.
     */
    @BindToRegistry
    public synchronized OptOutList optOutList() {
        if (optOutList == null) {
            optOutList = OptOutList.read(optOutFile);
        }
        return optOutList;
    }

    @PropertyInject(value = HTTP_API_KEY, defaultValue = "")
    private String httpApiKey;

    @BindToRegistry
    public HttpApiKey httpApiKey() {
        return new HttpApiKey(httpApiKey);
    }

    @PropertyInject(value = WebhookToken.SETTING, defaultValue = "")
    private String webhookToken;

    /** The call events webhook's token (routes/call-events.camel.yaml): unset, the webhook is off. */
    @BindToRegistry
    public WebhookToken webhookToken() {
        return new WebhookToken(webhookToken);
    }

    @PropertyInject(value = "zapi.webhook.correlation-window-seconds", defaultValue = "600")
    private long correlationWindowSeconds;

    @BindToRegistry
    public CallEvents callEvents() {
        return new CallEvents(zapiInstances(), correlationWindowSeconds);
    }

    @BindToRegistry
    public RequestFiles requestFiles() {
        return new RequestFiles(() -> camelContext != null && camelContext.isStopping());
    }

    @PropertyInject(value = "zapi.precheck", defaultValue = "false")
    private boolean precheck;
    @PropertyInject(value = "zapi.precheck.batch-size", defaultValue = "1000")
    private int precheckBatchSize;

    /** Splits an inbox file's rows, checked with phone-exists-batch a batch ahead when zapi.precheck=true. */
    @BindToRegistry
    public NumberPrecheck numberPrecheck() {
        return new NumberPrecheck(precheck, precheckBatchSize, requestValidator(), zapiInstances(),
                optOutList());
    }

    @BindToRegistry
    public RetryAfter retryAfter() {
        return new RetryAfter(maxRetryDelayMs);
    }

    @BindToRegistry
    public ZapiCall zapiCall() {
        return new ZapiCall();
    }

    @PropertyInject("zapi.http.response-timeout-ms")
    private long responseTimeoutMs;

    /** The module's own meters, in Camel's metrics registry: named by the routes, and timing the HttpClient's calls. */
    private final ZapiMetrics metrics = new ZapiMetrics(() -> camelContext);

    @BindToRegistry
    public ZapiMetrics zapiMetrics() {
        return metrics;
    }

    /** The retry policy's onRedelivery (routes/error-handling.camel.yaml): counts each retry by its reason. */
    @BindToRegistry
    public org.apache.camel.Processor zapiRetryCounter() {
        return metrics.retryCounter();
    }

    /** The call-zapi route's HttpClient: a deadline on the whole answer, no stale pooled connection, no re-sending. */
    @BindToRegistry(destroyMethod = "close")
    public ZapiHttpClient zapiHttpClient() {
        metrics.nameInstances(zapiInstances());
        // the rate limits are made with the ledger (LedgerStartup), before any route makes its HttpClient
        return new ZapiHttpClient(responseTimeoutMs, zapiInstances().all(), metrics.callMeter(),
                () -> camelContext.getRegistry().lookupByNameAndType("rateLimit", RateLimits.class));
    }

    @BindToRegistry
    public PipelineResult pipelineResult() {
        return new PipelineResult();
    }

    @PropertyInject("zapi.reports.progress-interval-ms")
    private long progressIntervalMs;

    private FilesInProgress filesInProgress;
    private WaitingRows waitingRows;
    @PropertyInject("zapi.redial.max-attempts")
    private int redialMaxAttempts;
    @PropertyInject(SettingsCheck.REDIAL_DELAY_MINUTES)
    private double redialDelayMinutes;

    /** The inbox files in progress, their status and controls, in the ledger (GET /files, routes/files-api). */
    @BindToRegistry
    public synchronized FilesInProgress filesInProgress() {
        if (filesInProgress == null) {
            filesInProgress = new FilesInProgress(camelContext);
        }
        return filesInProgress;
    }

    /** The rows of inbox files that wait to be called, in the ledger (routes/waiting-rows). */
    @BindToRegistry
    public synchronized WaitingRows waitingRows() {
        if (waitingRows == null) {
            waitingRows = new WaitingRows(camelContext);
        }
        return waitingRows;
    }

    /** Missed calls of inbox rows called again (zapi.redial.*): send-call remembers each call, call events redial. */
    @BindToRegistry
    public Redials redials() {
        return new Redials(camelContext, redialMaxAttempts, redialDelayMinutes);
    }

    /** Whether a request is called now: its file's control, its notBefore, the calling hours (send-call). */
    @BindToRegistry
    public CallSchedule callSchedule() {
        return new CallSchedule(SettingsCheck.callingHours(camelContext.getPropertiesComponent()), filesInProgress(),
                waitingRows());
    }

    @BindToRegistry
    public FileReport fileReport() {
        return new FileReport(progressIntervalMs);
    }

    @PropertyInject("zapi.outbox-dir")
    private String outboxDir;

    /** Inbox files' results files, in {@code <zapi.outbox-dir>/results}; the ledger is looked up once it is open. */
    @BindToRegistry
    public ResultsFiles resultsFiles() {
        return new ResultsFiles(Path.of(outboxDir, "results"),
                () -> CallLedger.of(camelContext));
    }

    /**
     * The one JMS connection factory, so the jms component uses it without being told: the external broker's when
     * zapi.jms.broker-url is set, else the embedded broker's in-VM one. Sessions and producers are cached, so that
     * replies and jms: outcome endpoints do not open a connection per message; consumers are not, so that a stopped
     * route really stops taking messages (the listener container keeps its own consumer).
     */
    @BindToRegistry(destroyMethod = "destroy")
    public ConnectionFactory jmsConnectionFactory() {
        String url = jmsBrokerUrl.isBlank() ? embeddedBrokerUrl : jmsBrokerUrl.trim();
        ActiveMQConnectionFactory artemis = new ActiveMQConnectionFactory(url);
        if (!url.contains("consumerWindowSize")) {
            // the queue's consumers (zapi.concurrency of them, and other replicas' on an external broker) compete: no
            // message is buffered in a consumer (Artemis buffers 1 MiB by default), so a message one has not started
            // stays on the broker for a free one. Otherwise the first consumer to connect after a restart took the
            // whole backlog and handled it one message at a time. The URL's own consumerWindowSize wins.
            artemis.setConsumerWindowSize(0);
        }
        jmsConnections = new CachingConnectionFactory(artemis);
        jmsConnections.setSessionCacheSize(10);
        jmsConnections.setCacheConsumers(false);
        return jmsConnections;
    }

    /**
     * Puts the module's start-up pieces together, after the beans above are bound and the settings checked
     * (StartupChecks): the sandbox, the data folder, the embedded broker, the HTTP input, the ledger.
     */
    @Override
    public void configure(CamelContext context) throws Exception {
        PropertiesComponent properties = context.getPropertiesComponent();
        // how often a file of the inbox is looked at again while it settles: the poll delay, up to a second. Camel
        // refuses a read-lock check interval over its read-lock timeout (10 s), and a poll delay may be an hour
        long pollDelayMs = Long.parseLong(Settings.getOr(properties, "zapi.inbox.poll-delay-ms", "500"));
        properties.addOverrideProperty(INBOX_SETTLE_CHECK_MS, String.valueOf(Math.min(pollDelayMs, 1000)));
        context.addStartupListener(metrics);
        metrics.conformCamelMeters(context);
        Path dataDir = Path.of(Settings.get(properties, DATA_DIR));
        // before anything uses the data folder, whatever the broker; the first service added is the last stopped
        DataFolderLock lock = DataFolderLock.acquire(dataDir);
        context.addService(lock, true, true);
        EmbeddedBroker broker = null;
        try {
            FolderSettings.create(properties);
            if (Settings.get(properties, JMS_BROKER_URL) == null) {
                // starts beside what follows and the route loading; the context waits for it before any route starts
                broker = EmbeddedBroker.startIn(context, embeddedBrokerUrl, jmsConnections::resetConnection);
            }
            configureHttp(context, properties);
            LedgerStartup.start(context);
            HealthChecks.registerIn(context);
        } catch (Exception e) {
            if (broker != null) {
                // it may be starting still: stopped once that start is over, so that nothing of this start-up runs on
                broker.stop();
            }
            lock.stop();
            throw e;
        }
    }

    @Override
    public void setCamelContext(CamelContext camelContext) {
        this.camelContext = camelContext;
    }

    @Override
    public CamelContext getCamelContext() {
        return camelContext;
    }

    /** The HTTP input's server bits: answers the server makes itself are JSON too; its idle timeout. */
    private static void configureHttp(CamelContext context, PropertiesComponent properties) throws Exception {
        // the limit the server enforces: camel.server.max-body-size, {{zapi.http.max-body-bytes}} unless set apart
        long maxBodyBytes = Long.parseLong(Settings.getOr(properties, "camel.server.max-body-size", "65536"));
        context.addStartupListener(new HttpServerErrors(maxBodyBytes));
        // idle timeout, answers after the client's half-close: the server takes this Vert.x from the registry
        HttpServerConnections.bindServerVertx(context);
        if (Settings.get(properties, HTTP_API_KEY) == null) {
            // SettingsCheck let it past loopback only if zapi.http.allow-anonymous=true
            String host = Settings.getOr(properties, SettingsCheck.SERVER_HOST, SettingsCheck.LOOPBACK);
            LOG.warn("The HTTP endpoint POST /send-call is open: anyone who can reach {}:{} can place calls{}. "
                     + "Set {} (env {}) to require it in an {} header.", host, Settings.getOr(properties,
                    "camel.server.port", "8080"), SettingsCheck.isLoopback(host) ? " (loopback: this machine only)"
                            : "", HTTP_API_KEY, envName(HTTP_API_KEY), HttpApiKey.HEADER);
        }
    }

    public static String envName(String key) {
        return Settings.envName(key);
    }
}
