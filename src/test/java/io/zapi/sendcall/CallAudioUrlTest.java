package io.zapi.sendcall;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import jakarta.jms.Connection;
import jakarta.jms.MessageProducer;
import jakarta.jms.Session;
import jakarta.jms.TextMessage;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.zapi.sendcall.pipeline.Json;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The optional callAudioUrl, end to end on every input: sent to Z-API exactly as given when present, the body
 * otherwise unchanged, kept in the record's request; anything but an absolute https URL of at most 2,048 characters
 * is rejected with the reason and never sent.
 */
class CallAudioUrlTest {

    private static final String AUDIO = "https://media.example.com/calls/hello%20world.mp3?v=2";
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @TempDir
    static Path dataDir;
    static ZapiStub zapi;
    static RunningModule module;

    @BeforeAll
    static void start() throws Exception {
        zapi = new ZapiStub();
        module = RunningModule.start(zapi.baseUrl(), dataDir);
    }

    @AfterAll
    static void stop() throws Exception {
        module.close();
        zapi.close();
    }

    @Test
    void aCsvColumnSendsItPerRowAndAnEmptyCellSendsNone() {
        module.drop("audio.csv", """
                phone;CallAudioUrl;id
                5511977770001;%s;with-audio
                5511977770002;;without-audio
                5511977770003;http://media.example.com/plain.mp3;plain-http
                """.formatted(AUDIO));

        List<JsonNode> records = module.awaitRecords("audio.csv", 3).stream()
                .sorted(Comparator.comparing(record -> record.path("source").path("index").asInt())).toList();

        assertThat(records.get(0).path("outcome").asText()).isEqualTo("success");
        assertThat(records.get(0).path("request").path("callAudioUrl").asText()).isEqualTo(AUDIO);
        assertThat(zapi.requestsFor("5511977770001")).singleElement().satisfies(call -> assertThat(
                call.getBodyAsString()).isEqualTo(
                "{\"phone\":\"5511977770001\",\"callDuration\":5,\"callAudioUrl\":\"" + AUDIO + "\"}"));

        assertThat(records.get(1).path("outcome").asText()).isEqualTo("success");
        assertThat(records.get(1).path("request").has("callAudioUrl")).isFalse();
        assertThat(zapi.requestsFor("5511977770002")).singleElement().satisfies(call -> assertThat(
                call.getBodyAsString()).isEqualTo("{\"phone\":\"5511977770002\",\"callDuration\":5}"));

        assertThat(records.get(2).path("outcome").asText()).isEqualTo("rejected");
        assertThat(records.get(2).path("error").asText()).contains("callAudioUrl must be an absolute https URL");
        assertThat(zapi.requestsFor("5511977770003")).isEmpty();
    }

    @Test
    void theHttpApiSendsItAndAnswersWithTheRecord() throws Exception {
        HttpResponse<String> answer = post("{\"phone\": \"5511977770011\", \"callAudioUrl\": \"" + AUDIO + "\"}");

        assertThat(answer.statusCode()).isEqualTo(200);
        JsonNode record = Json.MAPPER.readTree(answer.body());
        assertThat(record.path("request").path("callAudioUrl").asText()).isEqualTo(AUDIO);
        assertThat(zapi.requestsFor("5511977770011")).singleElement().satisfies(call -> assertThat(
                Json.MAPPER.readTree(call.getBodyAsString()).path("callAudioUrl").asText()).isEqualTo(AUDIO));
    }

    @Test
    void aJmsMessageSendsIt() throws Exception {
        String messageId;
        try (Connection connection = JmsQueueTest.connect(module.jmsPort());
             Session session = connection.createSession(false, Session.AUTO_ACKNOWLEDGE);
             MessageProducer producer = session.createProducer(session.createQueue("send-call"))) {
            TextMessage message = session.createTextMessage(
                    "{\"phone\": \"5511977770021\", \"callDuration\": 3, \"callAudioUrl\": \"" + AUDIO + "\"}");
            producer.send(message);
            messageId = message.getJMSMessageID();
        }

        JsonNode record = module.awaitRecord(messageId);

        assertThat(record.path("outcome").asText()).isEqualTo("success");
        assertThat(zapi.requestsFor("5511977770021")).singleElement().satisfies(call -> assertThat(
                call.getBodyAsString()).isEqualTo(
                "{\"phone\":\"5511977770021\",\"callDuration\":3,\"callAudioUrl\":\"" + AUDIO + "\"}"));
    }

    @Test
    void everythingButAnAbsoluteHttpsUrlUpTo2048CharactersIsRejected() throws Exception {
        String longest = "https://media.example.com/" + "a".repeat(2048 - "https://media.example.com/".length());
        assertThat(post("{\"phone\": \"5511977770031\", \"callAudioUrl\": \"" + longest + "\"}").statusCode())
                .isEqualTo(200);
        assertThat(zapi.requestsFor("5511977770031")).hasSize(1);

        List<String[]> rejected = List.of(
                new String[] {"\"" + longest + "a\"", "callAudioUrl must be at most 2048 characters, got 2049"},
                new String[] {"\"ftp://media.example.com/a.mp3\"", "callAudioUrl must be an absolute https URL"},
                new String[] {"\"/calls/a.mp3\"", "callAudioUrl must be an absolute https URL"},
                new String[] {"\"https:///a.mp3\"", "callAudioUrl must be an absolute https URL"},
                new String[] {"\"https://media.example.com/a b.mp3\"", "callAudioUrl is not a valid URL"},
                new String[] {"\"  \"", "callAudioUrl is not a valid URL"},
                new String[] {"\"https://user:s3cret@media.example.com/a.mp3\"",
                        "callAudioUrl must not hold a user name or password"},
                new String[] {"42", "callAudioUrl must be a string (an https URL), got the number 42"},
                new String[] {"[\"" + AUDIO + "\"]", "callAudioUrl must be a string (an https URL), got an array"});
        for (String[] each : rejected) {
            HttpResponse<String> answer = post("{\"phone\": \"5511977770032\", \"callAudioUrl\": " + each[0] + "}");
            JsonNode record = Json.MAPPER.readTree(answer.body());
            assertThat(record.path("outcome").asText()).as(each[0]).isEqualTo("rejected");
            assertThat(record.path("error").asText()).as(each[0]).contains(each[1]);
        }
        assertThat(zapi.requestsFor("5511977770032")).isEmpty();
    }

    private static HttpResponse<String> post(String json) throws Exception {
        String port = module.context().resolvePropertyPlaceholders("{{camel.server.port}}");
        return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/send-call"))
                .timeout(Duration.ofSeconds(30)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json)).build(), HttpResponse.BodyHandlers.ofString());
    }
}
