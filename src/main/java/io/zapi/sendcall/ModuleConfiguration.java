package io.zapi.sendcall;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Locale;

import jakarta.jms.ConnectionFactory;
import org.apache.activemq.artemis.jms.client.ActiveMQConnectionFactory;
import org.apache.camel.BindToRegistry;
import org.apache.camel.CamelConfiguration;
import org.apache.camel.CamelContext;
import org.apache.camel.CamelContextAware;
import org.sqlite.SQLiteConfig;
import org.sqlite.SQLiteDataSource;
import org.springframework.jdbc.datasource.SingleConnectionDataSource;
import org.apache.camel.PropertyInject;
import org.apache.camel.spi.PropertiesComponent;
import org.apache.camel.support.service.ServiceSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.jms.connection.CachingConnectionFactory;

/**
 * Binds the module's beans and checks its settings before any route is built: the credentials are there (or the
 * sandbox stands in for Z-API), the secrets are known to the log masking, and the data folders exist. Starts the
 * embedded JMS broker unless an external one is set.
 */
public class ModuleConfiguration implements CamelConfiguration, CamelContextAware {

    static final String INSTANCE_ID = "zapi.instance-id";
    static final String INSTANCE_TOKEN = "zapi.instance-token";
    static final String CLIENT_TOKEN = "zapi.client-token";
    static final String BASE_URL = "zapi.base-url";
    static final String DATA_DIR = "zapi.data-dir";
    static final String SANDBOX = "zapi.sandbox";
    static final String SANDBOX_PORT = "zapi.sandbox.port";
    static final String HTTP_API_KEY = "zapi.http.api-key";
    static final String SERVER_ENABLED = "camel.server.enabled";
    static final String JMS_BROKER_URL = "zapi.jms.broker-url";
    static final String JMS_QUEUE = "zapi.jms.queue";
    static final String JMS_EMBEDDED_HOST = "zapi.jms.embedded-host";
    static final String JMS_EMBEDDED_PORT = "zapi.jms.embedded-port";

    /** The folders of the contract, created at start-up under zapi.data-dir. */
    static final List<String> FOLDERS = java.util.stream.Stream.of(List.of("inbox", "inbox/.done", "inbox/.error"),
            Outcome.labels().stream().map(outcome -> "outbox/" + outcome).toList(), List.of("outbox/reports"))
            .flatMap(List::stream).toList();
    static final List<String> OUTCOMES = Outcome.labels();

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

    @BindToRegistry
    public RequestValidator requestValidator() {
        return new RequestValidator(defaultCallDuration);
    }

    @PropertyInject(value = HTTP_API_KEY, defaultValue = "")
    private String httpApiKey;

    @BindToRegistry
    public HttpApiKey httpApiKey() {
        return new HttpApiKey(httpApiKey);
    }

    @BindToRegistry
    public RequestFiles requestFiles() {
        return new RequestFiles(() -> camelContext != null && camelContext.isStopping());
    }

    @BindToRegistry
    public RetryAfter retryAfter() {
        return new RetryAfter(maxRetryDelayMs);
    }

    @PropertyInject("zapi.http.response-timeout-ms")
    private long responseTimeoutMs;
    @PropertyInject("zapi.concurrency")
    private int concurrency;

    /** The call-zapi route's HttpClient: a deadline on the whole answer, no stale pooled connection, no re-sending. */
    @BindToRegistry(destroyMethod = "close")
    public ZapiHttpClient zapiHttpClient() {
        return new ZapiHttpClient(responseTimeoutMs, concurrency);
    }

    @BindToRegistry
    public PipelineResult pipelineResult() {
        return new PipelineResult();
    }

    @BindToRegistry
    public FileReport fileReport() {
        return new FileReport();
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
        jmsConnections = new CachingConnectionFactory(new ActiveMQConnectionFactory(url));
        jmsConnections.setSessionCacheSize(10);
        jmsConnections.setCacheConsumers(false);
        return jmsConnections;
    }

