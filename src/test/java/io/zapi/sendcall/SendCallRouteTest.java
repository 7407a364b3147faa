package io.zapi.sendcall;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Map;

import org.apache.camel.EndpointInject;
import org.apache.camel.Exchange;
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
import io.zapi.sendcall.pipeline.RequestSource;
import io.zapi.sendcall.runtime.ModuleConfiguration;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The pipeline alone (routes/send-call.camel.yaml with its route configuration pipeline-errors): validation, the
 * idempotency ledger (as the idempotentConsumer's repository), the retry policy, with the real call-zapi route against a WireMock Z-API on 127.0.0.1. Its edge
 * direct:record-outcome is replaced by mock:direct:record-outcome (mockEndpointsAndSkip), which shows what the record
 * route would receive. A replacement by endpoint rather than by weaving the route: the route configuration's
 * onException blocks (rejected, failed after retries) send there too, and they are not part of the route's definition.
 */
@CamelMainTest(configurationClasses = ModuleConfiguration.class,
        propertyPlaceholderLocations = {"file:target/route-tests/SendCallRouteTest.properties",
                "file:application.properties"},
        mockEndpointsAndSkip = "direct:record-outcome")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SendCallRouteTest {

    private final RouteTestSettings settings = RouteTestSettings.write(SendCallRouteTest.class, Map.of());
    /** A key the "last run" left started and never done, as kill -9 during its call leaves it. */
    private final String interruptedKey = leaveInFlight(settings, "id:route-test-interrupted");

    @Produce("direct:send-call")
    ProducerTemplate sendCall;
    @EndpointInject("mock:direct:record-outcome")
    MockEndpoint recordOutcome;

    @BeforeEach
    void resetMocks() {
        recordOutcome.reset();
    }

    @AfterAll
    void stop() throws IOException {
        sendCall.getCamelContext().stop();
        settings.close();
    }

    @Test
    void aValidRequestIsCalledAndRecordedWithItsOutcome() throws Exception {
        recordOutcome.expectedMessageCount(1);
        recordOutcome.expectedPropertyReceived("outcome", "success");
        recordOutcome.expectedPropertyReceived("attempts", 1);
        recordOutcome.expectedPropertyReceived("zapiStatus", 200);

        send("{\"phone\": \"+55 (11) 93333-0001\", \"callDuration\": 7}");

        recordOutcome.assertIsSatisfied();
        assertThat(recordOutcome.getExchanges().get(0).getProperty("callRequest", CallRequest.class))
                .isEqualTo(new CallRequest("5511933330001", 7, null));
        assertThat(settings.zapi().requestsFor("5511933330001")).singleElement().satisfies(request ->
                assertThat(request.getBodyAsString()).isEqualTo("{\"phone\":\"5511933330001\",\"callDuration\":7}"));
    }

    @Test
    void anInvalidRequestIsRejectedWithoutACall() throws Exception {
        recordOutcome.expectedMessageCount(1);
        recordOutcome.expectedPropertyReceived("outcome", "rejected");

        Exchange done = send("{\"phone\": \"not a phone\", \"id\": \"invalid-1\"}");

        recordOutcome.assertIsSatisfied();
        assertThat(done.getException()).isNull();
        assertThat(recordOutcome.getExchanges().get(0).getProperty("error", String.class)).contains("phone");
        assertThat(recordOutcome.getExchanges().get(0).getProperty("attempts", Integer.class)).isZero();
        assertThat(settings.zapi().allRequests()).noneMatch(r -> r.getBodyAsString().contains("not a phone"));
    }

    @Test
    void aRepeatedIdIsADuplicateOfTheFirstAndNotCalledAgain() throws Exception {
        recordOutcome.expectedMessageCount(2);
        String request = "{\"phone\": \"5511933330003\", \"id\": \"route-test-repeated\"}";

        send(request);
        send(request);

        recordOutcome.assertIsSatisfied();
        Exchange first = recordOutcome.getExchanges().get(0);
        Exchange second = recordOutcome.getExchanges().get(1);
        assertThat(first.getProperty("outcome")).isEqualTo("success");
        assertThat(second.getProperty("outcome")).isEqualTo("duplicate");
        // the first's record will carry the correlationId its key gives it (the record route assigns it)
        assertThat(second.getProperty("duplicateOf")).isEqualTo(CallLedger.correlationId(first))
                .isEqualTo(CallLedger.firstCorrelationId("id:route-test-repeated"));
        assertThat(second.getProperty("error", String.class)).contains("not sent again");
        assertThat(settings.zapi().requestsFor("5511933330003")).hasSize(1);
    }

    @Test
    void aServiceUnavailableIsRetriedByThePipeline() throws Exception {
        settings.zapi().answerInTurn("5511933330004", aResponse().withStatus(503),
                aResponse().withStatus(200).withHeader("Content-Type", "application/json")
                        .withBody("{\"zaapId\":\"Z\",\"messageId\":\"M\",\"id\":\"M\"}"));
        recordOutcome.expectedMessageCount(1);
        recordOutcome.expectedPropertyReceived("outcome", "success");
        recordOutcome.expectedPropertyReceived("attempts", 2);

        send("{\"phone\": \"5511933330004\"}");

        recordOutcome.assertIsSatisfied();
        assertThat(settings.zapi().requestsFor("5511933330004")).hasSize(2);
    }

    @Test
    void retriesEndAtMaxAttemptsAsFailed() throws Exception {
        settings.zapi().answer("5511933330005", aResponse().withStatus(503));
        recordOutcome.expectedMessageCount(1);
        recordOutcome.expectedPropertyReceived("outcome", "failed");
        recordOutcome.expectedPropertyReceived("attempts", 3);

        send("{\"phone\": \"5511933330005\"}");

        recordOutcome.assertIsSatisfied();
        assertThat(recordOutcome.getExchanges().get(0).getProperty("error", String.class))
                .isEqualTo("Z-API answered HTTP 503; gave up after 3 attempts");
        assertThat(settings.zapi().requestsFor("5511933330005")).hasSize(3);
    }

    @Test
    void aKeyLeftInFlightByACrashIsFailedAndNotCalledAgain() throws Exception {
        recordOutcome.expectedMessageCount(1);
        recordOutcome.expectedPropertyReceived("outcome", "failed");

        send("{\"phone\": \"5511933330006\", \"id\": \"route-test-interrupted\"}");

        recordOutcome.assertIsSatisfied();
        assertThat(recordOutcome.getExchanges().get(0).getProperty("error", String.class))
                .contains("stopped while this request was in flight");
        assertThat(settings.zapi().requestsFor("5511933330006")).isEmpty();
        // its record is the interrupted request's own, and the key is now done: sent again, it is a duplicate
        assertThat(CallLedger.correlationId(recordOutcome.getExchanges().get(0))).isEqualTo(CallLedger.firstCorrelationId(interruptedKey));
        assertThat(ledgerState(interruptedKey)).isEqualTo("done");
    }

    @Test
    void aRequestWithoutAKeyIsCalledEachTime() throws Exception {
        recordOutcome.expectedMessageCount(2);
        recordOutcome.expectedPropertyValuesReceivedInAnyOrder("outcome", "success", "success");

        send("{\"phone\": \"5511933330007\"}");
        send("{\"phone\": \"5511933330007\"}");

        recordOutcome.assertIsSatisfied();
        assertThat(settings.zapi().requestsFor("5511933330007")).hasSize(2);
    }

    @Test
    void aKeyIsDoneWithItsOutcomeOnceRecorded() throws Exception {
        recordOutcome.expectedMessageCount(1);

        send("{\"phone\": \"5511933330008\", \"callDuration\": 3, \"id\": \"route-test-done\"}");

        recordOutcome.assertIsSatisfied();
        assertThat(ledgerState("id:route-test-done")).isEqualTo("done");
    }

    /** Writes a started key into the ledger before the module opens it. */
    private static String leaveInFlight(RouteTestSettings settings, String key) {
        try {
            Path ledger = Files.createDirectories(settings.dataDir().resolve("ledger")).resolve("calls.db");
            try (Connection connection = DriverManager.getConnection("jdbc:sqlite:" + ledger);
                 Statement statement = connection.createStatement()) {
                statement.execute("CREATE TABLE call_keys (key TEXT PRIMARY KEY, state TEXT NOT NULL, outcome TEXT, "
                                  + "correlation_id TEXT NOT NULL, updated_at TEXT NOT NULL)");
                statement.execute("INSERT INTO call_keys VALUES ('" + key + "', 'started', NULL, '"
                                  + CallLedger.firstCorrelationId(key) + "', '2026-01-01T00:00:00Z')");
            }
            return key;
        } catch (IOException | SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    private String ledgerState(String key) throws SQLException {
        try (Connection connection = DriverManager.getConnection(
                "jdbc:sqlite:" + settings.dataDir().resolve("ledger/calls.db"));
             Statement statement = connection.createStatement();
             ResultSet row = statement.executeQuery("SELECT state FROM call_keys WHERE key = '" + key + "'")) {
            return row.next() ? row.getString(1) : null;
        }
    }

    /** A request as an input hands it to the pipeline: JSON text, named by its channel and source. */
    private Exchange send(String json) {
        Exchange exchange = new DefaultExchange(sendCall.getCamelContext());
        exchange.setProperty(RequestSource.PROPERTY, new RequestSource("http", "route-test", null, null, null, null, null));
        exchange.getMessage().setBody(json);
        return sendCall.send(exchange);
    }
}
