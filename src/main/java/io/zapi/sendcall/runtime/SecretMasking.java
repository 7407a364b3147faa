package io.zapi.sendcall.runtime;

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
     * Registers a secret in every form it can take on its way out: raw (a header, a log message); form-encoded
     * ({@code +} for a space); percent-encoded as a path segment ({@code %20}), both as {@link #pathSegment} sends it and
     * with the characters a path may hold literally ({@code + & = ; , $ ! ' ( ) * : @}) left as they are, as other
     * encoders do; JSON-escaped (a record holds the request as JSON text: a quote or a backslash appears there
     * escaped); and as HttpClient's wire log writes bytes that are not printable ASCII ({@code [0xffffffc3]}).
     */
    public static void register(String secret) {
        if (secret == null || secret.isBlank() || secret.length() < MIN_LENGTH) {
            return;
        }
        SECRETS.add(secret);
        SECRETS.add(URLEncoder.encode(secret, StandardCharsets.UTF_8));
        SECRETS.add(pathSegment(secret));
        SECRETS.add(percentEncode(secret, "-._~!$&'()*+,;=:@"));
        String quoted = TextNode.valueOf(secret).toString();
        SECRETS.add(quoted.substring(1, quoted.length() - 1));
        SECRETS.add(wireLogged(secret));
    }

    /**
     * The secret as one path segment: every byte but ASCII letters, digits, {@code -}, {@code .} and {@code _}
     * percent-encoded, so that a space, a slash, a {@code ?} or a {@code #} in a token stays inside its segment, and no
     * later encoder (Camel's, HttpClient's) has anything left to change.
     */
    public static String pathSegment(String value) {
        return percentEncode(value, "-._");
    }

    private static String percentEncode(String value, String literal) {
        StringBuilder encoded = new StringBuilder(value.length() * 3);
        for (byte b : value.getBytes(StandardCharsets.UTF_8)) {
            char c = (char) (b & 0xff);
            if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || literal.indexOf(c) >= 0) {
                encoded.append(c);
            } else {
                encoded.append('%').append(Character.toUpperCase(Character.forDigit((b >> 4) & 0xf, 16)))
                        .append(Character.toUpperCase(Character.forDigit(b & 0xf, 16)));
            }
        }
        return encoded.toString();
    }

    /** As org.apache.hc.client5.http.impl.Wire logs the secret's bytes: a signed byte outside ' '..'~' in hex. */
    private static String wireLogged(String value) {
        StringBuilder logged = new StringBuilder();
        for (byte b : value.getBytes(StandardCharsets.UTF_8)) {
            if (b < 32 || b >= 127) {
                logged.append("[0x").append(Integer.toHexString(b)).append(']');
            } else {
                logged.append((char) b);
            }
        }
        return logged.toString();
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
