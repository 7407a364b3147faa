package io.zapi.sendcall.runtime;

import java.nio.file.Files;
import java.nio.file.Path;

import org.apache.camel.spi.PropertiesComponent;

/**
 * HTTPS on the HTTP API's port (Z-API posts its webhooks to https URLs only). Camel Main serves it: the settings
 * map zapi.http.tls.* onto camel.ssl.* (a PKCS12 or JKS keystore and its password) and
 * camel.server.use-global-ssl-context-parameters (application.properties). Checked here so that a missing keystore
 * or password is one line naming the setting, not an exception from deep in the server's start.
 */
final class HttpTls {

    static final String ENABLED = "zapi.http.tls.enabled";
    static final String KEYSTORE = "zapi.http.tls.keystore";
    static final String KEYSTORE_PASSWORD = "zapi.http.tls.keystore-password";

    private HttpTls() {
    }

    static void check(PropertiesComponent properties) {
        if (!Settings.isTrue(properties, ENABLED)) {
            return;
        }
        String keystore = Settings.get(properties, KEYSTORE);
        if (keystore == null || !Files.isRegularFile(Path.of(keystore)) || !Files.isReadable(Path.of(keystore))) {
            throw new StartupException(ENABLED + "=true needs " + KEYSTORE + " (env " + Settings.envName(KEYSTORE)
                                       + "): a readable PKCS12 keystore file with the server's certificate and key"
                                       + (keystore == null ? ", and it is not set" : "; " + keystore + " is none"));
        }
        if (Settings.get(properties, KEYSTORE_PASSWORD) == null) {
            throw new StartupException(ENABLED + "=true needs " + KEYSTORE_PASSWORD + " (env "
                                       + Settings.envName(KEYSTORE_PASSWORD) + "), the keystore's password");
        }
    }
}
