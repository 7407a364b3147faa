package io.zapi.sendcall.zapi;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import com.fasterxml.jackson.core.JsonProcessingException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.zapi.sendcall.pipeline.Json;

/**
 * The sandbox's call events: after each call the simulator placed, a second later (as a phone rings first), Z-API's
 * on-message-received JSON for a call of our own ({@code fromMe: true}, as with "notify sent by me") is posted to the
 * module's webhook, {@code zapi.sandbox.webhook-url}. Posted apart from the send-call answer, which never waits for
 * it; a post that fails is logged (never the address's path: it holds the webhook token) and dropped, as Z-API would.
 */
public final class SandboxCallEvents {

    static final String ANSWERED = "CALL_VOICE";
    static final String MISSED = "CALL_MISSED_VOICE";
    private static final long DELAY_MS = 1000;
    private static final Logger LOG = LoggerFactory.getLogger(SandboxCallEvents.class);

    private final URI webhook;
    private final String instanceId;
    private final ScheduledExecutorService posting = Executors.newSingleThreadScheduledExecutor(runnable -> {
        Thread thread = new Thread(runnable, "zapi-sandbox-events");
        thread.setDaemon(true);
        return thread;
    });
    private final HttpClient http;
    /** The first failed post is logged at INFO, the others at DEBUG: a module without a webhook is not flooded. */
    private final AtomicBoolean failureTold = new AtomicBoolean();

    public SandboxCallEvents(URI webhook, String instanceId) {
        this.webhook = webhook;
        this.instanceId = instanceId;
        this.http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).executor(posting).build();
    }

    /** Where the events go, without the path (the token): for the log. */
    public String target() {
        return webhook.getScheme() + "://" + webhook.getAuthority();
    }

    void callPlaced(String phone, String notification) {
        posting.schedule(() -> post(phone, notification), DELAY_MS, TimeUnit.MILLISECONDS);
    }

    private void post(String phone, String notification) {
        Map<String, Object> event = new LinkedHashMap<>();
        event.put("type", "ReceivedCallback");
        event.put("instanceId", instanceId);
        event.put("phone", phone);
        event.put("fromMe", true);
        event.put("momment", System.currentTimeMillis());
        event.put("messageId", ZapiSandbox.hex(10));
        event.put("isGroup", false);
        event.put("notification", notification);
        event.put("notificationParameters", List.of());
        event.put("callId", ZapiSandbox.hex(16).toLowerCase(Locale.ROOT));
        String json;
        try {
            json = Json.MAPPER.writeValueAsString(event);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a map of strings, numbers and booleans is always JSON", e);
        }
        HttpRequest request = HttpRequest.newBuilder(webhook).timeout(Duration.ofSeconds(10))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json)).build();
        http.sendAsync(request, HttpResponse.BodyHandlers.discarding()).whenComplete((response, failure) -> {
            if (failure != null) {
                dropped(notification, "could not be posted to the module's webhook at " + target() + " ("
                                      + failure.getClass().getSimpleName() + ")");
            } else if (response.statusCode() / 100 != 2) {
                dropped(notification, "was refused: the module's webhook answered " + response.statusCode());
            }
        });
    }

    private void dropped(String notification, String why) {
        String line = "Sandbox: a " + notification + " event " + why + "; the event is dropped"
                      + " (zapi.sandbox.webhook-url, zapi.webhook.token)";
        if (failureTold.compareAndSet(false, true)) {
            LOG.info(line);
        } else {
            LOG.debug(line);
        }
    }

    void stop() {
        posting.shutdownNow();
    }
}
