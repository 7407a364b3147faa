package io.zapi.sendcall.http;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;

import org.apache.camel.Header;

import io.zapi.sendcall.runtime.ModuleConfiguration;
import io.zapi.sendcall.runtime.SecretMasking;
import io.zapi.sendcall.runtime.StartupException;

/**
 * The HTTP input's X-API-Key check. With no key configured every request is let through (the module warns at
 * start-up); with one, only a request carrying the same value. The comparison takes the same time however much of
 * the value is right, so the key cannot be guessed a character at a time.
 */
public class HttpApiKey {

    public static final String HEADER = "X-API-Key";
    /** Long enough to be a real secret, and long enough for {@link SecretMasking} to mask it in every log line. */
    static final int MIN_LENGTH = 16;

    private final byte[] key;

    public HttpApiKey(String key) {
        if (key == null || key.isBlank()) {
            this.key = null;
            return;
        }
        if (key.length() < MIN_LENGTH) {
            throw new StartupException(ModuleConfiguration.HTTP_API_KEY + " must be at least " + MIN_LENGTH
                                       + " characters long, e.g. the output of: openssl rand -hex 32");
        }
        SecretMasking.register(key);
        this.key = key.getBytes(StandardCharsets.UTF_8);
    }

    public boolean isRequired() {
        return key != null;
    }

    /** True when the request may go on: no key is required, or the header holds the key. */
    public boolean accepts(@Header(HEADER) String given) {
        if (key == null) {
            return true;
        }
        return given != null && MessageDigest.isEqual(key, given.getBytes(StandardCharsets.UTF_8));
    }
}
