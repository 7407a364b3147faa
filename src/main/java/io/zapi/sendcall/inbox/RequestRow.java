package io.zapi.sendcall.inbox;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * One request read from an input: either the parsed JSON value or, when it could not be parsed, the reason.
 *
 * @param index  1-based row, line or element number within a file holding several requests; null otherwise
 * @param value  the parsed request, or null when unreadable
 * @param raw    the input as received, kept for the rejected record when unreadable
 * @param unreadableReason why the input could not be parsed, or null
 */
public record RequestRow(Integer index, JsonNode value, String raw, String unreadableReason) {

    public static RequestRow parsed(Integer index, JsonNode value) {
        return new RequestRow(index, value, null, null);
    }

    public static RequestRow unreadable(Integer index, String raw, String reason) {
        return new RequestRow(index, null, raw, reason);
    }

    public boolean isUnreadable() {
        return unreadableReason != null;
    }
}
