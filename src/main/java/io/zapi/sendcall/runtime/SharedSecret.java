package io.zapi.sendcall.runtime;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;

/**
 * A secret a caller must present (the HTTP API key, the webhook token): unset, or at least {@link #MIN_LENGTH}
 * characters, masked in every log line from the moment it is read. A presented value is compared in a time that does
 * not depend on how much of it is right, so the secret cannot be guessed a character at a time.
 */
public final class SharedSecret {

    /** Long enough to be a real secret, and long enough for {@link SecretMasking} to mask it in every log line. */
    public static final int MIN_LENGTH = 16;

    private final byte[] value;

    /**
     * @param setting the setting it comes from, named when it is too short
     * @param example how to make a good one, e.g. "openssl rand -hex 32"
     */
    public SharedSecret(String setting, String value, String example) {
        if (value == null || value.isBlank()) {
            this.value = null;
            return;
        }
        if (value.length() < MIN_LENGTH) {
            throw new StartupException(setting + " (env " + Settings.envName(setting) + ") must be at least "
                                       + MIN_LENGTH + " characters long, e.g. the output of: " + example);
        }
        SecretMasking.register(value);
        this.value = value.getBytes(StandardCharsets.UTF_8);
    }

    public boolean isSet() {
        return value != null;
    }

    /** True when a secret is set and the given value is it. */
    public boolean matches(String given) {
        return value != null && given != null
               && MessageDigest.isEqual(value, given.getBytes(StandardCharsets.UTF_8));
    }
}
