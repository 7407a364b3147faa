package io.zapi.sendcall.http;

import org.apache.camel.Header;

import io.zapi.sendcall.runtime.ModuleConfiguration;
import io.zapi.sendcall.runtime.SharedSecret;

/**
 * The HTTP input's X-API-Key check. With no key configured every request is let through (the module warns at
 * start-up); with one, only a request carrying the same value. The comparison takes the same time however much of
 * the value is right, so the key cannot be guessed a character at a time.
 */
public class HttpApiKey {

    public static final String HEADER = "X-API-Key";
    private final SharedSecret key;

    public HttpApiKey(String key) {
        this.key = new SharedSecret(ModuleConfiguration.HTTP_API_KEY, key, "openssl rand -hex 32");
    }

    public boolean isRequired() {
        return key.isSet();
    }

    /** True when the request may go on: no key is required, or the header holds the key. */
    public boolean accepts(@Header(HEADER) String given) {
        return !key.isSet() || key.matches(given);
    }
}
