package io.zapi.sendcall.pipeline;

import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * A validated, normalised call request. {@link #phone} holds digits only; {@link #id} is the caller's own
 * reference (never sent to Z-API); {@link #callAudioUrl} an absolute https URL, or null when the request has none;
 * {@link #instance} the name of the Z-API instance the request asks for, lower-case, or null to let
 * zapi.instance-selection choose (neither is sent to Z-API); {@link #notBefore} the earliest time the call may be placed
 * (an inbox row waits for it; over HTTP and JMS a later one is rejected), or null.
 */
public record CallRequest(String phone, int callDuration, String id, String callAudioUrl, String instance,
                          java.time.Instant notBefore) {

    public CallRequest(String phone, int callDuration, String id) {
        this(phone, callDuration, id, null, null, null);
    }

    public CallRequest(String phone, int callDuration, String id, String callAudioUrl, String instance) {
        this(phone, callDuration, id, callAudioUrl, instance, null);
    }

    /**
     * The exact body Z-API's send-call method takes: {"phone": "...", "callDuration": n}, and "callAudioUrl" only
     * when the request has one.
     */
    public SendCallBody sendCallBody() {
        return new SendCallBody(phone, callDuration, callAudioUrl);
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record SendCallBody(String phone, int callDuration, String callAudioUrl) {
    }
}
