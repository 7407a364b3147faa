package io.zapi.sendcall;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import com.github.tomakehurst.wiremock.verification.LoggedRequest;
import org.apache.camel.builder.NotifyBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import io.zapi.sendcall.pipeline.Json;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static org.assertj.core.api.Assertions.assertThat;

/** The inbox and the pipeline's outcomes, end to end: real files, a real HTTP server standing in for Z-API. */
class InboxFilesTest {

    @RegisterExtension
    static final ModuleUnderTest app = new ModuleUnderTest();

    @Test
    void aFormattedRequestBecomesOneDocumentedPostAndASuccessRecord() throws Exception {
        String content = "{\"phone\": \"+55 (11) 99999-9999\", \"callDuration\": 7, \"id\": \"order-1\", \"note\": \"x\"}";
        NotifyBuilder fileDone = new NotifyBuilder(app.module().context()).fromRoute("inbox-files").whenDone(1).create();

        app.module().drop("sample.json", content);

        assertThat(fileDone.matches(20, TimeUnit.SECONDS)).isTrue();
        JsonNode record = app.module().awaitRecord("sample.json");
        List<LoggedRequest> calls = app.zapi().requestsFor("5511999999999");
        assertThat(calls).hasSize(1);
        LoggedRequest call = calls.get(0);
        assertThat(call.getMethod().value()).isEqualTo("POST");
        assertThat(call.getUrl()).isEqualTo(RunningModule.SEND_CALL_PATH);
        assertThat(call.getHeader("Client-Token")).isEqualTo(RunningModule.CLIENT_TOKEN);
        assertThat(call.getHeader("Content-Type")).isEqualTo("application/json");
        assertThat(call.getBodyAsString()).isEqualTo("{\"phone\":\"5511999999999\",\"callDuration\":7}");
        assertThat(ZapiStub.headerNames(call)).isSubsetOf(ZapiStub.HEADERS_WE_SEND);

        assertThat(record.path("outcome").asText()).isEqualTo("success");
        assertThat(record.path("status").asInt()).isEqualTo(200);
        assertThat(record.path("id").asText()).isEqualTo("order-1");
        assertThat(record.path("source").path("channel").asText()).isEqualTo("file");
        assertThat(record.path("source").path("index").isNull()).isTrue();
        assertThat(record.path("request")).isEqualTo(Json.MAPPER.readTree(call.getBodyAsString()));
        assertThat(record.path("response").path("zaapId").asText()).isEqualTo(ZapiStub.ZAAP_ID);
        assertThat(record.path("response").path("messageId").asText()).isEqualTo(ZapiStub.MESSAGE_ID);
        assertThat(record.path("response").path("id").asText()).isEqualTo(ZapiStub.MESSAGE_ID);
        assertThat(record.path("error").isNull()).isTrue();
        assertThat(record.path("attempts").asInt()).isEqualTo(1);
        assertThat(Instant.parse(record.path("timestamp").asText())).isBefore(Instant.now());
        assertThat(app.module().outbox("success").resolve(record.path("correlationId").asText() + ".json")).exists();
        List<Path> kept = app.module().kept(".done", "sample.json");
        assertThat(kept).hasSize(1);
        assertThat(Files.readString(kept.get(0))).isEqualTo(content);
    }

    @Test
    void aRequestWithoutDurationGetsTheDefault() {
        app.module().drop("no-duration.json", "{\"phone\": 5521988887777}");

        JsonNode record = app.module().awaitRecord("no-duration.json");

        assertThat(record.path("outcome").asText()).isEqualTo("success");
        assertThat(app.zapi().requestsFor("5521988887777")).singleElement()
                .satisfies(r -> assertThat(r.getBodyAsString())
                        .isEqualTo("{\"phone\":\"5521988887777\",\"callDuration\":5}"));
    }

    @Test
    void http405GoesToError405() {
        app.zapi().answer("5531900000405", aResponse().withStatus(405));

        app.module().drop("method.json", "{\"phone\": \"5531900000405\"}");

        JsonNode record = app.module().awaitRecord("method.json");
        assertThat(record.path("outcome").asText()).isEqualTo("error-405");
        assertThat(record.path("status").asInt()).isEqualTo(405);
        assertThat(record.path("error").asText()).contains("405");
        assertThat(app.module().outbox("error-405").resolve(record.path("correlationId").asText() + ".json")).exists();
    }

    @Test
    void http415GoesToError415() {
        app.zapi().answer("5531900000415", aResponse().withStatus(415)
                .withHeader("Content-Type", "application/json").withBody("{\"error\":\"Unsupported Media Type\"}"));

        app.module().drop("media.json", "{\"phone\": \"5531900000415\"}");

        JsonNode record = app.module().awaitRecord("media.json");
        assertThat(record.path("outcome").asText()).isEqualTo("error-415");
        assertThat(record.path("status").asInt()).isEqualTo(415);
        assertThat(record.path("response").path("error").asText()).isEqualTo("Unsupported Media Type");
        assertThat(app.module().outbox("error-415").resolve(record.path("correlationId").asText() + ".json")).exists();
    }

