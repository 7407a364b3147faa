package io.zapi.sendcall.observe;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.apache.camel.CamelContext;
import org.apache.camel.health.HealthCheckRegistry;
import org.apache.camel.spi.PropertiesComponent;

import io.zapi.sendcall.pipeline.CallLedger;
import io.zapi.sendcall.records.Outcome;
import io.zapi.sendcall.runtime.FolderSettings;
import io.zapi.sendcall.runtime.ModuleConfiguration;
import io.zapi.sendcall.runtime.Settings;
import io.zapi.sendcall.runtime.StartupException;

/**
 * The module's own health checks, next to Camel's (context, routes, consumers), in Camel's HealthCheckRegistry, so that
 * the management port's /observe/health, /observe/health/ready and /observe/health/live answer them. Liveness is left
 * to Camel's context check alone: only a context that failed or stopped cannot recover by itself.
 */
public final class HealthChecks {

    static final String GROUP = "zapi-send-call";
    /** The setting: how many calls in a row without an answer make the zapi check DOWN. */
    public static final String ZAPI_FAILURES = "zapi.health.zapi-failures";
    private static final String JMS_ROUTE = "jms-queue";

    private HealthChecks() {
    }

    /** Registers the checks; the ledger and the beans the routes name are there already. */
    public static void registerIn(CamelContext context) {
        HealthCheckRegistry registry = HealthCheckRegistry.get(context);
        if (registry == null) {
            throw new StartupException("Camel's health-check registry is missing: keep camel.health.enabled=true "
                                       + "and camel-health on the classpath.");
        }
        PropertiesComponent properties = context.getPropertiesComponent();
        Path dataDir = Path.of(Settings.get(properties, ModuleConfiguration.DATA_DIR)).toAbsolutePath().normalize();
        CallLedger ledger = CallLedger.of(context);
        registry.register(new LedgerWritableCheck(ledger));
        registry.register(new FoldersWritableCheck(writtenFolders(properties, dataDir)));
        registry.register(new JmsConsumerConnectedCheck(JMS_ROUTE, Settings.get(properties,
                ModuleConfiguration.JMS_QUEUE)));
        ZapiCallsCheck zapi = new ZapiCallsCheck(Integer.parseInt(Settings.getOr(properties, ZAPI_FAILURES, "5")));
        registry.register(zapi);
        context.getRegistry().lookupByNameAndType("zapiMetrics", ZapiMetrics.class).watchCalls(zapi::called);
    }

    /**
     * The data folder, the inbox's folders (zapi.inbox-dir), and each outcome's and the reports' folder when it is a
     * file: URI.
     */
    static List<Path> writtenFolders(PropertiesComponent properties, Path dataDir) {
        Path inbox = FolderSettings.inbox(properties);
        List<Path> folders = new ArrayList<>(List.of(dataDir));
        FolderSettings.INBOX_FOLDERS.forEach(folder -> folders.add(inbox.resolve(folder)));
        List<String> uris = new ArrayList<>();
        for (String outcome : Outcome.labels()) {
            uris.add(Settings.get(properties, "zapi.outcome." + outcome + "-uri"));
        }
        uris.add(Settings.get(properties, "zapi.reports-uri"));
        for (String uri : uris) {
            if (uri != null && uri.startsWith("file:")) {
                String path = uri.substring("file:".length()).replaceFirst("\\?.*", "").replaceFirst("^//", "");
                Path folder = Path.of(path).toAbsolutePath().normalize();
                if (!folders.contains(folder)) {
                    folders.add(folder);
                }
            }
        }
        return folders;
    }

    /** The innermost message of a failure: what the file system or the database said. */
    static String rootMessage(Throwable failure) {
        Throwable root = failure;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        return root.getMessage() != null ? root.getMessage() : root.getClass().getSimpleName();
    }
}
