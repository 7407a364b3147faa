package io.zapi.sendcall.events;

import org.apache.camel.Exchange;

import io.zapi.sendcall.runtime.SharedSecret;

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
    private final SharedSecret token;

    public WebhookToken(String token) {
        this.token = new SharedSecret(SETTING, token, "openssl rand -hex 16");
    }

    public boolean isSet() {
        return token.isSet();
    }

    /**
     * True when the post may go on: a token is set and the path's last step is it. A request header of the path
     * parameter's name is added to the parameter by the server (a list, then), so only a single value counts.
     */
    public boolean accepts(Exchange exchange) {
        Object given = exchange.getMessage().getHeader(PATH_PARAMETER);
        return given instanceof String value && token.matches(value);
    }
}
