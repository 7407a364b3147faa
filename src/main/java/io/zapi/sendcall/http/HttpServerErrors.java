package io.zapi.sendcall.http;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.MIMEHeader;
import io.vertx.ext.web.RoutingContext;
import org.apache.camel.CamelContext;
import org.apache.camel.StartupListener;
import org.apache.camel.component.platform.http.HttpEndpointModel;
import org.apache.camel.component.platform.http.PlatformHttpComponent;
import org.apache.camel.component.platform.http.vertx.VertxPlatformHttpRouter;

import io.zapi.sendcall.pipeline.Json;

/**
 * Some requests never reach a route: the embedded server (Vert.x) answers them itself, with an empty, plain-text or
 * HTML body. This gives those answers the module's JSON error body, {"error": "...", "message": "..."}:
 * <ul>
 * <li>a body over camel.server.max-body-size: 413, from the server's body handler, which stops reading there;</li>
 * <li>a request no route takes: 404 (unknown path), 405 (other method, with the Allow header Vert.x leaves empty),
 * 415 (a Content-Type the route does not consume) or 406 (an Accept the route does not produce);</li>
 * <li>a request head the server cannot read: 414 (request line too long), 431 (headers too large) or 400, after
 * which the server closes the connection ({@link #invalidRequest}, set by {@link HttpServerConnections});</li>
 * <li>the OpenAPI document asked for in another type than JSON: 406. Camel's API route says it also produces
 * text/yaml, but renders JSON for a path ending in .json whatever the Accept header says.</li>
 * </ul>
 * Vert.x's own error handlers cannot be set here (the routes live on a sub-router), so a last route takes what no
 * route matched and a failure handler takes what failed before a route ran.
 */
public class HttpServerErrors implements StartupListener {

    /** Vert.x's limits for the request line and the header section (HttpServerOptions' defaults, kept). */
    static final int MAX_INITIAL_LINE_LENGTH = io.vertx.core.http.HttpServerOptions.DEFAULT_MAX_INITIAL_LINE_LENGTH;
    static final int MAX_HEADER_SIZE = io.vertx.core.http.HttpServerOptions.DEFAULT_MAX_HEADER_SIZE;

    private final long maxBodyBytes;

    public HttpServerErrors(long maxBodyBytes) {
        this.maxBodyBytes = maxBodyBytes;
    }

    @Override
    public void onCamelContextStarted(CamelContext context, boolean alreadyStarted) {
        for (VertxPlatformHttpRouter router : context.getRegistry().findByType(VertxPlatformHttpRouter.class)) {
            String openApiPath = context.getRestConfiguration().getApiContextPath();
            if (openApiPath != null) {
                router.route(HttpMethod.GET, openApiPath).order(-1).handler(HttpServerErrors::onlyJsonDocument);
            }
            router.route().last().handler(http -> unmatched(context, http));
            router.route().failureHandler(this::failed);
        }
    }

    /**
     * Whether an endpoint's path ({@code /files/{name}/{action}}: a {...} is one path segment) takes this path. A path
     * holding a secret ({token}: the webhook's) takes none but itself: with a wrong token, or another method, it is
     * answered 404 like a path that serves nothing, so that nothing tells it is there.
     */
    static boolean serves(String template, String path) {
        if (template.equals(path)) {
            return true;
        }
        if (template.contains("{token}")) {
            return false;
        }
        String[] wanted = template.split("/", -1);
        String[] given = path.split("/", -1);
        if (wanted.length != given.length) {
            return false;
        }
        for (int i = 0; i < wanted.length; i++) {
            boolean parameter = wanted[i].startsWith("{") && wanted[i].endsWith("}") && !given[i].isEmpty();
            if (!parameter && !wanted[i].equals(given[i])) {
                return false;
            }
        }
        return true;
    }

