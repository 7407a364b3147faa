package io.zapi.sendcall.zapi;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import org.apache.camel.Service;

import io.zapi.sendcall.pipeline.Json;

/**
 * A Z-API stand-in on loopback for {@code zapi.sandbox=true}: it answers send-call as Z-API's document says (POST
 * only, else 405; JSON only, else 415; the right Client-Token; 200 with zaapId, messageId and id) and places no call.
 */
public final class ZapiSandbox implements Service {

    private static final SecureRandom RANDOM = new SecureRandom();
    private final HttpServer server;
    private final String path;
    private final String clientToken;

    private ZapiSandbox(HttpServer server, String instanceId, String instanceToken, String clientToken) {
        this.server = server;
        this.path = "/instances/" + instanceId + "/token/" + instanceToken + "/send-call";
        this.clientToken = clientToken;
    }

    public static ZapiSandbox start(int port, String instanceId, String instanceToken, String clientToken)
            throws IOException {
        // without TCP_NODELAY the JDK server's separate header and body writes meet the client's delayed ACK:
        // 40 ms per call
        System.setProperty("sun.net.httpserver.nodelay", "true");
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 0);
        ZapiSandbox sandbox = new ZapiSandbox(server, instanceId, instanceToken, clientToken);
        server.createContext("/", sandbox::handle);
        server.start();
        return sandbox;
    }

    public String baseUrl() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    private void handle(HttpExchange http) throws IOException {
        try (http; InputStream body = http.getRequestBody()) {
            byte[] bytes = body.readNBytes(65536);
            if (!http.getRequestURI().getPath().equals(path)) {
                answer(http, 404, Map.of("error", "NOT_FOUND", "message", "unknown instance, token or method"));
            } else if (!"POST".equals(http.getRequestMethod())) {
                answer(http, 405, Map.of("error", "METHOD_NOT_ALLOWED", "message", "send-call takes POST"));
            } else if (!isJson(http.getRequestHeaders().getFirst("Content-Type"))) {
                answer(http, 415, Map.of("error", "UNSUPPORTED_MEDIA_TYPE", "message", "send application/json"));
            } else if (!clientToken.equals(http.getRequestHeaders().getFirst("Client-Token"))) {
                answer(http, 403, Map.of("error", "FORBIDDEN", "message", "wrong or missing Client-Token"));
            } else if (!hasPhone(bytes)) {
                answer(http, 400, Map.of("error", "BAD_REQUEST", "message", "phone is required"));
            } else {
                String messageId = hex(10);
                answer(http, 200, Map.of("zaapId", hex(16), "messageId", messageId, "id", messageId));
            }
        }
    }

    private static boolean isJson(String contentType) {
        return contentType != null && contentType.toLowerCase().startsWith("application/json");
    }

    private static boolean hasPhone(byte[] body) {
        try {
            JsonNode json = Json.MAPPER.readTree(body);
            return json != null && json.path("phone").isTextual();
        } catch (IOException e) {
            return false;
        }
    }

    private static void answer(HttpExchange http, int status, Map<String, String> body) throws IOException {
        byte[] bytes = Json.MAPPER.writeValueAsString(body).getBytes(StandardCharsets.UTF_8);
        http.getResponseHeaders().set("Content-Type", "application/json");
        http.sendResponseHeaders(status, bytes.length);
        http.getResponseBody().write(bytes);
    }

    private static String hex(int bytes) {
        byte[] random = new byte[bytes];
        RANDOM.nextBytes(random);
        return HexFormat.of().withUpperCase().formatHex(random);
    }

    @Override
    public void start() {
        // started by start(...), so that the base URL is known before the routes are built
    }

    @Override
    public void stop() {
        server.stop(0);
    }
}
