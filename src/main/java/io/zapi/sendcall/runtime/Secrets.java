package io.zapi.sendcall.runtime;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import org.apache.camel.spi.PropertiesComponent;

import io.zapi.sendcall.zapi.ZapiInstances;

/**
 * Makes the secrets (the Z-API tokens, every named instance's too, the HTTP API key, the shared ledger's password)
 * known to the log masking before anything can log them: once
 * from every source before Camel starts, as Camel logs every property value it resolves at DEBUG, and it resolves
 * ModuleConfiguration's injected settings before any module code runs; once more as Camel resolves them, for a value
 * that only a placeholder in the settings file yields.
 */
public final class Secrets {

    /** Public for the tests that keep every secret out of logs and of the deployment's plain settings. */
    public static final List<String> KEYS = List.of(ModuleConfiguration.INSTANCE_TOKEN,
            ModuleConfiguration.CLIENT_TOKEN, ModuleConfiguration.HTTP_API_KEY, LedgerStartup.PASSWORD,
            io.zapi.sendcall.events.WebhookToken.SETTING, HttpTls.KEYSTORE_PASSWORD);

    private Secrets() {
    }

    public static void registerFromEverySource(EarlySettings settings) {
        Set<String> instances = ZapiInstances.namesIn(settings.keys(), System.getenv().keySet());
        for (String key : keys(instances)) {
            settings.everyValue(key).forEach(SecretMasking::register);
        }
    }

    public static void registerResolved(PropertiesComponent properties) {
        for (String key : keys(ZapiInstances.namesIn(properties))) {
            SecretMasking.register(Settings.get(properties, key));
        }
    }

    /** The fixed secrets, and the two tokens of each named Z-API instance. */
    private static List<String> keys(Set<String> instanceNames) {
        List<String> keys = new ArrayList<>(KEYS);
        instanceNames.forEach(name -> keys.addAll(ZapiInstances.secretKeys(name)));
        return keys;
    }
}
