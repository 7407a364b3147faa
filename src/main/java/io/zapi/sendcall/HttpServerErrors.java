package io.zapi.sendcall;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.vertx.ext.web.RoutingContext;
import org.apache.camel.CamelContext;
import org.apache.camel.StartupListener;
import org.apache.camel.component.platform.http.HttpEndpointModel;
import org.apache.camel.component.platform.http.PlatformHttpComponent;
import org.apache.camel.component.platform.http.vertx.VertxPlatformHttpRouter;

/**
 * Some requests never reach a route: the embedded server (Vert.x) answers them itself, with an empty, plain-text or
 * HTML body. This gives those answers the module's JSON error body, {"error": "...", "message": "..."}:
 * <ul>
 * <li>a body over camel.server.max-body-size: 413, from the server's body handler, which stops reading there;</li>
 * <li>a request no route takes: 404 (unknown path), 405 (other method, with the Allow header Vert.x leaves empty),
 * 415 (a Content-Type the route does not consume) or 406 (an Accept the route does not produce).</li>
 * </ul>
 * Vert.x's own error handlers cannot be set here (the routes live on a sub-router), so a last route takes what no
 * route matched and a failure handler takes what failed before a route ran.
 */
public class HttpServerErrors implements StartupListener {

    private final long maxBodyBytes;

    public HttpServerErrors(long maxBodyBytes) {
        this.maxBodyBytes = maxBodyBytes;
    }

    @Override
    public void onCamelContextStarted(CamelContext context, boolean alreadyStarted) {
        for (VertxPlatformHttpRouter router : context.getRegistry().findByType(VertxPlatformHttpRouter.class)) {
            router.route().last().handler(http -> unmatched(context, http));
            router.route().failureHandler(this::failed);
        }
    }

    private void unmatched(CamelContext context, RoutingContext http) {
        String path = http.request().path();
        List<HttpEndpointModel> here = new ArrayList<>();
        List<String> served = new ArrayList<>();
        for (HttpEndpointModel endpoint : endpoints(context)) {
            served.add(endpoint.getVerbs() + " " + endpoint.getUri());
            if (endpoint.getUri().equals(path)) {
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
        ObjectNode body = Json.MAPPER.createObjectNode().put("error", error).put("message", message);
        http.response().setStatusCode(status).putHeader("Content-Type", "application/json").end(body.toString());
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