    @Test
    void anotherClientErrorFails() {
        app.zapi().answer("5531900000400", aResponse().withStatus(400).withBody("phone not on WhatsApp"));

        app.module().drop("client-error.json", "{\"phone\": \"5531900000400\"}");

        JsonNode record = app.module().awaitRecord("client-error.json");
        assertThat(record.path("outcome").asText()).isEqualTo("failed");
        assertThat(record.path("status").asInt()).isEqualTo(400);
        assertThat(record.path("response").asText()).isEqualTo("phone not on WhatsApp");
        assertThat(record.path("error").asText()).isEqualTo("Z-API answered HTTP 400");
        assertThat(app.module().outbox("failed").resolve(record.path("correlationId").asText() + ".json")).exists();
    }

    @Test
    void aServerErrorFails() {
        app.zapi().answer("5531900000500", aResponse().withStatus(500));

        app.module().drop("server-error.json", "{\"phone\": \"5531900000500\"}");

        JsonNode record = app.module().awaitRecord("server-error.json");
        assertThat(record.path("outcome").asText()).isEqualTo("failed");
        assertThat(record.path("status").asInt()).isEqualTo(500);
        assertThat(record.path("error").asText()).isEqualTo("Z-API answered HTTP 500");
    }

    @Test
    void unparseableJsonIsRejectedAndKeptInError() throws Exception {
        String broken = "{\"phone\": \"5511999999999\", \"callDuration\": ";

        app.module().drop("broken.json", broken);

        JsonNode record = app.module().awaitRecord("broken.json");
        assertThat(record.path("outcome").asText()).isEqualTo("rejected");
        assertThat(record.path("error").asText()).contains("not valid JSON").contains("line 1");
        assertThat(record.path("status").isNull()).isTrue();
        assertThat(record.path("attempts").asInt()).isZero();
        assertThat(app.module().outbox("rejected").resolve(record.path("correlationId").asText() + ".json")).exists();
        List<Path> kept = org.awaitility.Awaitility.await().until(() -> app.module().kept(".error", "broken.json"),
                files -> files.size() == 1);
        assertThat(Files.readString(kept.get(0))).isEqualTo(broken);
        assertThat(app.module().kept(".done", "broken.json")).isEmpty();
    }

    @Test
    void anUnsupportedFileTypeIsRejectedWithTheAcceptedTypes() {
        app.module().drop("calls.xml", "<call phone=\"5511999999999\"/>");

        JsonNode record = app.module().awaitRecord("calls.xml");

        assertThat(record.path("outcome").asText()).isEqualTo("rejected");
        assertThat(record.path("error").asText()).contains("unsupported file type").contains(".json")
                .contains(".jsonl").contains(".csv");
        assertThat(record.path("request").isNull()).isTrue();
        org.awaitility.Awaitility.await().until(() -> app.module().kept(".error", "calls.xml"), f -> f.size() == 1);
    }

    @Test
    void incompleteAndHiddenFilesAreLeftAloneAndTheModuleKeepsServing() throws Exception {
        Files.writeString(app.module().inbox().resolve("pending.json.part"), "{\"phone\": \"5541900000001\"}");
        Files.writeString(app.module().inbox().resolve("pending.json.tmp"), "{\"phone\": \"5541900000001\"}");
        Files.writeString(app.module().inbox().resolve(".hidden.json"), "{\"phone\": \"5541900000001\"}");
        app.module().drop("garbage.json", new byte[] {(byte) 0xff, (byte) 0xfe, 0, 1, 2, '{'});
        NotifyBuilder twoFilesDone = new NotifyBuilder(app.module().context()).fromRoute("inbox-files")
                .whenCompleted(2).create();
        app.module().drop("after-garbage.json", "{\"phone\": \"5541900000002\"}");

        assertThat(app.module().awaitRecord("garbage.json").path("outcome").asText()).isEqualTo("rejected");
        assertThat(app.module().awaitRecord("after-garbage.json").path("outcome").asText()).isEqualTo("success");
        assertThat(twoFilesDone.matches(20, TimeUnit.SECONDS)).isTrue();
        org.awaitility.Awaitility.await().until(() -> app.module().kept(".error", "garbage.json"), f -> f.size() == 1);
        assertThat(app.zapi().requestsFor("5541900000001")).isEmpty();
        assertThat(app.module().inbox().resolve("pending.json.part")).exists();
        assertThat(app.module().inbox().resolve("pending.json.tmp")).exists();
        assertThat(app.module().inbox().resolve(".hidden.json")).exists();
        assertThat(app.module().context().getStatus().isStarted()).isTrue();
    }

    @Test
    void theRecordOfARejectedRequestKeepsTheInputAsReceived() {
        app.module().drop("bad-phone.json", "{\"phone\": \"call me\", \"callDuration\": 3}");

        JsonNode record = app.module().awaitRecord("bad-phone.json");

        assertThat(record.path("outcome").asText()).isEqualTo("rejected");
        assertThat(record.path("request").path("phone").asText()).isEqualTo("call me");
        assertThat(record.path("request").path("callDuration").asInt()).isEqualTo(3);
        assertThat(record.path("error").asText()).startsWith("phone must hold only the digits");
        // the file itself was readable: it is done, not in error
        org.awaitility.Awaitility.await().until(() -> app.module().kept(".done", "bad-phone.json"), f -> f.size() == 1);
        assertThat(app.zapi().requestsFor("call me")).isEmpty();
    }
}
