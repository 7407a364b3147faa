package io.zapi.sendcall;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.JsonNode;
import com.github.tomakehurst.wiremock.http.Fault;
import com.github.tomakehurst.wiremock.verification.LoggedRequest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

import io.zapi.sendcall.pipeline.Json;
import io.zapi.sendcall.runtime.StartupException;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.equalTo;
import static com.github.tomakehurst.wiremock.client.WireMock.equalToJson;
import static com.github.tomakehurst.wiremock.client.WireMock.okJson;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * zapi.precheck=true: an inbox file's rows are checked with Z-API's phone-exists-batch, zapi.precheck.batch-size rows
 * at a time, before their calls. A number not on WhatsApp is rejected and never called; a pre-check that fails (an
 * error status after its tries, no answer, an answer that is no list) leaves its rows to be called as without it, the
 * record saying the check was skipped. Rows already handled (a duplicate key) and invalid rows are not checked and end
 * as before. Off by default.
 */
class PrecheckTest {

    static final String BATCH_PATH = "/instances/" + RunningModule.INSTANCE_ID + "/token/"
                                     + RunningModule.INSTANCE_TOKEN + "/phone-exists-batch";

    @TempDir
    static Path dataDir;
    static ZapiStub zapi;
    static RunningModule module;
    static final ListAppender<ILoggingEvent> LOG = new ListAppender<>();

    @BeforeAll
    static void start() {
        LOG.start();
        ((Logger) LoggerFactory.getLogger(Logger.ROOT_LOGGER_NAME)).addAppender(LOG);
        zapi = new ZapiStub();
        module = RunningModule.start(zapi.baseUrl(), dataDir, Map.of("zapi.precheck", "true",
                "zapi.precheck.batch-size", "3", "zapi.retry.initial-delay-ms", "20"));
    }

    @AfterAll
    static void stop() {
        module.close();
        zapi.close();
        ((Logger) LoggerFactory.getLogger(Logger.ROOT_LOGGER_NAME)).detachAppender(LOG);
    }

    /** Z-API's answer for these phones of one batch: each on WhatsApp unless listed in {@code off}. */
    static void answerBatch(List<String> phones, List<String> off) {
        StringBuilder answer = new StringBuilder("[");
        for (String phone : phones) {
            answer.append(answer.length() > 1 ? "," : "").append("{\"exists\":").append(!off.contains(phone))
                    .append(",\"inputPhone\":\"").append(phone).append("\",\"outputPhone\":\"").append(phone)
                    .append("\"}");
        }
        zapi.stubFor(post(urlEqualTo(BATCH_PATH)).atPriority(1)
                .withHeader("Client-Token", equalTo(RunningModule.CLIENT_TOKEN))
                .withHeader("Content-Type", equalTo("application/json"))
                .withRequestBody(equalToJson(phonesBody(phones)))
                .willReturn(okJson(answer.append("]").toString())));
    }

    static String phonesBody(List<String> phones) {
        return "{\"phones\":[" + String.join(",", phones.stream().map(p -> "\"" + p + "\"").toList()) + "]}";
    }

    /** The phone-exists-batch requests that held any of these phones. */
    static List<LoggedRequest> batchesWith(List<String> phones) {
        return zapi.allRequests().stream().filter(r -> r.getUrl().endsWith("/phone-exists-batch"))
                .filter(r -> phones.stream().anyMatch(p -> r.getBodyAsString().contains(p))).toList();
    }

    static List<JsonNode> byIndex(List<JsonNode> records) {
        return records.stream().sorted(Comparator.comparing(r -> r.path("source").path("index").asInt())).toList();
    }

