package io.zapi.sendcall.jms;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.UnknownHostException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.atomic.AtomicInteger;

import org.apache.activemq.artemis.api.core.Message;
import org.apache.activemq.artemis.api.core.QueueConfiguration;
import org.apache.activemq.artemis.api.core.RoutingType;
import org.apache.activemq.artemis.api.core.SimpleString;
import org.apache.activemq.artemis.core.config.Configuration;
import org.apache.activemq.artemis.core.config.impl.ConfigurationImpl;
import org.apache.activemq.artemis.core.protocol.stomp.Stomp;
import org.apache.activemq.artemis.core.protocol.stomp.StompFrame;
import org.apache.activemq.artemis.core.protocol.stomp.StompFrameInterceptor;
import org.apache.activemq.artemis.core.server.ActiveMQServer;
import org.apache.activemq.artemis.core.server.JournalType;
import org.apache.activemq.artemis.core.server.ServerSession;
import org.apache.activemq.artemis.core.server.embedded.EmbeddedActiveMQ;
import org.apache.activemq.artemis.core.server.plugin.ActiveMQServerMessagePlugin;
import org.apache.activemq.artemis.core.settings.impl.AddressSettings;
import org.apache.activemq.artemis.core.transaction.Transaction;
import org.apache.activemq.artemis.spi.core.protocol.RemotingConnection;
import org.apache.activemq.artemis.spi.core.remoting.Acceptor;
import org.apache.activemq.artemis.utils.UUIDGenerator;
import org.apache.camel.CamelContext;
import org.apache.camel.spi.PropertiesComponent;
import org.apache.camel.support.service.ServiceSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.zapi.sendcall.runtime.ModuleConfiguration;
import io.zapi.sendcall.runtime.Settings;
import io.zapi.sendcall.runtime.StartupException;

/**
 * The ActiveMQ Artemis broker the module starts when no external one is set ({@code zapi.jms.broker-url} empty): an
 * in-VM acceptor for the module itself and a TCP acceptor speaking CORE, AMQP, STOMP and OPENWIRE for everyone else,
 * with its journal under {@code <zapi.data-dir>/broker} so queued requests survive a restart, whether or not their
 * producer sent them persistent. Security is off: the acceptor listens on loopback unless
 * {@code zapi.jms.embedded-host} says otherwise.
 */
public final class EmbeddedBroker extends ServiceSupport {

    public static final String DEAD_LETTER_QUEUE = "DLQ";
    static final String EXPIRY_QUEUE = "ExpiryQueue";
    /** A message whose processing keeps failing (its record cannot be written) is tried this often, then parked. */
    static final int MAX_DELIVERY_ATTEMPTS = 3;
    static final long REDELIVERY_DELAY_MS = 1000;
    private static final long LOCK_TIMEOUT_MS = 5000;

    private static final String TCP_ACCEPTOR = "tcp";
    private static final String PROTOCOLS = "CORE,AMQP,STOMP,OPENWIRE";
    private static final AtomicInteger IN_VM_IDS = new AtomicInteger();
    private static final Logger LOG = LoggerFactory.getLogger(EmbeddedBroker.class);

    private final EmbeddedActiveMQ broker = new EmbeddedActiveMQ();
    private final String inVmUrl;
    private final String host;
    private final int port;
    private final Path directory;
    private final String queue;
    private Runnable closeClients = () -> { };
    /** Artemis starting on its own thread (see {@link #startIn}); null until then. */
    private volatile FutureTask<Void> starting;

    /** A broker not yet started, to be reached in this JVM at {@code inVmUrl} (see {@link #newInVmUrl()}). */
    public EmbeddedBroker(String inVmUrl, String host, int port, Path directory, String queue) {
        this.inVmUrl = inVmUrl;
        this.host = host;
        this.port = port;
        this.directory = directory.toAbsolutePath();
        this.queue = queue;
    }

    /**
     * Starts the broker the settings describe, beside the route loading: a port or data folder it cannot have stops
     * the start-up at once with a plain message, before any route is built; Artemis itself then starts on a thread of
     * its own while Camel loads and builds the routes (it takes about as long), and the context waits for it before
     * any route starts (a broker that fails stops the start-up then, with its reason). Stopped with the context,
     * after the routes. {@code closeClientsFirst} closes the module's own connections (bound before, so there to be
     * closed before the broker goes).
     */
    public static EmbeddedBroker startIn(CamelContext context, String inVmUrl, Runnable closeClientsFirst) throws Exception {
        PropertiesComponent properties = context.getPropertiesComponent();
        // SettingsCheck has refused a port that is not a number from 1 to 65535
        int port = Integer.parseInt(Settings.getOr(properties, ModuleConfiguration.JMS_EMBEDDED_PORT, "61616"));
        EmbeddedBroker broker = new EmbeddedBroker(inVmUrl,
                Settings.getOr(properties, ModuleConfiguration.JMS_EMBEDDED_HOST, "127.0.0.1"), port,
                Path.of(Settings.get(properties, ModuleConfiguration.DATA_DIR)).resolve("broker"),
                Settings.getOr(properties, ModuleConfiguration.JMS_QUEUE, "send-call"));
        broker.closeFirst(closeClientsFirst);
        // said before Artemis tries, which would log the same with a stack trace
        broker.requirePortFree();
        broker.requireUsableFolder();
        broker.startInBackground();
        // forceStart: its doStart() (the wait) runs as the context starts, before the routes and their consumers
        context.addService(broker, true, true);
        return broker;
    }