    @Override
    public void configure(CamelContext context) throws Exception {
        PropertiesComponent properties = context.getPropertiesComponent();
        if (Boolean.parseBoolean(setting(properties, SANDBOX))) {
            startSandbox(context, properties);
        }
        requireCredentials(properties);
        SecretMasking.register(setting(properties, INSTANCE_TOKEN));
        SecretMasking.register(setting(properties, CLIENT_TOKEN));
        // before anything uses the data folder, whatever the broker; the first service added is the last stopped
        DataFolderLock lock = DataFolderLock.acquire(Path.of(setting(properties, DATA_DIR)));
        context.addService(lock, true, true);
        try {
            createFolders(Path.of(setting(properties, DATA_DIR)));
            if (setting(properties, JMS_BROKER_URL) == null) {
                startEmbeddedBroker(context, properties);
            }
            configureHttp(context, properties);
            startLedger(context, properties);
        } catch (Exception e) {
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

    /** The idempotency ledger, on an embedded SQLite database under zapi.data-dir, started before any route. */
    private static void startLedger(CamelContext context, PropertiesComponent properties) throws Exception {
        Path folder = Path.of(setting(properties, DATA_DIR)).toAbsolutePath().resolve("ledger");
        Files.createDirectories(folder);
        // WAL journal, synchronous NORMAL: a commit is in the operating system's hands when add() returns, so a key
        // survives kill -9 of the module (not a power cut before the next checkpoint), at a small write per commit
        SQLiteConfig config = new SQLiteConfig();
        config.setJournalMode(SQLiteConfig.JournalMode.WAL);
        config.setSynchronous(SQLiteConfig.SynchronousMode.NORMAL);
        config.setBusyTimeout(30_000);
        SQLiteDataSource sqlite = new SQLiteDataSource(config);
        sqlite.setUrl("jdbc:sqlite:" + folder.resolve("calls.db"));
        // one connection for the ledger, which uses it one call at a time
        SingleConnectionDataSource database = new SingleConnectionDataSource(sqlite.getConnection(), true);
        Map<String, Path> recordFolders = new LinkedHashMap<>();
        for (String outcome : OUTCOMES) {
            String uri = setting(properties, "zapi.outcome." + outcome + "-uri");
            if (uri != null && uri.startsWith("file:")) {
                recordFolders.put(outcome, Path.of(uri.substring("file:".length()).replaceFirst("\\?.*", "")));
            }
        }
        CallLedger ledger = new CallLedger(database,
                Boolean.parseBoolean(setting(properties, "zapi.resend-interrupted")), recordFolders);
        ledger.open();
        context.getRegistry().bind("callLedger", ledger);
        context.getRegistry().bind("pendingRecords", new PendingRecords(context, ledger));
        // closed with the context, not with a route that uses it: a route stopped and started again keeps its ledger
        context.addService(new ServiceSupport() {
            @Override
            protected void doStop() {
                ledger.close();
            }
        }, true, true);
    }

    /** The HTTP input: Camel's embedded server must run it, answers the server makes itself are JSON too. */
    private static void configureHttp(CamelContext context, PropertiesComponent properties) throws Exception {
        // without it Camel fails later with "No PlatformHttpEngine created and setup in registry"
        if (!Boolean.parseBoolean(setting(properties, SERVER_ENABLED))) {
            throw new StartupException(SERVER_ENABLED + " must be true: the HTTP input (POST /send-call) is served by "
                                       + "Camel's embedded HTTP server. Set it to true (env "
                                       + envName(SERVER_ENABLED) + ").");
        }
        // the limit the server enforces: camel.server.max-body-size, {{zapi.http.max-body-bytes}} unless set apart
        long maxBodyBytes = Long.parseLong(settingOr(properties, "camel.server.max-body-size", "65536"));
        context.addStartupListener(new HttpServerErrors(maxBodyBytes));
        // idle timeout, answers after the client's half-close: the server takes this Vert.x from the registry
        HttpServerConnections.bindServerVertx(context);
        if (setting(properties, HTTP_API_KEY) == null) {
            // SettingsCheck let it past loopback only if zapi.http.allow-anonymous=true
            String host = settingOr(properties, SettingsCheck.SERVER_HOST, SettingsCheck.LOOPBACK);
            LOG.warn("The HTTP endpoint POST /send-call is open: anyone who can reach {}:{} can place calls{}. "
                     + "Set {} (env {}) to require it in an {} header.", host, settingOr(properties,
                    "camel.server.port", "8080"), SettingsCheck.isLoopback(host) ? " (loopback: this machine only)"
                            : "", HTTP_API_KEY, envName(HTTP_API_KEY), HttpApiKey.HEADER);
        }
    }

    private static void startSandbox(CamelContext context, PropertiesComponent properties) throws Exception {
        String instanceId = settingOr(properties, INSTANCE_ID, "sandbox-instance");
        String instanceToken = settingOr(properties, INSTANCE_TOKEN, "sandbox-instance-token");
        String clientToken = settingOr(properties, CLIENT_TOKEN, "sandbox-client-token");
        int port = Integer.parseInt(settingOr(properties, SANDBOX_PORT, "0"));
        ZapiSandbox sandbox = ZapiSandbox.start(port, instanceId, instanceToken, clientToken);
        context.addService(sandbox, true, true);
        properties.addOverrideProperty(BASE_URL, sandbox.baseUrl());
        properties.addOverrideProperty(INSTANCE_ID, instanceId);
        properties.addOverrideProperty(INSTANCE_TOKEN, instanceToken);
        properties.addOverrideProperty(CLIENT_TOKEN, clientToken);
        LOG.warn("*****************************************************************************");
        LOG.warn("SANDBOX MODE (zapi.sandbox=true): NO REAL CALL IS PLACED.");
        LOG.warn("Requests go to a Z-API simulator at {}, not to Z-API.", sandbox.baseUrl());
        LOG.warn("*****************************************************************************");
    }

    /**
     * Started here, before any route is built, so that a port or data folder it cannot have stops the start-up with
     * a plain message; stopped with the context, after the routes. Camel Main binds the beans above before it calls
     * configure, so the connection factory is there to be closed before the broker goes.
     */
    private void startEmbeddedBroker(CamelContext context, PropertiesComponent properties) throws Exception {
        String host = settingOr(properties, JMS_EMBEDDED_HOST, "127.0.0.1");
        String port = settingOr(properties, JMS_EMBEDDED_PORT, "61616");
        if (!port.matches("[0-9]{1,5}") || Integer.parseInt(port) < 1 || Integer.parseInt(port) > 65535) {
            throw new StartupException(JMS_EMBEDDED_PORT + " (env " + envName(JMS_EMBEDDED_PORT) + ") must be a port "
                                       + "number from 1 to 65535, was \"" + port + "\"");
        }
        Path directory = Path.of(setting(properties, DATA_DIR)).resolve("broker");
        EmbeddedBroker broker = new EmbeddedBroker(embeddedBrokerUrl, host, Integer.parseInt(port), directory,
                settingOr(properties, JMS_QUEUE, "send-call"));
        broker.closeFirst(jmsConnections::resetConnection);
        broker.start();
        context.addService(broker, true, true);
    }

    private static void requireCredentials(PropertiesComponent properties) {
        List<String> missing = new ArrayList<>();
        for (String key : List.of(INSTANCE_ID, INSTANCE_TOKEN, CLIENT_TOKEN)) {
            if (setting(properties, key) == null) {
                missing.add(key + " (env " + envName(key) + ")");
            }
        }
        if (!missing.isEmpty()) {
            throw new StartupException("Missing setting" + (missing.size() > 1 ? "s " : " ") + String.join(", ", missing)
                                       + ". Set " + (missing.size() > 1 ? "them" : "it") + " in application.properties, as -D system properties or as "
                                       + "environment variables; or run with -Dzapi.sandbox=true to try the module "
                                       + "against a local Z-API simulator.");
        }
    }

    /** Camel would fail with a bare NoSuchFileException; say what to do instead. Checked before anything starts. */
    static void requireRoutesFolder(PropertiesComponent properties) {
        String pattern = settingOr(properties, "camel.main.routes-include-pattern", "");
        for (String location : pattern.split(",")) {
            if (location.startsWith("file:")) {
                Path folder = Path.of(location.substring("file:".length())).toAbsolutePath().getParent();
                if (folder != null && !Files.isDirectory(folder)) {
                    throw new StartupException("The routes folder " + folder + " does not exist: start the module "
                                               + "from the project root, where routes/ and application.properties "
                                               + "are, or set camel.main.routes-include-pattern.");
                }
            }
        }
    }

    private static void createFolders(Path dataDir) {
        try {
            for (String folder : FOLDERS) {
                Files.createDirectories(dataDir.resolve(folder));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the data folders under " + dataDir.toAbsolutePath(), e);
        }
    }

    static String envName(String key) {
        return key.toUpperCase(Locale.ROOT).replace('.', '_').replace('-', '_');
    }

    private static String setting(PropertiesComponent properties, String key) {
        return properties.resolveProperty(key).filter(value -> !value.isBlank()).orElse(null);
    }

    private static String settingOr(PropertiesComponent properties, String key, String fallback) {
        String value = setting(properties, key);
        return value != null ? value : fallback;
    }
}
