package io.zapi.sendcall;

import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.apache.camel.CamelContext;
import sun.misc.Signal;

import org.apache.camel.main.BaseMainSupport;
import org.apache.camel.main.Main;
import org.apache.camel.main.MainListenerSupport;
import org.apache.camel.spi.PropertiesComponent;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.zapi.sendcall.observe.LogFormat;
import io.zapi.sendcall.runtime.EarlySettings;
import io.zapi.sendcall.runtime.ModuleConfiguration;
import io.zapi.sendcall.runtime.SandboxMode;
import io.zapi.sendcall.runtime.Secrets;
import io.zapi.sendcall.runtime.StartupChecks;
import io.zapi.sendcall.runtime.StartupException;

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
        StartupChecks.requireProjectRoot(SETTINGS_FILE);
        EarlySettings early = EarlySettings.read(overrides, Path.of(SETTINGS_FILE));
        // logback has chosen its format from this setting already: an unknown value is refused before anything starts
        LogFormat.check(early);
        Secrets.registerFromEverySource(early);
        Main main = new Main();
        // Camel Main reads only classpath:application.properties unless told: the settings live beside routes/. Set
        // as the default location, so that Camel Main still puts a profile's file (application-sandbox.properties)
        // before it
        main.setDefaultPropertyPlaceholderLocation("file:" + SETTINGS_FILE);
        SandboxMode.chooseProfile(main, early);
        main.configure().addConfiguration(ModuleConfiguration.class);
        overrides.forEach(main::addOverrideProperty);
        main.addMainListener(new MainListenerSupport() {
            @Override
            public void beforeConfigure(BaseMainSupport configuring) {
                PropertiesComponent properties = configuring.getCamelContext().getPropertiesComponent();
                Secrets.registerResolved(properties);
                StartupChecks.beforeConfigure(properties);
                // the simulator's address is the default instance's base URL, which the beans are made with
                SandboxMode.startIfWanted(configuring.getCamelContext());
            }

            @Override
            public void afterConfigure(BaseMainSupport configured) {
                CamelContext context = configured.getCamelContext();
                context.getShutdownStrategy().setTimeUnit(TimeUnit.MILLISECONDS);
                context.getShutdownStrategy().setTimeout(Long.parseLong(
                        context.resolvePropertyPlaceholders("{{zapi.shutdown-timeout-ms}}")));
                StartupChecks.afterConfigure(context);
            }
        });
        return main;
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
