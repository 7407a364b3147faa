package io.zapi.sendcall.zapi;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import org.apache.camel.Service;

import io.zapi.sendcall.pipeline.Json;

/**
 * A Z-API stand-in on loopback for {@code zapi.sandbox=true}: it answers send-call as Z-API's document says (POST
 * only, else 405; JSON only, else 415; the right Client-Token; 200 with zaapId, messageId and id) and places no call.
 * So that a newcomer sees every outcome with no account, the called phone's last four digits choose another answer
 * (the README's table, "Every outcome and event in the sandbox"); after each call it placed, it posts Z-API's call
 * event to the module's webhook ({@link SandboxCallEvents}).
 */
public final class ZapiSandbox implements Service {

    /** 405 Method Not Allowed, as Z-API answers a call it refuses to place. */
    static final String METHOD_NOT_ALLOWED = "0405";
    /** 415 Unsupported Media Type. */
    static final String UNSUPPORTED_MEDIA_TYPE = "0415";
    /** 429 (Retry-After: 1), then 200 to the next call of the same phone, and so on in turn: one retry, success. */
    static final String TOO_MANY_REQUESTS_ONCE = "0429";
    /** 503 to every call: the module retries up to zapi.retry.max-attempts, then records {@code failed}. */
    static final String SERVICE_UNAVAILABLE = "0503";
    /**
     * The call is placed, but the 200 comes a second after zapi.http.response-timeout-ms: the module records
     * {@code failed} ("may have been placed"), and the event shows that the call was placed all the same.
     */
    static final String SLOW_ANSWER = "0408";
    /** 200, and the event says the call was missed ({@code CALL_MISSED_VOICE}). */
    static final String MISSED = "0000";
    /** Not on WhatsApp, by phone-exists-batch (the number pre-check, zapi.precheck=true); every other phone is. */
    static final String NOT_ON_WHATSAPP = "0404";

    private static final SecureRandom RANDOM = new SecureRandom();
    private final HttpServer server;
    private final ExecutorService answering;
    private final String path;
    private final String checkPath;
    private final String clientToken;
    private final long slowAnswerMs;
    private final SandboxCallEvents events;
    /** The phones ending in {@link #TOO_MANY_REQUESTS_ONCE} whose last answer was 429. */
    private final Set<String> refusedOnce = ConcurrentHashMap.newKeySet();

    private ZapiSandbox(HttpServer server, ExecutorService answering, String instanceId, String instanceToken,
                        String clientToken, long slowAnswerMs, SandboxCallEvents events) {
        this.server = server;
        this.answering = answering;
        this.path = "/instances/" + instanceId + "/token/" + instanceToken + "/send-call";
        this.checkPath = "/instances/" + instanceId + "/token/" + instanceToken + "/phone-exists-batch";
        this.clientToken = clientToken;
        this.slowAnswerMs = slowAnswerMs;
        this.events = events;
    }