    @Test
    void numbersNotOnWhatsAppAreRejectedNeverCalledAndTheRowsAreCheckedInBatchesOfTheSize() {
        List<String> first = List.of("5511966660001", "5511966660002", "5511966660003");
        List<String> second = List.of("5511966660005", "5511966660006");
        List<String> third = List.of("5511966660007");
        answerBatch(first, List.of("5511966660002"));
        answerBatch(second, List.of("5511966660006"));
        answerBatch(third, List.of());
        module.drop("precheck.csv", """
                phone,id
                5511966660001,
                +55 11 96666-0002,
                5511966660003,
                12,
                5511966660005,
                5511966660006,
                5511966660007,
                """);

        List<JsonNode> records = byIndex(module.awaitRecords("precheck.csv", 7));

        assertThat(records).extracting(r -> r.path("outcome").asText())
                .containsExactly("success", "rejected", "success", "rejected", "success", "rejected", "success");
        assertThat(records.get(1).path("error").asText()).contains("not on WhatsApp");
        assertThat(records.get(1).path("precheck").asText()).isEqualTo("not on WhatsApp");
        assertThat(records.get(1).path("attempts").asInt()).isZero();
        assertThat(records.get(5).path("error").asText()).contains("not on WhatsApp");
        assertThat(records.get(0).path("precheck").asText()).isEqualTo("passed");
        assertThat(records.get(6).path("precheck").asText()).isEqualTo("passed");
        // an invalid row is rejected for what is wrong with it, and not checked
        assertThat(records.get(3).path("error").asText()).contains("phone must have 10 to 15 digits");
        assertThat(records.get(3).path("precheck").isNull()).isTrue();
        assertThat(zapi.requestsFor("5511966660002")).isEmpty();
        assertThat(zapi.requestsFor("5511966660006")).isEmpty();
        assertThat(zapi.requestsFor("5511966660001")).hasSize(1);
        assertThat(zapi.requestsFor("5511966660007")).hasSize(1);
        // rows 1-3, 4-6 (the invalid row 4 not sent), 7: one request each
        List<String> all = new ArrayList<>(first);
        all.addAll(second);
        all.addAll(third);
        assertThat(batchesWith(all)).extracting(LoggedRequest::getBodyAsString)
                .containsExactlyInAnyOrder(phonesBody(first), phonesBody(second), phonesBody(third));
        assertThat(module.recordsOf("precheck.csv")).hasSize(7);
    }

    /** Brazil's ninth digit: WhatsApp may know the number without it. The phone is called as the request gives it. */
    @Test
    void aNumberWhatsAppKnowsUnderAnotherFormIsCalledAsGivenAndTheRecordSaysSo() {
        String asGiven = "5511966667001";
        zapi.stubFor(post(urlEqualTo(BATCH_PATH)).atPriority(1).withRequestBody(equalToJson(phonesBody(List.of(asGiven))))
                .willReturn(okJson("[{\"exists\":true,\"inputPhone\":\"" + asGiven
                                   + "\",\"outputPhone\":\"551166667001\"}]")));
        module.drop("ninth-digit.json", "{\"phone\": \"" + asGiven + "\"}");

        JsonNode record = module.awaitRecord("ninth-digit.json");

        assertThat(record.path("outcome").asText()).isEqualTo("success");
        assertThat(record.path("precheck").asText())
                .isEqualTo("passed; WhatsApp knows the number as 551166667001 (called as requested)");
        assertThat(zapi.requestsFor(asGiven)).hasSize(1);
        assertThat(zapi.requestsFor("551166667001")).isEmpty();
    }

    @Test
    void aFailedPrecheckLeavesTheRowsToBeCalledAndTheRecordsSayItWasSkipped() {
        List<String> errorPhones = List.of("5511966661001", "5511966661002");
        zapi.stubFor(post(urlEqualTo(BATCH_PATH)).atPriority(1).withRequestBody(equalToJson(phonesBody(errorPhones)))
                .willReturn(aResponse().withStatus(503)));
        List<String> resetPhones = List.of("5511966661003");
        zapi.stubFor(post(urlEqualTo(BATCH_PATH)).atPriority(1).withRequestBody(equalToJson(phonesBody(resetPhones)))
                .willReturn(aResponse().withFault(Fault.CONNECTION_RESET_BY_PEER)));
        List<String> malformedPhones = List.of("5511966661004");
        zapi.stubFor(post(urlEqualTo(BATCH_PATH)).atPriority(1)
                .withRequestBody(equalToJson(phonesBody(malformedPhones)))
                .willReturn(okJson("{\"exists\": tru")));

        module.drop("status.jsonl", "{\"phone\": \"5511966661001\"}\n{\"phone\": \"5511966661002\"}\n");
        module.drop("reset.json", "{\"phone\": \"5511966661003\"}");
        module.drop("malformed.json", "{\"phone\": \"5511966661004\"}");

        List<JsonNode> records = new ArrayList<>(module.awaitRecords("status.jsonl", 2));
        records.addAll(module.awaitRecords("reset.json", 1));
        records.addAll(module.awaitRecords("malformed.json", 1));
        assertThat(records).allSatisfy(record -> {
            assertThat(record.path("outcome").asText()).isEqualTo("success");
            assertThat(record.path("precheck").asText()).startsWith("skipped: ");
        });
        assertThat(records.get(0).path("precheck").asText()).contains("503");
        assertThat(records.get(3).path("precheck").asText()).contains("not");
        for (String phone : List.of("5511966661001", "5511966661002", "5511966661003", "5511966661004")) {
            assertThat(zapi.requestsFor(phone)).as(phone).hasSize(1);
        }
        // a 503 is tried three times, a malformed answer (a 200) once
        assertThat(batchesWith(errorPhones)).hasSize(3);
        assertThat(batchesWith(malformedPhones)).hasSize(1);
    }

