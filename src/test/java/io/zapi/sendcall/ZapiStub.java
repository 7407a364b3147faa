package io.zapi.sendcall;

import java.util.List;
import java.util.Set;
import java.util.TreeSet;

import com.github.tomakehurst.wiremock.WireMockServer;
import com.github.tomakehurst.wiremock.client.ResponseDefinitionBuilder;
import com.github.tomakehurst.wiremock.http.HttpHeader;
import com.github.tomakehurst.wiremock.verification.LoggedRequest;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.any;
import static com.github.tomakehurst.wiremock.client.WireMock.anyUrl;
import static com.github.tomakehurst.wiremock.client.WireMock.equalTo;
import static com.github.tomakehurst.wiremock.client.WireMock.equalToJson;
import static com.github.tomakehurst.wiremock.client.WireMock.okJson;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.postRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.options;

/** A real HTTP server on loopback standing in for Z-API: it answers by the phone in the body. */
final class ZapiStub implements AutoCloseable {

    static final String ZAAP_ID = "3999984263738042930CD6ECDE9VDWSA";
    static final String MESSAGE_ID = "D241XXXX732339502B68";
    /** What the module may send to Z-API: its two headers and what the HTTP client adds by itself. */
    static final Set<String> HEADERS_WE_SEND = Set.of("Client-Token", "Content-Type", "Content-Length", "Host",
            "Connection", "User-Agent", "Accept-Encoding");

    private final WireMockServer server = new WireMockServer(options().bindAddress("127.0.0.1").dynamicPort());
    private final String sendCallPath;
    private final String clientToken;

    /** Z-API for the test instance of {@link RunningModule}. */
    ZapiStub() {
        this(RunningModule.INSTANCE_ID, RunningModule.INSTANCE_TOKEN, RunningModule.CLIENT_TOKEN);
    }

    /** Z-API for an instance of its own: answers send-call at its path with its Client-Token only. */
    ZapiStub(String instanceId, String instanceToken, String clientToken) {
        this.sendCallPath = "/instances/" + instanceId + "/token/" + instanceToken + "/send-call";
        this.clientToken = clientToken;
        server.start();
        reset();
    }

    String baseUrl() {
        return "http://127.0.0.1:" + server.port();
    }

    /** The settings that point a module at this stand-in with the test instance's credentials. */
    java.util.Map<String, String> moduleSettings() {
        return java.util.Map.of("zapi.base-url", baseUrl(), "zapi.instance-id", RunningModule.INSTANCE_ID,
                "zapi.instance-token", RunningModule.INSTANCE_TOKEN, "zapi.client-token", RunningModule.CLIENT_TOKEN);
    }

    /** Z-API's documented 200 for any well-formed request; anything else found nowhere is a 404. */
    void reset() {
        server.resetAll();
        server.stubFor(any(anyUrl()).atPriority(10).willReturn(aResponse().withStatus(404)));
        server.stubFor(post(urlEqualTo(sendCallPath)).atPriority(5)
                .withHeader("Client-Token", equalTo(clientToken))
                .withHeader("Content-Type", equalTo("application/json"))
                .willReturn(okJson("{\"zaapId\":\"" + ZAAP_ID + "\",\"messageId\":\"" + MESSAGE_ID + "\",\"id\":\""
                                   + MESSAGE_ID + "\"}")));
    }

    /** Told of every request as it is answered, on the server's threads. */
    void listen(com.github.tomakehurst.wiremock.http.RequestListener listener) {
        server.addMockServiceRequestListener(listener);
    }

    /**
     * The most requests received within one sliding second: every request opens a window of one second, and the
     * requests received within it, that one included, are counted (by the time each was logged).
     */
    int busiestSecond() {
        List<Long> received = allRequests().stream().map(r -> r.getLoggedDate().getTime()).sorted().toList();
        int most = 0;
        int last = 0;
        for (int first = 0; first < received.size(); first++) {
            last = Math.max(last, first);
            while (last + 1 < received.size() && received.get(last + 1) - received.get(first) < 1000) {
                last++;
            }
            most = Math.max(most, last - first + 1);
        }
        return most;
    }

    /** Answers the given response to requests for this phone. */
    void answer(String phone, ResponseDefinitionBuilder response) {
        server.stubFor(post(urlEqualTo(sendCallPath)).atPriority(1)
                .withRequestBody(equalToJson("{\"phone\":\"" + phone + "\"}", true, true))
                .willReturn(response));
    }

    /** Answers the given responses in turn to requests for this phone, the last one from then on. */
    void answerInTurn(String phone, ResponseDefinitionBuilder... responses) {
        String scenario = "turns-" + phone;
        for (int i = 0; i < responses.length; i++) {
            var stub = post(urlEqualTo(sendCallPath)).atPriority(1)
                    .withRequestBody(equalToJson("{\"phone\":\"" + phone + "\"}", true, true))
                    .inScenario(scenario)
                    .whenScenarioStateIs(i == 0 ? com.github.tomakehurst.wiremock.stubbing.Scenario.STARTED : "turn-" + i);
            if (i < responses.length - 1) {
                stub = stub.willSetStateTo("turn-" + (i + 1));
            }
            server.stubFor(stub.willReturn(responses[i]));
        }
    }

    /** Any other stub, for a test of its own. */
    void stubFor(com.github.tomakehurst.wiremock.client.MappingBuilder mapping) {
        server.stubFor(mapping);
    }

    /** The requests that carried this phone. */
    List<LoggedRequest> requestsFor(String phone) {
        return server.findAll(postRequestedFor(anyUrl())
                .withRequestBody(equalToJson("{\"phone\":\"" + phone + "\"}", true, true)));
    }

    /** Forgets the requests received so far; the stubs stay. */
    void resetRequests() {
        server.resetRequests();
    }

    List<LoggedRequest> allRequests() {
        return server.findAll(com.github.tomakehurst.wiremock.client.WireMock.anyRequestedFor(anyUrl()));
    }

    static Set<String> headerNames(LoggedRequest request) {
        Set<String> names = new TreeSet<>(String.CASE_INSENSITIVE_ORDER);
        for (HttpHeader header : request.getHeaders().all()) {
            names.add(header.key());
        }
        return names;
    }

    @Override
    public void close() {
        server.stop();
    }
}