    private void unmatched(CamelContext context, RoutingContext http) {
        String path = http.request().path();
        List<HttpEndpointModel> here = new ArrayList<>();
        List<String> served = new ArrayList<>();
        for (HttpEndpointModel endpoint : endpoints(context)) {
            served.add(endpoint.getVerbs() + " " + endpoint.getUri());
            if (serves(endpoint.getUri(), path)) {
                here.add(endpoint);
            }
        }
        if (here.isEmpty()) {
            answer(http, 404, "NOT_FOUND", "nothing is served at this path; served: " + String.join(", ", served));
            return;
        }
        Set<String> allowed = new TreeSet<>();
        here.forEach(endpoint -> allowed.addAll(split(endpoint.getVerbs())));
        if (!allowed.contains(http.request().method().name())) {
            http.response().putHeader("Allow", String.join(", ", allowed));
            answer(http, 405, "METHOD_NOT_ALLOWED", "this path takes " + String.join(" or ", allowed));
            return;
        }
        String contentType = http.parsedHeaders().contentType().value().toLowerCase(Locale.ROOT);
        Set<String> consumed = new TreeSet<>();
        for (HttpEndpointModel endpoint : here) {
            split(endpoint.getConsumes()).forEach(type -> consumed.add(type.toLowerCase(Locale.ROOT)));
        }
        if (!consumed.isEmpty() && !consumed.contains(contentType)) {
            answer(http, 415, "UNSUPPORTED_MEDIA_TYPE", "send the body as Content-Type: "
                                                        + String.join(" or ", consumed));
            return;
        }
        answer(http, 406, "NOT_ACCEPTABLE", "the answer is JSON: accept application/json");
    }

    private static void onlyJsonDocument(RoutingContext http) {
        List<MIMEHeader> accepted = http.parsedHeaders().accept();
        boolean json = accepted.isEmpty() || accepted.stream().anyMatch(range -> range.weight() > 0
                && ("*".equals(range.component()) || "application".equals(range.component()))
                && ("*".equals(range.subComponent()) || "json".equals(range.subComponent())));
        if (json) {
            http.next();
        } else {
            answer(http, 406, "NOT_ACCEPTABLE", "the OpenAPI document is JSON only: accept application/json");
        }
    }

    /**
     * Answers a request whose head the server could not read, as Vert.x's default does (414, 431, else 400, then the
     * connection is closed), with the module's JSON body.
     */
    static void invalidRequest(HttpServerRequest request) {
        Throwable cause = request.decoderResult().cause();
        HttpServerResponse response = request.response();
        if (cause instanceof TooLongHttpLineException) {
            answer(response, 414, "URI_TOO_LONG", "the request line is over the server's limit of "
                                                  + MAX_INITIAL_LINE_LENGTH + " bytes");
        } else if (cause instanceof TooLongHttpHeaderException) {
            answer(response, 431, "REQUEST_HEADER_FIELDS_TOO_LARGE", "the headers are over the server's limit of "
                                                                     + MAX_HEADER_SIZE + " bytes");
        } else {
            answer(response, 400, "BAD_REQUEST", "the request is not valid HTTP/1.1");
        }
        response.close();
    }

    private void failed(RoutingContext http) {
        int status = http.statusCode();
        if (status == 413) {
            answer(http, 413, "PAYLOAD_TOO_LARGE", "the body is over the limit of " + maxBodyBytes + " bytes");
        } else if (status >= 400 && status < 500) {
            String reason = HttpResponseStatus.valueOf(status).reasonPhrase();
            answer(http, status, reason.toUpperCase(Locale.ROOT).replace(' ', '_'), "the request was refused: "
                                                                                   + reason);
        } else {
            // an exception in a handler: its message stays in the log, out of the answer
            answer(http, 500, "INTERNAL_ERROR", "the request could not be handled");
        }
    }

    private static void answer(RoutingContext http, int status, String error, String message) {
        if (http.response().headWritten()) {
            // a route's answer had begun and broke off: no body of ours can follow it
            http.response().reset();
            return;
        }
        answer(http.response(), status, error, message);
    }

    private static void answer(HttpServerResponse response, int status, String error, String message) {
        ObjectNode body = Json.MAPPER.createObjectNode().put("error", error).put("message", message);
        response.setStatusCode(status).putHeader("Content-Type", "application/json").end(body.toString());
    }

    private static Set<HttpEndpointModel> endpoints(CamelContext context) {
        return context.getComponent("platform-http", PlatformHttpComponent.class).getHttpEndpoints();
    }

    private static List<String> split(String list) {
        List<String> values = new ArrayList<>();
        if (list != null) {
            for (String value : list.split(",")) {
                if (!value.isBlank()) {
                    values.add(value.trim());
                }
            }
        }
        return values;
    }
}