    @Test
    void aRowWhoseKeyWasHandledBeforeIsNotCheckedAndStaysADuplicate() {
        String phone = "5511966662001";
        answerBatch(List.of(phone), List.of());
        module.drop("first.json", "{\"phone\": \"" + phone + "\", \"id\": \"precheck-dup-1\"}");
        assertThat(module.awaitRecord("first.json").path("outcome").asText()).isEqualTo("success");

        // now Z-API would say the number is gone: the same request again is a duplicate all the same, not checked
        answerBatch(List.of(phone), List.of(phone));
        answerBatch(List.of("5511966662002"), List.of());
        module.drop("again.jsonl", "{\"phone\": \"" + phone + "\", \"id\": \"precheck-dup-1\"}\n"
                                   + "{\"phone\": \"5511966662002\", \"id\": \"precheck-dup-2\"}\n");

        List<JsonNode> records = byIndex(module.awaitRecords("again.jsonl", 2));
        assertThat(records.get(0).path("outcome").asText()).isEqualTo("duplicate");
        assertThat(records.get(0).path("precheck").isNull()).isTrue();
        assertThat(records.get(1).path("outcome").asText()).isEqualTo("success");
        assertThat(batchesWith(List.of(phone))).hasSize(1);
        assertThat(zapi.requestsFor(phone)).hasSize(1);
    }

    @Test
    void theTokenIsInNoLogLineNorEndpoint() {
        answerBatch(List.of("5511966663001"), List.of());
        zapi.stubFor(post(urlEqualTo(BATCH_PATH)).atPriority(1)
                .withRequestBody(equalToJson(phonesBody(List.of("5511966663002"))))
                .willReturn(aResponse().withStatus(500).withBody("token " + RunningModule.INSTANCE_TOKEN)));
        // what is logged from now on, as logged (before the console's masking layout, the last line of defence)
        int from = LOG.list.size();
        module.drop("secret.jsonl", "{\"phone\": \"5511966663001\"}\n");
        module.drop("secret-failing.jsonl", "{\"phone\": \"5511966663002\"}\n");
        module.awaitRecords("secret.jsonl", 1);
        JsonNode failing = module.awaitRecord("secret-failing.jsonl");

        assertThat(batchesWith(List.of("5511966663001"))).hasSize(1);
        assertThat(failing.toString()).doesNotContain(RunningModule.INSTANCE_TOKEN, RunningModule.CLIENT_TOKEN);
        List<ILoggingEvent> events = List.copyOf(LOG.list);
        List<String> lines = events.subList(from, events.size()).stream()
                .map(event -> event.getFormattedMessage() + " " + (event.getThrowableProxy() == null ? ""
                        : event.getThrowableProxy().getMessage())).toList();
        assertThat(lines).anyMatch(line -> line.contains("pre-check") && line.contains("skipped"));
        assertThat(lines).noneMatch(line -> line.contains(RunningModule.INSTANCE_TOKEN)
                                            || line.contains(RunningModule.CLIENT_TOKEN));
        assertThat(module.context().getEndpoints()).noneMatch(e -> e.getEndpointUri()
                .contains(RunningModule.INSTANCE_TOKEN));
    }

    @Test
    void offByDefault(@TempDir Path otherData) {
        try (ZapiStub other = new ZapiStub(); RunningModule plain = RunningModule.start(other.baseUrl(), otherData)) {
            plain.drop("plain.csv", "phone\n5511966664001\n5511966664002\n");
            assertThat(plain.awaitRecords("plain.csv", 2)).allSatisfy(record -> {
                assertThat(record.path("outcome").asText()).isEqualTo("success");
                assertThat(record.path("precheck").isNull()).isTrue();
            });
            await().atMost(Duration.ofSeconds(5)).until(() -> other.allRequests().size() == 2);
            assertThat(other.allRequests()).noneMatch(r -> r.getUrl().contains("phone-exists"));
        }
    }

