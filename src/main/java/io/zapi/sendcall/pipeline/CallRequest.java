package io.zapi.sendcall.pipeline;

/**
 * A validated, normalised call request. {@link #phone} holds digits only; {@link #id} is the caller's own
 * reference (never sent to Z-API).
 */
public record CallRequest(String phone, int callDuration, String id) {

    /** The exact body Z-API's send-call method takes: {"phone": "...", "callDuration": n}. */
    public SendCallBody sendCallBody() {
        return new SendCallBody(phone, callDuration);
    }

    public record SendCallBody(String phone, int callDuration) {
    }
}
