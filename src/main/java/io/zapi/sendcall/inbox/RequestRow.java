package io.zapi.sendcall.inbox;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * One request read from an input: either the parsed JSON value or, when it could not be parsed, the reason.
 *
 * @param index  1-based row, line or element number within a file holding several requests; null otherwise
 * @param value  the parsed request, or null when unreadable
 * @param raw    the input as received, kept for the rejected record when unreadable
 * @param unreadableReason why the input could not be parsed, or null
 * @param precheck what the number pre-check found (zapi.precheck, {@link NumberPrecheck}): "passed", "not on
 *                 WhatsApp", "skipped: &lt;reason&gt;"; null when the row was not checked
 */
public record RequestRow(Integer index, JsonNode value, String raw, String unreadableReason, String precheck) {

    public static RequestRow parsed(Integer index, JsonNode value) {
        return new RequestRow(index, value, null, null, null);
    }

    public static RequestRow unreadable(Integer index, String raw, String reason) {
        return new RequestRow(index, null, raw, reason, null);
    }

    public boolean isUnreadable() {
        return unreadableReason != null;
    }

    /** This row with what the number pre-check found. */
    public RequestRow checked(String result) {
        return new RequestRow(index, value, raw, unreadableReason, result);
    }

    /** True when the pre-check found the number is not on WhatsApp: the row is rejected and never called. */
    public boolean isNotOnWhatsApp() {
        return NumberPrecheck.NOT_ON_WHATSAPP.equals(precheck);
    }
}
