package io.zapi.sendcall.observe;

import java.io.IOException;
import java.time.Instant;
import java.util.Map;

import org.apache.camel.health.HealthCheckResultBuilder;
import org.apache.camel.impl.health.AbstractHealthCheck;

import io.zapi.sendcall.records.Timestamps;
import io.zapi.sendcall.runtime.SecretMasking;

/**
 * How the last calls to Z-API went: the last HTTP status, how many calls in a row got no answer at all (a connection
 * refused, reset or timed out), when Z-API last answered 2xx. DOWN after zapi.health.zapi-failures such calls in a
 * row; UP at the next answer, whatever its status, as Z-API is reachable again.
 * <p>
 * Neither readiness nor liveness: Z-API is reached by every replica alike, so an outage taking this one out of
 * service (or restarting it) would take out all of them, and requests already queued would wait for nothing. It is
 * shown in /observe/health for people and alerts.
 * <p>
 * Each call is seen where it is timed, in the call-zapi route's HttpClient ({@link ZapiMetrics#watchCalls}), so the
 * route has no step for it.
 */
public final class ZapiCallsCheck extends AbstractHealthCheck {

    private final int failuresLimit;

    private int consecutiveFailures;
    private Integer lastStatus;
    private String lastFailure;
    private Instant lastCall;
    private Instant lastSuccess;

    public ZapiCallsCheck(int failuresLimit) {
        super(HealthChecks.GROUP, "zapi");
        this.failuresLimit = failuresLimit;
    }

    @Override
    public boolean isReadiness() {
        return false;
    }

    @Override
    public boolean isLiveness() {
        return false;
    }

    /** A call to Z-API ended (ZapiMetrics#watchCalls): with an HTTP status, or with the failure when none came. */
    synchronized void called(Integer status, Throwable failure) {
        lastCall = Instant.now();
        if (failure == null && status != null) {
            consecutiveFailures = 0;
            lastStatus = status;
            lastFailure = null;
            if (status >= 200 && status < 300) {
                lastSuccess = lastCall;
            }
        } else if (noAnswer(failure)) {
            consecutiveFailures++;
            lastStatus = null;
            lastFailure = SecretMasking.mask(HealthChecks.rootMessage(failure));
        }
    }

    /** The call got no HTTP answer: it could not connect, or the connection broke or timed out. */
    private static boolean noAnswer(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof IOException) {
                return true;
            }
        }
        return false;
    }

    @Override
    protected synchronized void doCall(HealthCheckResultBuilder builder, Map<String, Object> options) {
        builder.detail("zapi.connection.failures", consecutiveFailures);
        builder.detail("zapi.connection.failures.limit", failuresLimit);
        if (lastStatus != null) {
            builder.detail("zapi.last.status", lastStatus);
        }
        if (lastFailure != null) {
            builder.detail("zapi.last.failure", lastFailure);
        }
        if (lastCall != null) {
            builder.detail("zapi.last.call", Timestamps.format(lastCall));
        }
        if (lastSuccess != null) {
            builder.detail("zapi.last.success", Timestamps.format(lastSuccess));
        }
        if (consecutiveFailures >= failuresLimit) {
            builder.down().message("Z-API gave no answer to " + consecutiveFailures + " calls in a row (last: "
                                   + lastFailure + "): check zapi.base-url and the network to it");
        } else {
            builder.up();
        }
    }
}
