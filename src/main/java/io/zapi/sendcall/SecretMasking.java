package io.zapi.sendcall;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArraySet;

import com.fasterxml.jackson.databind.node.TextNode;

/**
 * Replaces the configured secrets wherever text leaves the module: log lines, records, error messages. Camel's own
 * URI masking only knows query parameters, and the instance token is a path segment, so we mask the values
 * themselves.
 */
public final class SecretMasking {

    public static final String MASK = "****";
    private static final Set<String> SECRETS = new CopyOnWriteArraySet<>();

    private SecretMasking() {
    }

    /** Shorter values are not masked: masking "c" would garble every line, and no real token is that short. */
    static final int MIN_LENGTH = 4;

    /**
     * Registers a secret, in its raw, URL-encoded and JSON-escaped forms (a record holds the request as JSON text:
     * a secret with a quote or a backslash in it appears there escaped).
     */
    public static void register(String secret) {
        if (secret == null || secret.isBlank() || secret.length() < MIN_LENGTH) {
            return;
        }
        SECRETS.add(secret);
        SECRETS.add(URLEncoder.encode(secret, StandardCharsets.UTF_8));
        String quoted = TextNode.valueOf(secret).toString();
        SECRETS.add(quoted.substring(1, quoted.length() - 1));
    }

    public static String mask(String text) {
        if (text == null || SECRETS.isEmpty()) {
            return text;
        }
        String masked = text;
        for (String secret : SECRETS) {
            masked = masked.replace(secret, MASK);
        }
        return masked;
    }
}