    /** Closes the module's own connections before the broker stops, rather than have the broker cut them. */
    public void closeFirst(Runnable closeClients) {
        this.closeClients = closeClients;
    }

    /**
     * An in-VM address no other broker of this JVM has. Known before any broker starts, so that the module's
     * connection factory can be bound to it first; the module's own connections then use no socket.
     */
    public static String newInVmUrl() {
        return "vm://" + IN_VM_IDS.incrementAndGet();
    }

    /**
     * Starts Artemis on a thread of its own; {@link #doStart()} waits for it. Artemis's own threads live on after this
     * one ends.
     */
    void startInBackground() {
        if (starting == null) {
            starting = new FutureTask<>(this::startServer, null);
            Thread thread = new Thread(starting, "embedded-broker-start");
            thread.setDaemon(true);
            thread.start();
        }
    }

    /** Waits for the broker started beside the route loading; its failure is the start-up's. */
    @Override
    protected void doStart() throws Exception {
        startInBackground();
        try {
            starting.get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException failure) {
                throw failure;
            }
            throw e;
        }
    }

    private void startServer() {
        try {
            broker.setConfiguration(configuration());
            broker.start();
        } catch (Exception e) {
            stopServer();
            throw new IllegalStateException("the embedded JMS broker did not start: " + e.getMessage(), e);
        }
        // Artemis logs what it cannot do and carries on with a dead broker: refuse instead
        ActiveMQServer server = broker.getActiveMQServer();
        Acceptor tcp = server.getRemotingService().getAcceptor(TCP_ACCEPTOR);
        if (tcp == null) {
            stopServer();
            throw new StartupException("The embedded JMS broker did not start: its data folder " + directory
                                       + " is locked by another running module, or cannot be used (see the error "
                                       + "above). Stop the other module, or give this one its own zapi.data-dir "
                                       + "(env ZAPI_DATA_DIR).");
        }
        if (!server.isActive() || tcp.getActualPort() <= 0) {
            stopServer();
            throw cannotListen("the TCP acceptor did not start");
        }
        if (!isLoopback(host)) {
            LOG.warn("The embedded JMS broker listens on {} with security off: anyone who reaches {}:{} can "
                     + "queue calls.", host, host, port);
        }
        LOG.info("Embedded JMS broker listening on tcp://{}:{} ({}), queue {}, journal in {}", host, port, PROTOCOLS,
                queue, directory);
    }

    /** The broker's folder, made if need be: a file in its place or no right to write is said in one line. */
    private void requireUsableFolder() {
        try {
            Files.createDirectories(directory);
            if (!Files.isWritable(directory)) {
                throw new IOException("not writable");
            }
        } catch (IOException e) {
            String reason = e instanceof FileAlreadyExistsException ? "a file is in its place"
                    : e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
            throw new StartupException("The embedded JMS broker cannot keep its journal in " + directory + " ("
                                       + reason + "): make it a folder this module may write, or give the module "
                                       + "another zapi.data-dir (env ZAPI_DATA_DIR).");
        }
    }

    private void requirePortFree() {
        try (ServerSocket socket = new ServerSocket()) {
            socket.setReuseAddress(true);
            socket.bind(new InetSocketAddress(host, port));
        } catch (IOException e) {
            throw cannotListen(e.getMessage());
        }
    }

    private StartupException cannotListen(String reason) {
        return new StartupException("The embedded JMS broker cannot listen on " + host + ":" + port + " (" + reason
                                    + "): is another broker or module running? Set zapi.jms.embedded-port (env "
                                    + "ZAPI_JMS_EMBEDDED_PORT) to a free port, or zapi.jms.embedded-host (env "
                                    + "ZAPI_JMS_EMBEDDED_HOST) to an address of this machine; or set "
                                    + "zapi.jms.broker-url (env ZAPI_JMS_BROKER_URL) to use a running broker instead "
                                    + "of the embedded one.");
    }

    private Configuration configuration() throws Exception {
        Configuration config = new ConfigurationImpl()
                .setName("zapi-send-call")
                .setPersistenceEnabled(true)
                .setSecurityEnabled(false)
                .setJMXManagementEnabled(false)
                // NIO works on every file system; AIO would need libaio and warn where it is missing
                .setJournalType(JournalType.NIO)
                .setJournalDirectory(directory.resolve("journal").toString())
                .setBindingsDirectory(directory.resolve("bindings").toString())
                .setPagingDirectory(directory.resolve("paging").toString())
                .setLargeMessagesDirectory(directory.resolve("large-messages").toString())
                .setNodeManagerLockDirectory(directory.toString())
                // Artemis would wait forever for a data folder another module holds
                .setJournalLockAcquisitionTimeout(LOCK_TIMEOUT_MS)
                .addAcceptorConfiguration("in-vm", inVmUrl)
                .addAcceptorConfiguration(TCP_ACCEPTOR, "tcp://" + host + ":" + port + "?protocols=" + PROTOCOLS)
                .addQueueConfiguration(QueueConfiguration.of(queue).setRoutingType(RoutingType.ANYCAST))
                .addQueueConfiguration(QueueConfiguration.of(DEAD_LETTER_QUEUE).setRoutingType(RoutingType.ANYCAST))
                .addQueueConfiguration(QueueConfiguration.of(EXPIRY_QUEUE).setRoutingType(RoutingType.ANYCAST))
                .addAddressSetting("#", new AddressSettings()
                        .setMaxDeliveryAttempts(MAX_DELIVERY_ATTEMPTS)
                        .setRedeliveryDelay(REDELIVERY_DELAY_MS)
                        .setDeadLetterAddress(SimpleString.of(DEAD_LETTER_QUEUE))
                        .setExpiryAddress(SimpleString.of(EXPIRY_QUEUE)));
        config.registerBrokerPlugin(new DurableRequests(queue));
        config.getIncomingInterceptorClassNames().add(StompBodiesAsSent.class.getName());
        return config;
    }

    /** The running broker, for tests and diagnostics. */
    public ActiveMQServer server() {
        return broker.getActiveMQServer();
    }

    /** Also when the start-up failed after the broker began starting: it is stopped once that start is over. */
    @Override
    protected void doStop() {
        if (starting != null) {
            try {
                starting.get();
            } catch (ExecutionException failedToStart) {
                // said by the start-up; stopped below all the same
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        closeClients.run();
        stopServer();
    }

    private void stopServer() {
        if (broker.getActiveMQServer() == null || !broker.getActiveMQServer().isStarted()) {
            return;
        }
        try {
            broker.stop();
        } catch (Exception e) {
            LOG.warn("The embedded JMS broker did not stop cleanly: {}", e.getMessage());
        }
    }

    /**
     * Gives every message a JMS message id, which names its record's source, even when its protocol (STOMP) has
     * none; and stores every request in the journal, even when its producer sent it non-persistent (STOMP without
     * {@code persistent:true}, AMQP's default), so that no queued request is lost when the module stops or dies.
     * (An AMQP message keeps what its producer gave it; JmsRequestBody names it.)
     */
    private static final class DurableRequests implements ActiveMQServerMessagePlugin {

        private final String requestQueue;

        DurableRequests(String requestQueue) {
            this.requestQueue = requestQueue;
        }

        @Override
        public void beforeSend(ServerSession session, Transaction tx, Message message, boolean direct,
                               boolean noAutoCreateQueue) {
            boolean changed = false;
            if (message.getUserID() == null) {
                message.setUserID(UUIDGenerator.getInstance().generateUUID());
                changed = true;
            }
            if (!message.isDurable() && requestQueue.equals(message.getAddress())) {
                message.setDurable(true);
                changed = true;
            }
            if (changed) {
                // the message may be encoded already: have the change written into what is stored and delivered
                message.messageChanged();
            }
        }
    }

    /**
     * A STOMP text frame (one without content-length) is decoded by the broker with every malformed UTF-8 sequence
     * replaced by U+FFFD, so the module would take a repaired request for what was sent. Given its length, the frame
     * becomes a bytes message holding the body as sent, which the pipeline decodes strictly: not UTF-8 is rejected
     * with its reason, as on every other input. Loaded by Artemis by name: public, with a public constructor.
     */
    public static final class StompBodiesAsSent implements StompFrameInterceptor {

        @Override
        public boolean intercept(StompFrame frame, RemotingConnection connection) {
            if (Stomp.Commands.SEND.equals(frame.getCommand()) && !frame.hasHeader(Stomp.Headers.CONTENT_LENGTH)) {
                frame.addHeader(Stomp.Headers.CONTENT_LENGTH, String.valueOf(frame.getBodyAsBytes().length));
            }
            return true;
        }
    }

    private static boolean isLoopback(String host) {
        try {
            return InetAddress.getByName(host).isLoopbackAddress();
        } catch (UnknownHostException e) {
            return false;
        }
    }
}
