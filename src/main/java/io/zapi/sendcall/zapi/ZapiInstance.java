package io.zapi.sendcall.zapi;

import java.net.URI;

import io.zapi.sendcall.runtime.SecretMasking;

/**
 * One Z-API instance the module places calls through: named by the user ({@code zapi.instances.<name>.*}, or
 * {@code default} for the settings zapi.instance-id, zapi.instance-token, zapi.client-token). Records, metrics and
 * reports show its name only; its id and tokens stay here.
 *
 * @param rateLimit   calls per second through this instance, retries included; 0 is unlimited
 * @param concurrency calls through this instance in flight at most
 */
public record ZapiInstance(String name, String instanceId, String instanceToken, String clientToken, String baseUrl,
                           int rateLimit, int concurrency) {

    /** The instance the settings zapi.instance-id, zapi.instance-token and zapi.client-token make. */
    public static final String DEFAULT = "default";

    /**
     * {@code /instances/{id}/token/{token}/send-call}, the id and the token each percent-encoded as one path segment:
     * a space, a slash or a {@code ?} in either stays inside it, and the token has one encoded form, which
     * {@link SecretMasking} knows.
     */
    public String sendCallPath() {
        return instancePath() + "/send-call";
    }

    /** {@code /instances/{id}/token/{token}/phone-exists-batch}, made as {@link #sendCallPath()}. */
    public String phoneExistsBatchPath() {
        return instancePath() + "/phone-exists-batch";
    }

    private String instancePath() {
        return "/instances/" + SecretMasking.pathSegment(instanceId) + "/token/"
               + SecretMasking.pathSegment(instanceToken);
    }

    /** The whole path of its send-call requests, as the HttpClient sends it: the base URL's own path, if any, first. */
    public String requestPath() {
        return requestPath(sendCallPath());
    }

    /** The whole path of a request to one of its methods ({@link #phoneExistsBatchPath()}...), as {@link #requestPath()}. */
    public String requestPath(String methodPath) {
        String basePath = baseUrl == null ? "" : URI.create(baseUrl.trim()).getRawPath();
        if (basePath == null) {
            basePath = "";
        }
        return (basePath.endsWith("/") ? basePath.substring(0, basePath.length() - 1) : basePath) + methodPath;
    }

    /** Its name only: a record's toString would print the tokens. */
    @Override
    public String toString() {
        return "Z-API instance " + name;
    }
}