    /**
     * @param responseTimeoutMs the module's zapi.http.response-timeout-ms: the slow answer comes a second later
     * @param events            where the call events go; null posts none
     */
    public static ZapiSandbox start(int port, String instanceId, String instanceToken, String clientToken,
                                    long responseTimeoutMs, SandboxCallEvents events) throws IOException {
        // without TCP_NODELAY the JDK server's separate header and body writes meet the client's delayed ACK:
        // 40 ms per call
        System.setProperty("sun.net.httpserver.nodelay", "true");
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 0);
        // a thread per call in flight: the slow answer must not hold up the others (the default is one thread)
        ExecutorService answering = Executors.newCachedThreadPool(runnable -> {
            Thread thread = new Thread(runnable, "zapi-sandbox");
            thread.setDaemon(true);
            return thread;
        });
        server.setExecutor(answering);
        ZapiSandbox sandbox = new ZapiSandbox(server, answering, instanceId, instanceToken, clientToken,
                responseTimeoutMs + 1000, events);
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
            String phone = phoneOf(bytes);
            boolean check = http.getRequestURI().getPath().equals(checkPath);
            if (!http.getRequestURI().getPath().equals(path) && !check) {
                answer(http, 404, Map.of("error", "NOT_FOUND", "message", "unknown instance, token or method"));
            } else if (!"POST".equals(http.getRequestMethod())) {
                answer(http, 405, Map.of("error", "METHOD_NOT_ALLOWED", "message", "send-call takes POST"));
            } else if (!isJson(http.getRequestHeaders().getFirst("Content-Type"))) {
                answer(http, 415, Map.of("error", "UNSUPPORTED_MEDIA_TYPE", "message", "send application/json"));
            } else if (!clientToken.equals(http.getRequestHeaders().getFirst("Client-Token"))) {
                answer(http, 403, Map.of("error", "FORBIDDEN", "message", "wrong or missing Client-Token"));
            } else if (check) {
                answerCheck(http, bytes);
            } else if (phone == null) {
                answer(http, 400, Map.of("error", "BAD_REQUEST", "message", "phone is required"));
            } else {
                answerBySuffix(http, phone);
            }
        }
    }

    /** A well-formed call: the phone's last four digits choose the answer, 200 for every other phone. */
    private void answerBySuffix(HttpExchange http, String phone) throws IOException {
        String suffix = phone.substring(Math.max(0, phone.length() - 4));
        switch (suffix) {
            case METHOD_NOT_ALLOWED -> answer(http, 405, Map.of("error", "METHOD_NOT_ALLOWED",
                    "message", "sandbox: a phone ending in " + METHOD_NOT_ALLOWED + " is answered 405"));
            case UNSUPPORTED_MEDIA_TYPE -> answer(http, 415, Map.of("error", "UNSUPPORTED_MEDIA_TYPE",
                    "message", "sandbox: a phone ending in " + UNSUPPORTED_MEDIA_TYPE + " is answered 415"));
            case SERVICE_UNAVAILABLE -> answer(http, 503, Map.of("error", "SERVICE_UNAVAILABLE",
                    "message", "sandbox: a phone ending in " + SERVICE_UNAVAILABLE + " is answered 503, always"));
            case TOO_MANY_REQUESTS_ONCE -> {
                // in turn per phone: the module's retry of this call gets the 200
                if (refusedOnce.add(phone)) {
                    http.getResponseHeaders().set("Retry-After", "1");
                    answer(http, 429, Map.of("error", "TOO_MANY_REQUESTS", "message", "sandbox: a phone ending in "
                            + TOO_MANY_REQUESTS_ONCE + " is answered 429, then 200 to the next call"));
                } else {
                    refusedOnce.remove(phone);
                    placeCall(http, phone);
                }
            }
            default -> placeCall(http, phone);
        }
    }

    /** phone-exists-batch: every phone is on WhatsApp but those ending in {@link #NOT_ON_WHATSAPP}. */
    private static void answerCheck(HttpExchange http, byte[] body) throws IOException {
        JsonNode phones;
        try {
            phones = Json.MAPPER.readTree(body).path("phones");
        } catch (IOException notJson) {
            phones = null;
        }
        if (phones == null || !phones.isArray()) {
            answer(http, 400, Map.of("error", "BAD_REQUEST", "message", "phones is required: a list of numbers"));
            return;
        }
        List<Map<String, Object>> found = new ArrayList<>();
        for (JsonNode phone : phones) {
            String number = phone.asText();
            found.add(Map.of("exists", !number.endsWith(NOT_ON_WHATSAPP), "inputPhone", number,
                    "outputPhone", number));
        }
        send(http, 200, Json.MAPPER.writeValueAsBytes(found));
    }

    /** The call is placed: its event follows, whether or not the module still waits for the answer. */
    private void placeCall(HttpExchange http, String phone) throws IOException {
        if (events != null) {
            events.callPlaced(phone, phone.endsWith(MISSED) ? SandboxCallEvents.MISSED : SandboxCallEvents.ANSWERED);
        }
        if (phone.endsWith(SLOW_ANSWER)) {
            try {
                Thread.sleep(slowAnswerMs);
            } catch (InterruptedException stopping) {
                Thread.currentThread().interrupt();
                return;
            }
        }
        String messageId = hex(10);
        answer(http, 200, Map.of("zaapId", hex(16), "messageId", messageId, "id", messageId));
    }

    private static boolean isJson(String contentType) {
        return contentType != null && contentType.toLowerCase().startsWith("application/json");
    }

    /** The body's phone, or null when the body is not JSON or has none. */
    private static String phoneOf(byte[] body) {
        try {
            JsonNode json = Json.MAPPER.readTree(body);
            return json != null && json.path("phone").isTextual() ? json.path("phone").asText() : null;
        } catch (IOException e) {
            return null;
        }
    }

    private static void answer(HttpExchange http, int status, Map<String, String> body) throws IOException {
        send(http, status, Json.MAPPER.writeValueAsString(body).getBytes(StandardCharsets.UTF_8));
    }

    private static void send(HttpExchange http, int status, byte[] bytes) throws IOException {
        http.getResponseHeaders().set("Content-Type", "application/json");
        http.sendResponseHeaders(status, bytes.length);
        http.getResponseBody().write(bytes);
    }

    static String hex(int bytes) {
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
        answering.shutdownNow();
        if (events != null) {
            events.stop();
        }
    }
}
