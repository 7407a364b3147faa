package io.zapi.sendcall.runtime;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.apache.camel.spi.PropertiesComponent;

import io.zapi.sendcall.inbox.NumberPrecheck;
import io.zapi.sendcall.observe.HealthChecks;

/**
 * The settings, checked before anything starts (no folder, broker, server or route yet): every number against its
 * range, every switch for true or false, who may reach the HTTP API and the embedded broker, and whether the HTTP
 * port is free. A wrong value would otherwise surface late, or never: {@code zapi.concurrency=0} hangs the module.
 */
final class SettingsCheck {

    static final String SERVER_HOST = "camel.server.host";
    static final String SERVER_PORT = "camel.server.port";
    static final String MANAGEMENT_HOST = "camel.management.host";
    static final String MANAGEMENT_PORT = "camel.management.port";
    static final String HTTP_ALLOW_ANONYMOUS = "zapi.http.allow-anonymous";
    static final String JMS_ALLOW_ANONYMOUS = "zapi.jms.allow-anonymous";
    /** Where the HTTP API listens when no API key is set and no host is given: this machine only. */
    static final String LOOPBACK = "127.0.0.1";
    /** Where it listens with an API key and no host given: every interface, Camel's own default. */
    static final String EVERY_INTERFACE = "0.0.0.0";

    private static final long HOUR_MS = 3_600_000;

    /** A whole-number setting and its range; the README's Settings table says the same. */
    record Range(String key, long min, long max) {
    }

    static final List<Range> NUMBERS = List.of(
            new Range("zapi.default-call-duration", 1, 15),
            new Range("zapi.http.connect-timeout-ms", 1, 600_000),
            new Range("zapi.http.response-timeout-ms", 1, HOUR_MS),
            new Range("zapi.retry.max-attempts", 1, 100),
            new Range("zapi.retry.initial-delay-ms", 1, HOUR_MS),
            new Range("zapi.retry.max-delay-ms", 1, HOUR_MS),
            new Range("zapi.concurrency", 1, 1000),
            new Range("zapi.rate-limit", 0, 100_000),
            new Range("zapi.shutdown-timeout-ms", 1, HOUR_MS),
            new Range("zapi.inbox.poll-delay-ms", 1, HOUR_MS),
            new Range("zapi.inbox.settle-ms", 0, HOUR_MS),
            new Range("zapi.records.retry-delay-ms", 1, HOUR_MS),
            new Range("zapi.reports.progress-interval-ms", 100, HOUR_MS),
            new Range("zapi.http.idle-timeout-ms", 1, HOUR_MS),
            new Range("zapi.http.max-body-bytes", 1024, 64L * 1024 * 1024),
            new Range(HealthChecks.ZAPI_FAILURES, 1, 1_000_000),
            new Range(ModuleConfiguration.SANDBOX_PORT, 0, 65535),
            new Range(ModuleConfiguration.JMS_EMBEDDED_PORT, 1, 65535),
            new Range(SERVER_PORT, 1, 65535),
            new Range(MANAGEMENT_PORT, 1, 65535),
            new Range("zapi.retention.days", 0, 36_500),
            new Range("zapi.retention.interval-ms", 1, 30 * 24 * HOUR_MS),
            new Range(LedgerStartup.NODE_TIMEOUT_MS, 300, HOUR_MS),
            new Range("zapi.webhook.correlation-window-seconds", 1, 86_400),
            new Range("zapi.precheck.batch-size", 1, NumberPrecheck.MAX_BATCH),
            new Range("zapi.waiting.poll-ms", 10, HOUR_MS),
            new Range("zapi.waiting.batch-size", 1, 10_000),
            new Range("zapi.redial.max-attempts", 0, 10));

    static final List<String> SWITCHES = List.of(ModuleConfiguration.SANDBOX, "zapi.resend-interrupted",
            ModuleConfiguration.SERVER_ENABLED, HTTP_ALLOW_ANONYMOUS, JMS_ALLOW_ANONYMOUS, HttpTls.ENABLED,
            "zapi.precheck");

    /** zapi.redial.delay-minutes: minutes, decimals allowed (0.5 = 30 s), at most a week. */
    public static final String REDIAL_DELAY_MINUTES = "zapi.redial.delay-minutes";
    private static final int REDIAL_DELAY_MAX = 7 * 24 * 60;

    private SettingsCheck() {
    }