    /**
     * A file interrupted by a stop and resumed: its rows recorded before (a call placed, a number found not on
     * WhatsApp) are not checked again, and every row ends in exactly one record.
     */
    @Test
    void aResumedFileChecksOnlyTheRowsNotRecordedBefore(@TempDir Path resumeData) {
        List<String> phones = List.of("5511966666001", "5511966666002", "5511966666003", "5511966666004",
                "5511966666005", "5511966666006", "5511966666007", "5511966666008");
        try (ZapiStub slow = new ZapiStub()) {
            // each call takes a while, one at a time: the module is stopped with the file part read
            slow.stubFor(post(urlEqualTo(RunningModule.SEND_CALL_PATH)).atPriority(2)
                    .willReturn(okJson("{\"zaapId\":\"z\",\"messageId\":\"m\",\"id\":\"m\"}").withFixedDelay(400)));
            // the first number is not on WhatsApp; of the others the answer says nothing (so they are called)
            slow.stubFor(post(urlEqualTo(BATCH_PATH)).atPriority(1)
                    .withRequestBody(com.github.tomakehurst.wiremock.client.WireMock.containing(phones.get(0)))
                    .willReturn(okJson("[{\"exists\":false,\"inputPhone\":\"" + phones.get(0) + "\"}]")));
            slow.stubFor(post(urlEqualTo(BATCH_PATH)).atPriority(2).willReturn(okJson("[]")));
            Map<String, String> settings = Map.of("zapi.precheck", "true", "zapi.precheck.batch-size", "2",
                    "zapi.concurrency", "1");
            StringBuilder file = new StringBuilder();
            phones.forEach(phone -> file.append("{\"phone\": \"").append(phone).append("\"}\n"));

            List<JsonNode> before;
            try (RunningModule first = RunningModule.start(slow.baseUrl(), resumeData, settings)) {
                first.drop("resume.jsonl", file.toString());
                await().atMost(Duration.ofSeconds(30)).until(() -> first.recordsOf("resume.jsonl").size() >= 2);
            }
            // the file was interrupted: it stays in the inbox with the records of the rows done so far
            before = RunningModule.recordFiles(resumeData.resolve("outbox")).stream().map(RunningModule::read).toList();
            assertThat(before).hasSizeBetween(2, phones.size() - 1);
            assertThat(before).anySatisfy(record -> assertThat(record.path("precheck").asText())
                    .isEqualTo("not on WhatsApp"));
            slow.resetRequests();

            try (RunningModule second = RunningModule.start(slow.baseUrl(), resumeData, settings)) {
                List<JsonNode> records = second.awaitRecords("resume.jsonl", phones.size());
                assertThat(records).extracting(r -> r.path("source").path("index").asInt())
                        .containsExactlyInAnyOrder(1, 2, 3, 4, 5, 6, 7, 8);
                List<String> checkedAgain = slow.allRequests().stream()
                        .filter(r -> r.getUrl().endsWith("/phone-exists-batch"))
                        .map(LoggedRequest::getBodyAsString).toList();
                for (JsonNode record : before) {
                    String phone = phones.get(record.path("source").path("index").asInt() - 1);
                    assertThat(checkedAgain).as("checked again: " + phone).noneMatch(body -> body.contains(phone));
                }
                assertThat(checkedAgain).isNotEmpty();
            }
            for (String phone : phones.subList(1, phones.size())) {
                assertThat(slow.requestsFor(phone).size() + countIn(before, phone)).as(phone).isEqualTo(1);
            }
        }
    }

    private static int countIn(List<JsonNode> records, String phone) {
        return (int) records.stream().filter(r -> phone.equals(r.path("request").path("phone").asText())
                                                  && r.path("attempts").asInt() > 0).count();
    }

    /** Over Z-API's 50,000 (or under 1), or a switch that is not true/false: refused at start-up, naming the setting. */
    @Test
    void itsSettingsAreRangeChecked(@TempDir Path refusedData) {
        Map<String, String> wrong = Map.of("zapi.precheck.batch-size", "50001", "zapi.precheck", "yes");
        assertThatThrownBy(() -> RunningModule.start(zapi.baseUrl(), refusedData, wrong).close())
                .satisfies(e -> assertThat(startupCause(e).getMessage()).contains(
                        "zapi.precheck.batch-size (env ZAPI_PRECHECK_BATCH_SIZE) must be a whole number from 1 to "
                        + "50000, was \"50001\"", "zapi.precheck (env ZAPI_PRECHECK) must be true or false"));
    }

    private static StartupException startupCause(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof StartupException startup) {
                return startup;
            }
        }
        throw new AssertionError("no StartupException in " + e, e);
    }

    @Test
    void theRecordsPrecheckFieldIsJson() throws Exception {
        // the field is part of every record, null when no check was made
        JsonNode record = Json.MAPPER.readTree(module.post("{\"phone\": \"5511966665001\"}").body());
        assertThat(record.has("precheck")).isTrue();
        assertThat(record.path("precheck").isNull()).isTrue();
    }
}
