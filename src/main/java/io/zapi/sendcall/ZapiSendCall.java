package io.zapi.sendcall;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

import org.apache.camel.CamelContext;
import sun.misc.Signal;

import org.apache.camel.main.BaseMainSupport;
import org.apache.camel.main.Main;
import org.apache.camel.main.MainListenerSupport;
import org.apache.camel.model.Model;
import org.apache.camel.spi.PropertiesComponent;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Starts the module from the project root: routes from routes/*.yaml, settings from application.properties. */
public final class ZapiSendCall {

    private static final Logger LOG = LoggerFactory.getLogger(ZapiSendCall.class);
    private static final String SETTINGS_FILE = "application.properties";

    private ZapiSendCall() {
    }

    public static void main(String[] args) {
        Main main = null;
        try {
            main = newMain(Map.of());
            // SIGTERM (and Ctrl-C) end the run like a completed one: Camel shuts down gracefully within
            // zapi.shutdown-timeout-ms and the process exits 0, rather than 143 from inside a shutdown hook
            endOn("TERM", main);
            endOn("INT", main);
            main.run();
            System.exit(0);
        } catch (Exception e) {
            StartupException cause = startupCause(e);
            if (cause == null) {
                LOG.error("The module stopped: {}", e.getMessage(), e);
            } else {
                LOG.error("Cannot start: {}", cause.getMessage());
            }
            if (main != null) {
                // Camel's shutdown hook would say "triggered by SIGTERM" on this exit, though no signal was sent
                main.getShutdownStrategy().shutdown();
            }
            System.exit(1);
        }
    }

    private static void endOn(String signal, Main main) {
        try {
            Signal.handle(new Signal(signal), received -> main.completed());
        } catch (IllegalArgumentException ignoredByTheShell) {
            // e.g. SIGINT for a job a shell started in the background: Camel's own shutdown hook still applies
        }
    }

    /** The module as it runs, with optional settings that take precedence over every other source. */
    public static Main newMain(Map<String, String> overrides) {
        requireProjectRoot();
        registerSecrets(overrides);
        Main main = new Main();
        // Camel Main reads only classpath:application.properties unless told: the settings live beside routes/
        main.setPropertyPlaceholderLocations("file:" + SETTINGS_FILE);
        main.configure().addConfiguration(ModuleConfiguration.class);
        overrides.forEach(main::addOverrideProperty);
        main.addMainListener(new MainListenerSupport() {
            /** Before any bean, folder, broker, server or route: wrong settings are refused here, in one line. */
            @Override
            public void beforeConfigure(BaseMainSupport configuring) {
                PropertiesComponent properties = configuring.getCamelContext().getPropertiesComponent();
                ModuleConfiguration.requireRoutesFolder(properties);
                SettingsCheck.check(properties);
                if (Boolean.parseBoolean(properties.resolveProperty(ModuleConfiguration.SERVER_ENABLED)
                        .orElse("true"))) {
                    SettingsCheck.requireHttpPortFree(properties);
                }
            }

            @Override
            public void afterConfigure(BaseMainSupport configured) {
                CamelContext context = configured.getCamelContext();
                context.getShutdownStrategy().setTimeUnit(TimeUnit.MILLISECONDS);
                context.getShutdownStrategy().setTimeout(Long.parseLong(
                        context.resolvePropertyPlaceholders("{{zapi.shutdown-timeout-ms}}")));
                // without this check Camel Main starts happily with no route at all
                Model model = configured.getCamelContext().getCamelContextExtension().getContextPlugin(Model.class);
                if (model.getRouteDefinitions().isEmpty()) {
                    throw new StartupException("No routes were loaded from " + configured.getCamelContext()
                            .getPropertiesComponent().resolveProperty("camel.main.routes-include-pattern")
                            .orElse("routes/") + ": start the module from the project root, where routes/ and "
                                               + "application.properties are.");
                }
            }
        });
        return main;
    }

    /**
     * The settings and routes are read from the working directory; started elsewhere, Camel would fail with a page of
     * FileNotFoundException. Checked before Camel Main does anything, so that nothing (no data folder) is left behind.
     */
    private static void requireProjectRoot() {
        Path here = Path.of("").toAbsolutePath();
        if (!Files.isRegularFile(here.resolve(SETTINGS_FILE))) {
            throw new StartupException("There is no " + SETTINGS_FILE + " in " + here + ": start the module from the "
                                       + "project root, where " + SETTINGS_FILE + " and routes/ are.");
        }
    }

    /**
     * Makes the secrets known to the log masking before Camel starts. Camel logs every property value it resolves at
     * DEBUG, and it resolves ModuleConfiguration's injected settings (the HTTP API key among them) before
     * ModuleConfiguration can register anything. Every source a setting can come from is looked at.
     */
    private static void registerSecrets(Map<String, String> overrides) {
        Properties file = new Properties();
        try (Reader reader = Files.newBufferedReader(Path.of(SETTINGS_FILE), StandardCharsets.UTF_8)) {
            file.load(reader);
        } catch (IOException | RuntimeException noFile) {
            // ModuleConfiguration says what is wrong with the settings, with the routes folder check
        }
        for (String key : List.of(ModuleConfiguration.INSTANCE_TOKEN, ModuleConfiguration.CLIENT_TOKEN,
                ModuleConfiguration.HTTP_API_KEY)) {
            SecretMasking.register(overrides.get(key));
            SecretMasking.register(System.getProperty(key));
            SecretMasking.register(System.getenv(ModuleConfiguration.envName(key)));
            SecretMasking.register(file.getProperty(key));
        }
    }

    private static StartupException startupCause(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof StartupException startup) {
                return startup;
            }
        }
        return null;
    }
}