    /**
     * Refuses wrong settings, all of them in one line, and settles where the HTTP API listens when the user did not
     * say: loopback without an API key, every interface with one.
     */
    static void check(PropertiesComponent properties) {
        List<String> wrong = new ArrayList<>();
        for (Range range : NUMBERS) {
            value(properties, range.key()).ifPresent(value -> {
                if (!value.matches("-?[0-9]{1,18}") || Long.parseLong(value) < range.min()
                    || Long.parseLong(value) > range.max()) {
                    wrong.add(name(range.key()) + " must be a whole number from " + range.min() + " to " + range.max()
                              + ", was \"" + value + "\"");
                }
            });
        }
        for (String key : SWITCHES) {
            value(properties, key).ifPresent(value -> {
                if (!value.equalsIgnoreCase("true") && !value.equalsIgnoreCase("false")) {
                    wrong.add(name(key) + " must be true or false, was \"" + value + "\"");
                }
            });
        }
        value(properties, REDIAL_DELAY_MINUTES).ifPresent(value -> {
            if (!value.trim().matches("[0-9]{1,5}(\\.[0-9]{1,3})?") || Double.parseDouble(value) > REDIAL_DELAY_MAX) {
                wrong.add(name(REDIAL_DELAY_MINUTES) + " must be a number of minutes from 0 to " + REDIAL_DELAY_MAX
                          + " (decimals allowed, e.g. 0.5), was \"" + value + "\"");
            }
        });
        try {
            callingHours(properties);
        } catch (IllegalArgumentException e) {
            wrong.add(e.getMessage());
        }
        if (!wrong.isEmpty()) {
            throw new StartupException(String.join("; ", wrong) + ".");
        }
        requireHttpExposureWanted(properties);
        requireManagementExposureWanted(properties);
        requireBrokerExposureWanted(properties);
        requireOwnPorts(properties);
    }

    /**
     * Each of the module's servers on a port of its own: the first to bind would take it, and Vert.x only logs that
     * it could not (the module would run without its HTTP API, and a client of it would talk to the broker).
     */
    private static void requireOwnPorts(PropertiesComponent properties) {
        Map<String, String> ports = new LinkedHashMap<>();
        ports.put(SERVER_PORT, value(properties, SERVER_PORT).orElse("8080"));
        ports.put(MANAGEMENT_PORT, value(properties, MANAGEMENT_PORT).orElse("9876"));
        if (value(properties, ModuleConfiguration.JMS_BROKER_URL).isEmpty()) {
            ports.put(ModuleConfiguration.JMS_EMBEDDED_PORT,
                    value(properties, ModuleConfiguration.JMS_EMBEDDED_PORT).orElse("61616"));
        }
        List<String> keys = new ArrayList<>(ports.keySet());
        for (int i = 0; i < keys.size(); i++) {
            for (int j = i + 1; j < keys.size(); j++) {
                if (ports.get(keys.get(i)).trim().equals(ports.get(keys.get(j)).trim())) {
                    throw new StartupException(name(keys.get(i)) + " and " + name(keys.get(j)) + " are both "
                                               + ports.get(keys.get(i)).trim() + ": each of the module's servers "
                                               + "needs a port of its own. Set one of them to another port.");
                }
            }
        }
    }

    /**
     * Anyone who reaches the HTTP API places calls on the user's Z-API account unless an API key guards it; so without
     * a key it listens on loopback, and beyond loopback only when the user says so with zapi.http.allow-anonymous.
     */
    private static void requireHttpExposureWanted(PropertiesComponent properties) {
        requireExposureWanted(properties, SERVER_HOST, "The HTTP API", "anyone who reaches this machine could place "
                                                                       + "calls on your Z-API account");
    }

    /**
     * The management port serves read-only data without the API key (probes and scrapes carry none), yet it tells
     * how busy the module is and what it calls: it follows the HTTP API's rule and switch.
     */
    private static void requireManagementExposureWanted(PropertiesComponent properties) {
        requireExposureWanted(properties, MANAGEMENT_HOST, "The management port (health, metrics)",
                "it shows anyone who reaches this machine what the module does");
    }

