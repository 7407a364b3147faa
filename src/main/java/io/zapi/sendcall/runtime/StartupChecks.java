package io.zapi.sendcall.runtime;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.apache.camel.CamelContext;
import org.apache.camel.model.Model;
import org.apache.camel.spi.PropertiesComponent;

import io.zapi.sendcall.zapi.ZapiInstances;

/**
 * Every check that stops the start-up with one line saying what to do, in the order they run: the project root
 * before Camel Main does anything; the settings before any bean, folder, broker, server or route; the routes once
 * Camel has loaded them. Each would otherwise surface late, as a page of stack trace, or never.
 */
public final class StartupChecks {

    private StartupChecks() {
    }

    /**
     * The settings and routes are read from the working directory; started elsewhere, Camel would fail with a page of
     * FileNotFoundException. Checked before Camel Main does anything, so that nothing (no data folder) is left behind.
     */
    public static void requireProjectRoot(String settingsFile) {
        Path here = Path.of("").toAbsolutePath();
        if (!Files.isRegularFile(here.resolve(settingsFile))) {
            throw new StartupException("There is no " + settingsFile + " in " + here + ": start the module from the "
                                       + "project root, where " + settingsFile + " and routes/ are.");
        }
    }

    /** Before any bean, folder, broker, server or route: wrong settings are refused here, in one line. */
    public static void beforeConfigure(PropertiesComponent properties) {
        requireRoutesFolder(properties);
        SettingsCheck.check(properties);
        requireHttpServer(properties);
        SettingsCheck.requireHttpPortFree(properties);
        SettingsCheck.requireManagementPortFree(properties);
        requireCredentials(properties);
        HttpTls.check(properties);
        FolderSettings.check(properties);
    }

    /** Without this check Camel Main starts happily with no route at all. */
    public static void afterConfigure(CamelContext context) {
        Model model = context.getCamelContextExtension().getContextPlugin(Model.class);
        if (model.getRouteDefinitions().isEmpty()) {
            throw new StartupException("No routes were loaded from " + context.getPropertiesComponent()
                    .resolveProperty("camel.main.routes-include-pattern").orElse("routes/") + ": start the module "
                                       + "from the project root, where routes/ and application.properties are.");
        }
    }

    /** Camel would fail with a bare NoSuchFileException; say what to do instead. */
    private static void requireRoutesFolder(PropertiesComponent properties) {
        String pattern = Settings.getOr(properties, "camel.main.routes-include-pattern", "");
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

    /** Without it Camel fails later with "No PlatformHttpEngine created and setup in registry". */
    private static void requireHttpServer(PropertiesComponent properties) {
        if (!Settings.isTrue(properties, ModuleConfiguration.SERVER_ENABLED)) {
            throw new StartupException(ModuleConfiguration.SERVER_ENABLED + " must be true: the HTTP input (POST "
                                       + "/send-call) is served by Camel's embedded HTTP server. Set it to true (env "
                                       + Settings.envName(ModuleConfiguration.SERVER_ENABLED) + ").");
        }
    }

    /**
     * The default instance's three settings, all or (with named instances) none; then every instance's settings
     * (ZapiInstances). In sandbox mode its profile provides the default instance's.
     */
    private static void requireCredentials(PropertiesComponent properties) {
        List<String> defaults = List.of(ModuleConfiguration.INSTANCE_ID, ModuleConfiguration.INSTANCE_TOKEN,
                ModuleConfiguration.CLIENT_TOKEN);
        List<String> missing = new ArrayList<>();
        for (String key : defaults) {
            if (Settings.get(properties, key) == null) {
                missing.add(SettingsCheck.name(key));
            }
        }
        boolean namedOnly = missing.size() == defaults.size() && !ZapiInstances.namesIn(properties).isEmpty();
        if (!missing.isEmpty() && !namedOnly) {
            throw new StartupException("Missing setting" + (missing.size() > 1 ? "s " : " ") + String.join(", ", missing)
                                       + ". Set " + (missing.size() > 1 ? "them" : "it") + " in application.properties, as -D system properties or as "
                                       + "environment variables; or run with -Dzapi.sandbox=true to try the module "
                                       + "against a local Z-API simulator.");
        }
        ZapiInstances.read(properties);
    }
}
