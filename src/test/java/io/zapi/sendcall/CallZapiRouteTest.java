package io.zapi.sendcall;

import java.io.IOException;
import java.util.Map;

import org.apache.camel.CamelContext;
import org.apache.camel.Exchange;
import org.apache.camel.Produce;
import org.apache.camel.ProducerTemplate;
import org.apache.camel.test.main.junit5.CamelMainTest;
import org.apache.camel.support.DefaultExchange;
import io.zapi.sendcall.zapi.ZapiInstance;
import io.zapi.sendcall.zapi.ZapiInstances;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import io.zapi.sendcall.runtime.ModuleConfiguration;
import io.zapi.sendcall.zapi.RetryableStatusException;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.okJson;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The call-zapi route alone (routes/call-zapi.camel.yaml): the real routes, settings and ModuleConfiguration, an
 * exchange sent straight to direct:call-zapi as the pipeline sends it, Z-API a WireMock server on 127.0.0.1. The route
 * decides the outcome from the HTTP status; a retryable answer is thrown for the pipeline's retry policy.
 */
@CamelMainTest(configurationClasses = ModuleConfiguration.class,
        propertyPlaceholderLocations = {"file:target/route-tests/CallZapiRouteTest.properties",
                "file:application.properties"})
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class CallZapiRouteTest {

    private final RouteTestSettings settings = RouteTestSettings.write(CallZapiRouteTest.class, Map.of());

    @Produce("direct:call-zapi")
    ProducerTemplate callZapi;

    @AfterAll
    void stop() throws IOException {
        callZapi.getCamelContext().stop();
        settings.close();
    }

    @Test
    void aTwoHundredWithAZaapIdIsASuccess() {
        Exchange done = call("5511911110001");

        assertThat(done.getException()).isNull();
        assertThat(done.getProperty("outcome")).isEqualTo("success");
        assertThat(done.getProperty("zapiStatus", Integer.class)).isEqualTo(200);
        assertThat(done.getProperty("zapiResponse", String.class)).contains(ZapiStub.ZAAP_ID);
        assertThat(done.getProperty("attempts", Integer.class)).isEqualTo(1);
        assertThat(settings.zapi().requestsFor("5511911110001")).singleElement().satisfies(request -> {
            assertThat(request.getUrl()).isEqualTo(RunningModule.SEND_CALL_PATH);
            assertThat(request.getHeader("Client-Token")).isEqualTo(RunningModule.CLIENT_TOKEN);
            assertThat(request.getBodyAsString()).isEqualTo("{\"phone\":\"5511911110001\",\"callDuration\":5}");
        });
    }

    @Test
    void aTwoHundredWithoutAZaapIdFailsAndIsNotRetried() {
        settings.zapi().answer("5511911110002", okJson("{\"error\":\"instance not connected\"}"));

        Exchange done = call("5511911110002");

        assertThat(done.getException()).isNull();
        assertThat(done.getProperty("outcome")).isEqualTo("failed");
        assertThat(done.getProperty("error", String.class)).startsWith("Z-API answered 200 without a zaapId");
    }

    @Test
    void methodNotAllowedIsError405() {
        settings.zapi().answer("5511911110003", aResponse().withStatus(405));

        Exchange done = call("5511911110003");

        assertThat(done.getProperty("outcome")).isEqualTo("error-405");
        assertThat(done.getProperty("error", String.class)).contains("405 Method Not Allowed");
    }

    @Test
    void unsupportedMediaTypeIsError415() {
        settings.zapi().answer("5511911110004", aResponse().withStatus(415));

        Exchange done = call("5511911110004");

        assertThat(done.getProperty("outcome")).isEqualTo("error-415");
        assertThat(done.getProperty("error", String.class)).contains("415 Unsupported Media Type");
    }

    @Test
    void serviceUnavailableIsThrownForThePipelineToRetry() {
        settings.zapi().answer("5511911110005", aResponse().withStatus(503).withHeader("Retry-After", "1"));

        Exchange done = call("5511911110005");

        assertThat(done.getException()).isInstanceOf(RetryableStatusException.class)
                .hasMessage("Z-API answered HTTP 503");
        assertThat(done.getProperty("outcome")).isNull();
        assertThat(done.getProperty("zapiRetryAfter", String.class)).isEqualTo("1");
    }

    @Test
    void anotherStatusFailsWithIt() {
        settings.zapi().answer("5511911110006", aResponse().withStatus(500));

        Exchange done = call("5511911110006");

        assertThat(done.getException()).isNull();
        assertThat(done.getProperty("outcome")).isEqualTo("failed");
        assertThat(done.getProperty("error")).isEqualTo("Z-API answered HTTP 500");
    }

    /** What the pipeline hands the route: the send-call JSON as the body, no attempt made yet. */
    private Exchange call(String phone) {
        CamelContext context = callZapi.getCamelContext();
        Exchange exchange = new DefaultExchange(context);
        exchange.setProperty("attempts", 0);
        // as place-call leaves it: the instance the call goes through
        exchange.setProperty(ZapiInstances.PROPERTY, context.getRegistry()
                .lookupByNameAndType("zapiInstances", ZapiInstances.class).named(ZapiInstance.DEFAULT));
        exchange.getMessage().setBody("{\"phone\":\"" + phone + "\",\"callDuration\":5}");
        // a header the request came with must not reach Z-API
        exchange.getMessage().setHeader("X-From-The-Input", "not for Z-API");
        Exchange done = callZapi.send(exchange);
        assertThat(settings.zapi().requestsFor(phone)).allSatisfy(
                request -> assertThat(request.containsHeader("X-From-The-Input")).isFalse());
        return done;
    }
}
