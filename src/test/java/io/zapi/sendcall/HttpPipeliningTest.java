package io.zapi.sendcall;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import io.zapi.sendcall.pipeline.Json;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * HTTP/1.1 pipelining over a raw socket: a client writes several requests on one connection without waiting, and
 * every request gets its answer, in order, whoever made it (a route, the server's own 404/405/415, the OpenAPI
 * document). A POST among them is placed exactly once, and only with its answer sent.
 */
class HttpPipeliningTest {

    private static final Duration READ_TIMEOUT = Duration.ofSeconds(20);
    private static final AtomicInteger PHONES = new AtomicInteger();

    @RegisterExtension
    static final ModuleUnderTest app = new ModuleUnderTest();

    @ParameterizedTest(name = "after {0} {1} ({2}) the requests behind it are answered")
    @CsvSource({
        "GET,    /nope,         404, ",
        "GET,    /send-call,    405, ",
        "POST,   /send-call,    415, text/plain",
        "GET,    /openapi.json, 200, ",
        "DELETE, /openapi.json, 405, ",
        "POST,   /nope,         404, application/json",
        "POST,   /openapi.json, 405, application/json",
        "PUT,    /send-call,    405, application/json",
        "POST,   /send-call,    415, application/xml",
        "POST,   /send-call,    415, ",
    })
    void everyPipelinedRequestIsAnsweredInOrder(String method, String path, int status, String contentType)
            throws Exception {
        String first = phone();
        String second = phone();
        Map<String, String> headers = contentType == null ? Map.of() : Map.of("Content-Type", contentType);
        String leading = RawHttp.request(method, path, headers, method.equals("GET") ? null : "{\"phone\": \"" + first + "\"}");

        List<RawHttp.Answer> answers;
        try (RawHttp connection = new RawHttp(app.module(), READ_TIMEOUT)) {
            connection.write(leading + post(first) + leading + post(second));
            answers = connection.read(4);
        }

        assertThat(answers).extracting(RawHttp.Answer::status).containsExactly(status, 200, status, 200);
        assertThat(outcomePhone(answers.get(1))).isEqualTo(first);
        assertThat(outcomePhone(answers.get(3))).isEqualTo(second);
        assertThat(app.zapi().requestsFor(first)).hasSize(1);
        assertThat(app.zapi().requestsFor(second)).hasSize(1);
    }

    @Test
    void theIssuesSequenceIsAnsweredAndEachAnsweredPostPlacedOnce() throws Exception {
        String first = phone();
        String second = phone();

        List<RawHttp.Answer> answers;
        try (RawHttp connection = new RawHttp(app.module(), READ_TIMEOUT)) {
            connection.write(RawHttp.request("GET", "/nope", Map.of(), null) + post(first)
                             + RawHttp.request("GET", "/openapi.json", Map.of(), null) + post(second));
            answers = connection.read(4);
        }

        assertThat(answers).extracting(RawHttp.Answer::status).containsExactly(404, 200, 200, 200);
        assertThat(Json.MAPPER.readTree(answers.get(2).body()).path("openapi").asText()).startsWith("3.");
        assertThat(app.zapi().requestsFor(first)).hasSize(1);
        assertThat(app.zapi().requestsFor(second)).hasSize(1);
    }

    /**
     * A client that writes its requests and shuts its side of the connection (nc, a script) still reads every
     * answer, and the server closes the connection after the last one. Before, the server closed on the client's FIN:
     * the answers were lost while the POSTs it had taken were placed.
     */
    @ParameterizedTest(name = "half-closed after {0} {1} and two POSTs: every answer comes")
    @CsvSource({
        "GET,  /nope",
        "GET,  /send-call",
        "GET,  /openapi.json",
        "POST, /send-call",
    })
    void aClientThatHalfClosesGetsEveryAnswer(String method, String path) throws Exception {
        String first = phone();
        String second = phone();
        String leading = method.equals("GET") ? RawHttp.request(method, path, Map.of(), null) : post(phone());

        List<RawHttp.Answer> answers;
        boolean closedAfterwards;
        try (RawHttp connection = new RawHttp(app.module(), READ_TIMEOUT)) {
            connection.write(leading + post(first) + leading + post(second));
            connection.shutdownOutput();
            answers = connection.read(4);
            closedAfterwards = connection.closedByServer();
        }

        assertThat(answers).extracting(RawHttp.Answer::status).doesNotContain(500).element(1).isEqualTo(200);
        assertThat(answers.get(3).status()).isEqualTo(200);
        assertThat(outcomePhone(answers.get(1))).isEqualTo(first);
        assertThat(outcomePhone(answers.get(3))).isEqualTo(second);
        assertThat(app.zapi().requestsFor(first)).hasSize(1);
        assertThat(app.zapi().requestsFor(second)).hasSize(1);
        assertThat(closedAfterwards).as("the server closes once the last answer is written").isTrue();
    }

    @Test
    void manyPostsPipelinedAreAllAnsweredInOrder() throws Exception {
        List<String> phones = List.of(phone(), phone(), phone(), phone(), phone());
        StringBuilder requests = new StringBuilder();
        phones.forEach(p -> requests.append(post(p)));

        List<RawHttp.Answer> answers;
        try (RawHttp connection = new RawHttp(app.module(), READ_TIMEOUT)) {
            connection.write(requests.toString());
            answers = connection.read(phones.size());
        }

        assertThat(answers).extracting(RawHttp.Answer::status).containsOnly(200);
        assertThat(answers).extracting(HttpPipeliningTest::outcomePhone).containsExactlyElementsOf(phones);
        phones.forEach(p -> assertThat(app.zapi().requestsFor(p)).hasSize(1));
    }

    private static String post(String phone) {
        return RawHttp.request("POST", "/send-call", Map.of("Content-Type", "application/json"),
                "{\"phone\": \"" + phone + "\"}");
    }

    private static String outcomePhone(RawHttp.Answer answer) {
        try {
            JsonNode record = Json.MAPPER.readTree(answer.body());
            return record.path("request").path("phone").asText();
        } catch (Exception e) {
            throw new AssertionError("not a record: " + answer, e);
        }
    }

    private static String phone() {
        return String.valueOf(5571900000000L + PHONES.incrementAndGet());
    }
}
