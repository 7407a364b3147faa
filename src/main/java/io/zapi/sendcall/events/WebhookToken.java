package io.zapi.sendcall.events;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;

import org.apache.camel.Exchange;

import io.zapi.sendcall.runtime.SecretMasking;
import io.zapi.sendcall.runtime.Settings;
import io.zapi.sendcall.runtime.StartupException;

/**
 * The webhook's secret: the last step of its path, {@code /webhooks/z-api/{token}}, since Z-API can send no header
 * of ours. Unset, the webhook is off (every post 404); set, only a path holding the same value reaches the event
 * handling, compared in a time that does not depend on how much of it is right. A wrong token is answered 404 like a
 * path that serves nothing, so the webhook cannot be told from no webhook.
 */
public class WebhookToken {

    public static final String SETTING = "zapi.webhook.token";
    /** The path parameter of routes/call-events.camel.yaml. */
    static final String PATH_PARAMETER = "token";
    /** Long enough to be a real secret, and long enough for {@link SecretMasking} to mask it in every log line. */
    static final int MIN_LENGTH = 16;

    private final byte[] token;

    public WebhookToken(String token) {
        if (token == null || token.isBlank()) {
            this.token = null;
            return;
        }
        if (token.length() < MIN_LENGTH) {
            throw new StartupException(SETTING + " (env " + Settings.envName(SETTING) + ") must be at least "
                                       + MIN_LENGTH + " characters long, e.g. the output of: openssl rand -hex 16");
        }
        SecretMasking.register(token);
        this.token = token.getBytes(StandardCharsets.UTF_8);
    }

    public boolean isSet() {
        return token != null;
    }

    /**
     * True when the post may go on: a token is set and the path's last step is it. A request header of the path
     * parameter's name is added to the parameter by the server (a list, then), so only a single value counts.
     */
    public boolean accepts(Exchange exchange) {
        Object given = exchange.getMessage().getHeader(PATH_PARAMETER);
        return token != null && given instanceof String value
               && MessageDigest.isEqual(token, value.getBytes(StandardCharsets.UTF_8));
    }
}