    /** Unset, the host is settled here: loopback without an API key, every interface with one. */
    private static void requireExposureWanted(PropertiesComponent properties, String hostKey, String server,
                                              String risk) {
        boolean keyed = value(properties, ModuleConfiguration.HTTP_API_KEY).isPresent();
        Optional<String> host = value(properties, hostKey);
        if (host.isEmpty()) {
            properties.addOverrideProperty(hostKey, keyed ? EVERY_INTERFACE : LOOPBACK);
            return;
        }
        if (!keyed && !isLoopback(host.get()) && !isTrue(properties, HTTP_ALLOW_ANONYMOUS)) {
            throw new StartupException(server + " would listen on " + host.get() + " (" + name(hostKey)
                                       + ") with no API key: " + risk + ". Set "
                                       + name(ModuleConfiguration.HTTP_API_KEY) + ", or listen on " + LOOPBACK
                                       + ", or set " + name(HTTP_ALLOW_ANONYMOUS) + " to true if that is really "
                                       + "wanted.");
        }
    }

    /** The embedded broker has no authentication at all: the same rule as the HTTP API, with its own switch. */
    private static void requireBrokerExposureWanted(PropertiesComponent properties) {
        if (value(properties, ModuleConfiguration.JMS_BROKER_URL).isPresent()) {
            return;
        }
        String host = value(properties, ModuleConfiguration.JMS_EMBEDDED_HOST).orElse(LOOPBACK);
        if (!isLoopback(host) && !isTrue(properties, JMS_ALLOW_ANONYMOUS)) {
            throw new StartupException("The embedded JMS broker would listen on " + host + " ("
                                       + name(ModuleConfiguration.JMS_EMBEDDED_HOST) + ") and it has no "
                                       + "authentication: anyone who reaches this machine could queue calls. Keep it "
                                       + "on " + LOOPBACK + ", use a broker of your own with "
                                       + name(ModuleConfiguration.JMS_BROKER_URL) + ", or set "
                                       + name(JMS_ALLOW_ANONYMOUS) + " to true if that is really wanted.");
        }
    }

    /**
     * The embedded HTTP server (Vert.x) logs a port it cannot bind and lets the module run on without its HTTP input:
     * find out first, as the embedded broker does.
     */
    static void requireHttpPortFree(PropertiesComponent properties) {
        requirePortFree(properties, "The HTTP server", SERVER_HOST, SERVER_PORT, "8080");
    }

    /** The management server (Vert.x too) likewise. */
    static void requireManagementPortFree(PropertiesComponent properties) {
        requirePortFree(properties, "The management server", MANAGEMENT_HOST, MANAGEMENT_PORT, "9876");
    }

    private static void requirePortFree(PropertiesComponent properties, String server, String hostKey, String portKey,
                                        String defaultPort) {
        String host = value(properties, hostKey).orElse(EVERY_INTERFACE);
        int port = Integer.parseInt(value(properties, portKey).orElse(defaultPort));
        try (ServerSocket socket = new ServerSocket()) {
            socket.setReuseAddress(true);
            socket.bind(new InetSocketAddress(host, port));
        } catch (IOException e) {
            throw cannotListen(server, hostKey, portKey, host, port, e.getMessage());
        }
    }

    static StartupException cannotListen(String host, int port, String reason) {
        return cannotListen("The HTTP server", SERVER_HOST, SERVER_PORT, host, port, reason);
    }

    private static StartupException cannotListen(String server, String hostKey, String portKey, String host, int port,
                                                 String reason) {
        return new StartupException(server + " cannot listen on " + host + ":" + port + " (" + reason
                                    + "): is another module or program using it? Set " + name(portKey)
                                    + " to a free port, or " + name(hostKey) + " to an address of this machine.");
    }

    /** The setting and the environment variable that sets it, as messages name them. */
    /** zapi.calling-hours, zapi.calling-days and zapi.timezone, read; a wrong one is an IllegalArgumentException. */
    public static io.zapi.sendcall.schedule.CallingHours callingHours(PropertiesComponent properties) {
        return io.zapi.sendcall.schedule.CallingHours.of(value(properties, "zapi.calling-hours").orElse(""),
                value(properties, "zapi.calling-days").orElse(""), value(properties, "zapi.timezone").orElse(""));
    }

    static String name(String key) {
        return key + " (env " + ModuleConfiguration.envName(key) + ")";
    }

    static boolean isLoopback(String host) {
        try {
            return InetAddress.getByName(host).isLoopbackAddress();
        } catch (UnknownHostException e) {
            return false;
        }
    }

    private static boolean isTrue(PropertiesComponent properties, String key) {
        return value(properties, key).map(Boolean::parseBoolean).orElse(false);
    }

    private static Optional<String> value(PropertiesComponent properties, String key) {
        return properties.resolveProperty(key).filter(value -> !value.isBlank());
    }
}
