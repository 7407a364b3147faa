package io.zapi.sendcall.zapi;

import java.io.IOException;
import java.net.SocketTimeoutException;
import java.util.List;
import java.util.function.Supplier;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import org.apache.camel.component.http.HttpClientConfigurer;
import org.apache.hc.client5.http.classic.ExecChain;
import org.apache.hc.client5.http.classic.ExecChainHandler;
import org.apache.hc.client5.http.config.ConnectionConfig;
import org.apache.hc.client5.http.impl.ChainElement;
import org.apache.hc.client5.http.impl.classic.HttpClientBuilder;
import org.apache.hc.client5.http.impl.io.PoolingHttpClientConnectionManagerBuilder;
import org.apache.hc.core5.http.ClassicHttpRequest;
import org.apache.hc.core5.http.ClassicHttpResponse;
import org.apache.hc.core5.http.ContentType;
import org.apache.hc.core5.http.HttpEntity;
import org.apache.hc.core5.http.HttpException;
import org.apache.hc.core5.http.io.entity.ByteArrayEntity;
import org.apache.hc.core5.http.io.entity.EntityUtils;
import org.apache.hc.core5.util.TimeValue;

/**
 * The HttpClient that calls Z-API, configured where camel-http has no option for it (the call-zapi route names it as
 * its {@code httpClientConfigurer}):
 * <ul>
 * <li><b>The whole answer within zapi.http.response-timeout-ms.</b> HttpClient's response timeout is a socket read
 * timeout, restarted by every byte, so a server sending one byte a second holds a call for as long as it likes. Here a
 * deadline starts when the connection is ready to send, and the answer, body included, is read before it: at the
 * deadline the connection is closed under the reader, and the call fails with {@link ZapiAnswerTimeoutException}.</li>
 * <li><b>No stale pooled connection.</b> A connection Z-API or a proxy closed while it sat in the pool would take the
 * next request and fail it with "failed to respond", without the request reaching Z-API. HttpClient checks an idle
 * connection only after 2 s of inactivity by default; here it checks every time it hands one out (a 1 ms read).
 * {@code Connection: close} and {@code Keep-Alive: timeout} are honoured by HttpClient's default strategies.</li>
 * <li><b>No automatic re-sending.</b> Whether a call is sent again is the route's retry policy's decision alone.</li>
 * </ul>
 */
public class ZapiHttpClient implements HttpClientConfigurer, AutoCloseable {

    /** Where the deadline runs: after the connection is made (a connect timeout stays a connect failure). */
    private static final String DEADLINE = "zapi-answer-deadline";

    /** Where each call is timed for the metrics: around everything, connecting included. */
    private static final String CALL_METER = "zapi-call-meter";

    private final long responseTimeoutMs;
    /** Where each call waits for its instance's rate limit: first, before it is timed or connected. */
    private static final String RATE_LIMIT = "zapi-rate-limit";

    private final int maxConnections;
    private final ExecChainHandler callMeter;
    private final Supplier<RateLimits> rateLimits;
    private final ScheduledThreadPoolExecutor deadlines;

    /** Connections for every instance's calls at once (its concurrency each), all on one host or not. */
    public ZapiHttpClient(long responseTimeoutMs, List<ZapiInstance> instances, ExecChainHandler callMeter,
                          Supplier<RateLimits> rateLimits) {
        this.responseTimeoutMs = responseTimeoutMs;
        this.rateLimits = rateLimits;
        this.maxConnections = instances.stream().mapToInt(ZapiInstance::concurrency).sum();
        this.callMeter = callMeter;
        this.deadlines = new ScheduledThreadPoolExecutor(1, runnable -> {
            Thread thread = new Thread(runnable, "zapi-answer-deadline");
            thread.setDaemon(true);
            return thread;
        });
        // a call that ends in time cancels its deadline: do not keep it queued until it would have fired
        this.deadlines.setRemoveOnCancelPolicy(true);
    }

    @Override
    public void configureHttpClient(HttpClientBuilder builder) {
        builder.setConnectionManager(PoolingHttpClientConnectionManagerBuilder.create()
                .setMaxConnTotal(Math.max(maxConnections, 20))
                .setMaxConnPerRoute(Math.max(maxConnections, 20))
                .setDefaultConnectionConfig(ConnectionConfig.custom()
                        .setValidateAfterInactivity(TimeValue.ZERO_MILLISECONDS)
                        .build())
                .build());
        builder.disableAutomaticRetries();
        builder.addExecInterceptorFirst(CALL_METER, callMeter);
        builder.addExecInterceptorFirst(RATE_LIMIT, rateLimits.get()::pace);
        if (responseTimeoutMs > 0) {
            builder.addExecInterceptorAfter(ChainElement.CONNECT.name(), DEADLINE,
                    new AnswerDeadline(responseTimeoutMs, deadlines));
        }
    }

    @Override
    public void close() {
        deadlines.shutdownNow();
    }

    /** Reads the answer whole before the deadline, or closes the connection and fails the call. */
    static final class AnswerDeadline implements ExecChainHandler {

        private final long timeoutMs;
        private final ScheduledExecutorService deadlines;

        AnswerDeadline(long timeoutMs, ScheduledExecutorService deadlines) {
            this.timeoutMs = timeoutMs;
            this.deadlines = deadlines;
        }

        @Override
        public ClassicHttpResponse execute(ClassicHttpRequest request, ExecChain.Scope scope, ExecChain chain)
                throws IOException, HttpException {
            AtomicBoolean expired = new AtomicBoolean();
            ScheduledFuture<?> deadline = deadlines.schedule(() -> {
                expired.set(true);
                // closes the socket: a read blocked on it (status line, headers or body) fails at once
                scope.execRuntime.discardEndpoint();
            }, timeoutMs, TimeUnit.MILLISECONDS);
            try {
                ClassicHttpResponse response = chain.proceed(request, scope);
                HttpEntity entity = response.getEntity();
                if (entity != null) {
                    // read here, under the deadline, rather than later by camel-http with no deadline at all
                    byte[] body = EntityUtils.toByteArray(entity);
                    ContentType type = entity.getContentType() != null ? ContentType.parseLenient(entity.getContentType())
                            : null;
                    response.setEntity(new ByteArrayEntity(body, type, entity.getContentEncoding()));
                }
                // the answer is read whole: its connection goes back to the pool now (camel-http opens the response
                // and never closes it, so nothing later would)
                if (scope.execRuntime.isEndpointAcquired()) {
                    scope.execRuntime.releaseEndpoint();
                }
                return response;
            } catch (IOException e) {
                if (expired.get() || e instanceof SocketTimeoutException) {
                    scope.execRuntime.discardEndpoint();
                    throw new ZapiAnswerTimeoutException(timeoutMs, e);
                }
                throw e;
            } finally {
                deadline.cancel(false);
            }
        }
    }
}
