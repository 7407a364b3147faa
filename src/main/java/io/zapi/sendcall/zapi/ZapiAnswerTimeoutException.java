package io.zapi.sendcall.zapi;

import java.io.InterruptedIOException;

/**
 * Z-API's answer was not complete within zapi.http.response-timeout-ms. The request was sent, so the call may have
 * been placed: it is not retried (an {@link InterruptedIOException}, which HttpClient never re-sends either).
 */
public class ZapiAnswerTimeoutException extends InterruptedIOException {

    public ZapiAnswerTimeoutException(long timeoutMs, Throwable cause) {
        super("Z-API's answer timed out: it was not complete within " + timeoutMs
              + " ms (zapi.http.response-timeout-ms); not retried, as the call may have been placed");
        initCause(cause);
    }
}
