package io.zapi.sendcall;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * The HTTP API's port served over HTTPS (zapi.http.tls.*), as Z-API posts its webhooks to https URLs only: a
 * self-signed certificate made with the JDK's keytool, a real HTTPS client trusting it, a call placed and its event
 * posted to the webhook over TLS. Every logger at DEBUG through the module's masking layout: neither the webhook
 * token nor the keystore password appears in a log line.
 */
class WebhookTlsTest {

    static final String TOKEN = "tls-webhook-token-8c1e44f09ab2d7e3";
    static final String KEYSTORE_PASSWORD = "keystore-pass-51d0c9e2a7";
    static DebugLogs logs;

    @TempDir
    static Path dataDir;
    @TempDir
    static Path certificates;
    static Path keystore;
    static ZapiStub zapi;
    static RunningModule module;
    static HttpClient https;

    @BeforeAll
    static void start() throws Exception {
        logs = DebugLogs.capture();
        keystore = certificates.resolve("server.p12");
        Process keytool = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "keytool").toString(),
                "-genkeypair", "-alias", "zapi", "-keyalg", "EC", "-groupname", "secp256r1", "-dname", "CN=127.0.0.1",
                "-ext", "SAN=ip:127.0.0.1", "-validity", "2", "-storetype", "PKCS12", "-keystore", keystore.toString(),
                "-storepass", KEYSTORE_PASSWORD, "-keypass", KEYSTORE_PASSWORD).redirectErrorStream(true).start();
        assertThat(keytool.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(keytool.exitValue()).as(new String(keytool.getInputStream().readAllBytes())).isZero();

        KeyStore trusted = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(keystore)) {
            trusted.load(in, KEYSTORE_PASSWORD.toCharArray());
        }
        TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        trust.init(trusted);
        SSLContext tls = SSLContext.getInstance("TLS");
        tls.init(null, trust.getTrustManagers(), null);
        https = HttpClient.newBuilder().sslContext(tls).connectTimeout(Duration.ofSeconds(5)).build();

        zapi = new ZapiStub();
        module = RunningModule.start(zapi.baseUrl(), dataDir, Map.of("zapi.webhook.token", TOKEN,
                "zapi.http.tls.enabled", "true", "zapi.http.tls.keystore", keystore.toString(),
                "zapi.http.tls.keystore-password", KEYSTORE_PASSWORD));
    }

    @AfterAll
    static void stop() {
        try {
            if (module != null) {
                module.close();
            }
            if (zapi != null) {
                zapi.close();
            }
        } finally {
            logs.close();
        }
    }

    @Test
    void theWebhookAndTheApiAreServedOverHttpsAndNoSecretIsLogged() throws Exception {
        String id = "tls-" + UUID.randomUUID();
        HttpResponse<String> placed = https.send(HttpRequest.newBuilder(uri("/send-call"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"phone\":\"5511970000100\",\"id\":\"" + id + "\"}"))
                .build(), HttpResponse.BodyHandlers.ofString());
        assertThat(placed.statusCode()).isEqualTo(200);
        String correlationId = module.awaitRecordWithId(id).path("correlationId").asText();
        String callId = UUID.randomUUID().toString().replace("-", "");

        HttpResponse<String> posted = https.send(HttpRequest.newBuilder(uri("/webhooks/z-api/" + TOKEN))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(CallEventsTest.event("5511970000100", "CALL_VOICE", callId,
                        System.currentTimeMillis()))).build(), HttpResponse.BodyHandlers.ofString());

        assertThat(posted.statusCode()).isEqualTo(200);
        Path record = dataDir.resolve("outbox/events").resolve(callId + "-CALL_VOICE.json");
        await().atMost(Duration.ofSeconds(30)).until(() -> Files.exists(record));
        JsonNode event = RunningModule.read(record);
        assertThat(event.path("callOf").asText()).isEqualTo(correlationId);

        String logged = logs.text();
        assertThat(logged).contains(callId);
        assertThat(logged).doesNotContain(TOKEN).doesNotContain(KEYSTORE_PASSWORD);
    }

    @Test
    void plainHttpIsNotServedOnTheTlsPort() {
        HttpClient plain = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        assertThatThrownBy(() -> plain.send(HttpRequest.newBuilder(URI.create(uri("/webhooks/z-api/" + TOKEN)
                        .toString().replaceFirst("^https", "http"))).timeout(Duration.ofSeconds(10))
                .POST(HttpRequest.BodyPublishers.ofString("{}")).build(), HttpResponse.BodyHandlers.ofString()))
                .isInstanceOf(IOException.class);
    }

    @Test
    void tlsWithoutAKeystoreStopsTheStartUp(@TempDir Path otherDataDir) {
        assertThatThrownBy(() -> RunningModule.start(zapi.baseUrl(), otherDataDir, Map.of("zapi.http.tls.enabled",
                "true", "zapi.http.tls.keystore-password", KEYSTORE_PASSWORD)))
                .rootCause().hasMessageContaining("zapi.http.tls.keystore").hasMessageNotContaining(KEYSTORE_PASSWORD);
    }

    private static URI uri(String path) {
        return URI.create("https://127.0.0.1:" + module.context().resolvePropertyPlaceholders("{{camel.server.port}}")
                          + path);
    }
}
