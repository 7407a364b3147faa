package io.zapi.sendcall;

import java.io.IOException;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import org.apache.camel.EndpointInject;
import org.apache.camel.Exchange;
import org.apache.camel.ExchangePattern;
import org.apache.camel.Produce;
import org.apache.camel.ProducerTemplate;
import org.apache.camel.component.mock.MockEndpoint;
import org.apache.camel.support.DefaultExchange;
import org.apache.camel.test.main.junit5.CamelMainTest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import io.zapi.sendcall.pipeline.CallLedger;
import io.zapi.sendcall.pipeline.CallRequest;
import io.zapi.sendcall.pipeline.Json;
import io.zapi.sendcall.pipeline.RequestSource;
import io.zapi.sendcall.records.PendingRecords;
import io.zapi.sendcall.runtime.ModuleConfiguration;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The outcomes routes alone (routes/outcomes.camel.yaml): record-outcome writes the record with toD to the URI of its
 * outcome's setting, here pointed at mock endpoints; a refused endpoint keeps the record pending, and pending-records
 * writes it once the endpoint takes it. That route's timer is replaced by direct:pending-records, so the test says when
 * it runs.
 */
@CamelMainTest(configurationClasses = ModuleConfiguration.class,
        propertyPlaceholderLocations = {"file:target/route-tests/OutcomesRouteTest.properties",
                "file:application.properties"},
        replaceRouteFromWith = "pending-records=direct:pending-records")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class OutcomesRouteTest {

    private final RouteTestSettings settings = RouteTestSettings.write(OutcomesRouteTest.class, Map.of(
            "zapi.outcome.success-uri", "mock:success-records",
            "zapi.outcome.failed-uri", "mock:failed-records"));

    @Produce("direct:record-outcome")
    ProducerTemplate recordOutcome;
    @Produce("direct:pending-records")
    ProducerTemplate pendingRecords;
    @EndpointInject("mock:success-records")
    MockEndpoint successRecords;
    @EndpointInject("mock:failed-records")
    MockEndpoint failedRecords;

    @BeforeEach
    void resetMocks() {
        MockEndpoint.resetMocks(recordOutcome.getCamelContext());
    }

    @AfterAll
    void stop() throws IOException {
        recordOutcome.getCamelContext().stop();
        settings.close();
    }

    @Test
    void theRecordGoesToItsOutcomesUriAsAOneWayMessage() throws Exception {
        successRecords.expectedMessageCount(1);
        successRecords.expectedHeaderReceived(Exchange.FILE_NAME, CallLedger.firstCorrelationId("id:request-correlation-1") + ".json");
        successRecords.expectedHeaderReceived(Exchange.CONTENT_TYPE, "application/json");
        successRecords.expectedExchangePattern(ExchangePattern.InOnly);
        failedRecords.expectedMessageCount(0);

        Exchange done = recordOutcome.send(outcome("success", "correlation-1"));

        successRecords.assertIsSatisfied();
        assertThat(done.getException()).isNull();
        JsonNode record = Json.MAPPER.readTree(successRecords.getExchanges().get(0).getMessage().getBody(String.class));
        assertThat(record.path("outcome").asText()).isEqualTo("success");
        assertThat(record.path("correlationId").asText()).isEqualTo(CallLedger.firstCorrelationId("id:request-correlation-1"));
        assertThat(record.path("id").asText()).isEqualTo("request-correlation-1");
        assertThat(record.path("request").path("phone").asText()).isEqualTo("5511922220001");
        assertThat(record.path("status").asInt()).isEqualTo(200);
        assertThat(record.path("source").path("name").asText()).isEqualTo("route-test");
        // the caller's answer is the record too (HTTP body, JMS reply)
        assertThat(done.getMessage().getBody(String.class)).isEqualTo(
                successRecords.getExchanges().get(0).getMessage().getBody(String.class));
        failedRecords.assertIsSatisfied();
    }

    @Test
    void aRefusedEndpointKeepsTheRecordPendingUntilItTakesIt() throws Exception {
        failedRecords.whenAnyExchangeReceived(exchange -> {
            throw new IOException("No space left on device");
        });
        failedRecords.expectedMessageCount(1);

        Exchange done = recordOutcome.send(outcome("failed", "correlation-2"));

        failedRecords.assertIsSatisfied();
        // the outcome stands: no error for the caller, the answer says the record is pending and why
        assertThat(done.getException()).isNull();
        assertThat(done.getProperty(PendingRecords.PENDING, String.class)).contains("No space left on device");
        JsonNode answer = Json.MAPPER.readTree(done.getMessage().getBody(String.class));
        assertThat(answer.path("outcome").asText()).isEqualTo("failed");
        assertThat(answer.path(PendingRecords.PENDING).asText()).contains("No space left on device");

        // still refused: kept
        failedRecords.reset();
        failedRecords.whenAnyExchangeReceived(exchange -> {
            throw new IOException("No space left on device");
        });
        failedRecords.expectedMessageCount(1);
        assertThat(writePending()).isZero();
        failedRecords.assertIsSatisfied();

        // taken now: written once, as it was made, under its own name
        failedRecords.reset();
        failedRecords.expectedMessageCount(1);
        failedRecords.expectedHeaderReceived(Exchange.FILE_NAME, CallLedger.firstCorrelationId("id:request-correlation-2") + ".json");
        assertThat(writePending()).isEqualTo(1);
        failedRecords.assertIsSatisfied();
        JsonNode record = Json.MAPPER.readTree(failedRecords.getExchanges().get(0).getMessage().getBody(String.class));
        assertThat(record.path("correlationId").asText()).isEqualTo(CallLedger.firstCorrelationId("id:request-correlation-2"));
        assertThat(record.has(PendingRecords.PENDING)).isFalse();

        // and not again
        failedRecords.reset();
        failedRecords.expectedMessageCount(0);
        assertThat(writePending()).isZero();
        failedRecords.assertIsSatisfied();
    }

    /** One tick of the pending-records route: how many kept records it wrote. */
    private int writePending() {
        return pendingRecords.requestBody((Object) null, Integer.class);
    }

    /** An exchange as the pipeline hands it to record-outcome: its outcome decided, its request validated. */
    private Exchange outcome(String outcome, String correlationId) {
        Exchange exchange = new DefaultExchange(recordOutcome.getCamelContext());
        exchange.setPattern(ExchangePattern.InOut);
        exchange.setProperty("outcome", outcome);
        // claimed in the ledger under its id: the record's correlationId derives from that key
        exchange.setProperty(CallLedger.CLAIMED, true);
        exchange.setProperty(CallLedger.KEY, "id:request-" + correlationId);
        exchange.setProperty("callRequest", new CallRequest("5511922220001", 5, "request-" + correlationId));
        exchange.setProperty(RequestSource.PROPERTY, new RequestSource("http", "route-test", null, null, null, null, null));
        exchange.setProperty("zapiStatus", 200);
        exchange.setProperty("attempts", 1);
        // a file input's headers must not name the record's file
        exchange.getMessage().setHeader(Exchange.FILE_NAME, "inbound.json");
        return exchange;
    }
}
