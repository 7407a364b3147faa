package io.zapi.sendcall.http;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.ChannelPromise;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpStatusClass;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.timeout.IdleStateEvent;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.impl.VertxInternal;
import io.vertx.core.impl.VertxWrapper;
import io.vertx.core.net.impl.ConnectionBase;
import org.apache.camel.CamelContext;

/**
 * How the embedded server (Vert.x, started by camel-platform-http-main) keeps its connections. Camel 4.18 offers no
 * setting for the server's options, but takes the Vert.x instance from the registry: this one creates the HTTP server
 * with an idle timeout and a guard on every connection, which
 * <ul>
 * <li>closes a connection that is idle for {@code zapi.http.idle-timeout-ms} (nothing sent, half a request, a body
 * that stopped coming, a kept-alive connection nobody uses), unless a request on it is complete and waiting for its
 * answer: that answer is always sent, however long the call to Z-API takes;</li>
 * <li>keeps answering after the client has shut its side of the connection (it wrote its requests, pipelined or
 * not, and half-closed, as {@code nc} and scripts do): without it the server closed the connection on the client's
 * FIN while calls it had taken were still placed, so their answers were lost; now every request read gets its
 * answer, then the connection is closed.</li>
 * </ul>
 * It also lower-cases the media types of Content-Type and Accept before Vert.x routes the request: they are
 * case-insensitive (RFC 9110, 8.3.1) but Vert.x Web matches a route's consumes and produces case-sensitively, so
 * {@code APPLICATION/JSON} was refused. Parameters (charset...) are kept as sent.
 * <p>
 * HTTP/2 over cleartext (h2c) is turned off: the API is HTTP/1.1, and the guard watches HTTP/1.1 connections.
 */
public final class HttpServerConnections {

    static final String IDLE_TIMEOUT = "zapi.http.idle-timeout-ms";

    private HttpServerConnections() {
    }

    /**
     * Binds the Vert.x instance the embedded server will take; call before the server starts. Each POST /send-call
     * runs the pipeline on one of its worker threads, from the request until the record: its pool is
     * zapi.concurrency plus Vert.x's default (20), so that zapi.concurrency calls can be in flight from HTTP alone
     * (with the default pool of 20, 32 clients got 20 calls in flight) and the requests waiting for a call slot or
     * answering the rest of the API still find a thread.
     */
    public static void bindServerVertx(CamelContext context) {
        // their ranges (an hour at most; 1 to 1000) were checked with every other setting before anything started
        int idleTimeoutMs = Integer.parseInt(context.resolvePropertyPlaceholders("{{" + IDLE_TIMEOUT + ":60000}}").trim());
        int concurrency = Integer.parseInt(context.resolvePropertyPlaceholders("{{zapi.concurrency:8}}").trim());
        VertxOptions options = new VertxOptions()
                .setWorkerPoolSize(concurrency + VertxOptions.DEFAULT_WORKER_POOL_SIZE);
        context.getRegistry().bind("httpServerVertx", Vertx.class, new ServerVertx(options, idleTimeoutMs));
    }

    /** A Vert.x that makes its HTTP servers with the module's connection handling; all else is Vert.x's own. */
    static final class ServerVertx extends VertxWrapper {

        private final int idleTimeoutMs;

        ServerVertx(VertxOptions options, int idleTimeoutMs) {
            super((VertxInternal) Vertx.vertx(options));
            this.idleTimeoutMs = idleTimeoutMs;
        }

        @Override
        public HttpServer createHttpServer(HttpServerOptions options) {
            HttpServerOptions guarded = new HttpServerOptions(options)
                    .setIdleTimeout(idleTimeoutMs).setIdleTimeoutUnit(TimeUnit.MILLISECONDS)
                    .setHttp2ClearTextEnabled(false);
            // set before Camel calls listen(): called on the connection's event loop before its first byte is read
            return super.createHttpServer(guarded).connectionHandler(ConnectionGuard::install)
                    .invalidRequestHandler(HttpServerErrors::invalidRequest);
        }
    }

    /**
     * Sits between Vert.x's idle timer and its connection handler, watching requests in and answers out. Runs on the
     * connection's event loop only, so its counters need no locking.
     */
    static final class ConnectionGuard extends ChannelDuplexHandler {

        /** Requests whose head was read. */
        private long started;
        /** Requests read to their end (body included). */
        private long complete;
        /** Final answers written (a 100 Continue is not one). */
        private long answered;
        private boolean inputShut;

        static void install(HttpConnection connection) {
            ChannelPipeline pipeline = ((ConnectionBase) connection).channel().pipeline();
            if (pipeline.get("handler") == null || pipeline.get("httpDecoder") == null) {
                return;
            }
            pipeline.channel().config().setOption(ChannelOption.ALLOW_HALF_CLOSURE, true);
            pipeline.addBefore("handler", "zapiConnectionGuard", new ConnectionGuard());
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
            if (msg instanceof HttpRequest request) {
                started++;
                lowerCaseMediaTypes(request.headers(), HttpHeaderNames.CONTENT_TYPE);
                lowerCaseMediaTypes(request.headers(), HttpHeaderNames.ACCEPT);
            }
            if (msg instanceof LastHttpContent) {
                complete++;
            }
            super.channelRead(ctx, msg);
        }

        /** type/subtype of each comma-separated media type or range to lower case; parameters as they are. */
        static void lowerCaseMediaTypes(HttpHeaders headers, CharSequence name) {
            List<String> values = headers.getAll(name);
            if (values.isEmpty()) {
                return;
            }
            List<String> normalised = new ArrayList<>();
            for (String value : values) {
                StringBuilder result = new StringBuilder();
                for (String mediaType : value.split(",", -1)) {
                    int parameters = mediaType.indexOf(';');
                    String type = parameters < 0 ? mediaType : mediaType.substring(0, parameters);
                    if (!result.isEmpty()) {
                        result.append(',');
                    }
                    result.append(type.toLowerCase(Locale.ROOT));
                    if (parameters >= 0) {
                        result.append(mediaType, parameters, mediaType.length());
                    }
                }
                normalised.add(result.toString());
            }
            headers.set(name, normalised);
        }

        @Override
        public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) throws Exception {
            boolean informational = msg instanceof HttpResponse response
                                    && response.status().codeClass() == HttpStatusClass.INFORMATIONAL;
            if (!informational && msg instanceof LastHttpContent) {
                answered++;
                if (inputShut && answered >= started) {
                    // the client sent all it will send and this was the last answer it waits for
                    ChannelPromise written = promise.unvoid();
                    written.addListener(done -> ctx.close());
                    super.write(ctx, msg, written);
                    return;
                }
            }
            super.write(ctx, msg, promise);
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object event) throws Exception {
            if (event instanceof IdleStateEvent) {
                // Vert.x would close on any idle event, even with an answer still to come: decide here instead
                if (complete <= answered) {
                    ctx.close();
                }
                return;
            }
            if (event instanceof ChannelInputShutdownEvent) {
                inputShut = true;
                super.userEventTriggered(ctx, event);
                if (answered >= started) {
                    ctx.close();
                }
                return;
            }
            super.userEventTriggered(ctx, event);
        }
    }
}
