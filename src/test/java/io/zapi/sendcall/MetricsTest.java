package io.zapi.sendcall;

import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import com.fasterxml.jackson.databind.JsonNode;
import jakarta.jms.Connection;
import jakarta.jms.MessageProducer;
import jakarta.jms.Session;
import org.apache.activemq.artemis.jms.client.ActiveMQConnectionFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.okJson;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The module's own meters on GET /observe/metrics (real HTTP on the management port): they agree with the records on
 * disk, their labels are bounded, and the whole exposition passes the real {@code promtool check metrics}.
 */
class MetricsTest {

    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private static final Map<String, String> FAST_RETRIES = Map.of("zapi.retry.max-attempts", "3",
            "zapi.retry.initial-delay-ms", "20", "zapi.retry.max-delay-ms", "200");
    private static final Pattern LONG_DIGIT_RUN = Pattern.compile("\\d{8,}");

    private static final String OK = "5511911110001";
    private static final String ANSWERS_405 = "5511911110002";
    private static final String ANSWERS_415 = "5511911110003";
    private static final String ANSWERS_500 = "5511911110004";
    private static final String BUSY_ONCE = "5511911110006";
    private static final String HTTP_OK = "5511922220001";
    private static final String JMS_OK = "5511933330001";
    private static final String SLOW = "5511944440001";
    private static final List<String> PHONES = List.of(OK, ANSWERS_405, ANSWERS_415, ANSWERS_500, BUSY_ONCE, HTTP_OK,
            JMS_OK, SLOW, "5511911110005", "5511922220002", "5511933330002");
    private static final String BATCH_FILE = "mixed-batch-7f31.jsonl";

    @RegisterExtension
    static final ModuleUnderTest app = new ModuleUnderTest(FAST_RETRIES);

    @TempDir
    Path otherDataDir;

    @Test
    void requestCountersAgreeWithTheRecordsOfAMixedBatchOnEveryInput() throws Exception {
        ZapiStub zapi = app.zapi();
        RunningModule module = app.module();
        zapi.answer(ANSWERS_405, aResponse().withStatus(405));
        zapi.answer(ANSWERS_415, aResponse().withStatus(415));
        zapi.answer(ANSWERS_500, aResponse().withStatus(500));
        zapi.answerInTurn(BUSY_ONCE, aResponse().withStatus(503), okJson("{\"zaapId\":\"Z\",\"messageId\":\"M\",\"id\":\"M\"}"));

        module.drop(BATCH_FILE, String.join("\n",
                "{\"phone\": \"" + OK + "\", \"id\": \"metrics-first\"}",
                "{\"phone\": \"" + ANSWERS_405 + "\"}",
                "{\"phone\": \"" + ANSWERS_415 + "\"}",
                "{\"phone\": \"" + ANSWERS_500 + "\"}",
                "{\"phone\": \"5511911110005\", \"callDuration\": 0}",
                "{\"phone\": \"" + BUSY_ONCE + "\"}",
                "{\"phone\": \"5511911110007\", \"callDuration\": 99}"));
        module.awaitRecords(BATCH_FILE, 7);
        await().atMost(Duration.ofSeconds(20)).until(() -> module.kept(".done", BATCH_FILE).size() == 1);

        assertThat(post(module, "{\"phone\": \"" + HTTP_OK + "\"}")).isEqualTo(200);
        assertThat(post(module, "{\"phone\": \"5511922220002\", \"callDuration\": 0}")).isEqualTo(400);
        assertThat(post(module, "{\"phone\": \"" + ANSWERS_405 + "\"}")).isEqualTo(502);
        // the file's id again: a duplicate
        assertThat(post(module, "{\"phone\": \"" + OK + "\", \"id\": \"metrics-first\"}")).isEqualTo(409);

        sendJms(module, "{\"phone\": \"" + JMS_OK + "\"}", "{\"phone\": \"" + ANSWERS_415 + "\"}",
                "{\"phone\": \"5511933330002\", \"callDuration\": 0}", "{\"phone\": \"" + ANSWERS_500 + "\"}",
                "{\"phone\": \"" + OK + "\", \"id\": \"metrics-first\"}");
        await().atMost(Duration.ofSeconds(30)).until(() -> module.allRecords().size() == 16);

        Map<String, Long> recordsByChannelAndOutcome = new TreeMap<>(module.allRecords().stream().collect(
                Collectors.groupingBy(r -> key(r.path("source").path("channel").asText(), r.path("outcome").asText()),
                        Collectors.counting())));
        assertThat(recordsByChannelAndOutcome.keySet().stream().map(k -> k.substring(k.indexOf(' ') + 1)))
                // but cancelled, which needs a file cancelled by its user: FilesApiTest counts that one
                .as("every outcome is in the batch").containsAll(RunningModule.OUTCOMES.stream()
                        .filter(outcome -> !"cancelled".equals(outcome)).toList());
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            MetricsScrape scrape = MetricsScrape.of(module);
            assertThat(requestCounters(scrape)).isEqualTo(recordsByChannelAndOutcome);
            for (String outcome : RunningModule.OUTCOMES) {
                assertThat(scrape.sum("zapi_requests_total", Map.of("outcome", outcome))).as(outcome)
                        .isEqualTo(recordFiles(module, outcome));
            }
        });

        MetricsScrape scrape = MetricsScrape.of(module);
        // one timed call per request Z-API received, by its status; the one 503 retried once
        assertThat(scrape.value("zapi_call_duration_seconds_count")).isEqualTo(zapi.allRequests().size());
        assertThat(scrape.sum("zapi_call_duration_seconds_count", Map.of("status", "405"))).isEqualTo(2);
        assertThat(scrape.sum("zapi_call_duration_seconds_count", Map.of("status", "415"))).isEqualTo(2);
        assertThat(scrape.sum("zapi_call_duration_seconds_count", Map.of("status", "500"))).isEqualTo(2);
        assertThat(scrape.sum("zapi_call_duration_seconds_count", Map.of("status", "503"))).isEqualTo(1);
        assertThat(scrape.sum("zapi_call_duration_seconds_bucket", Map.of("status", "200", "le", "+Inf")))
                .isEqualTo(scrape.sum("zapi_call_duration_seconds_count", Map.of("status", "200"))).isGreaterThan(0);
        java.util.SortedSet<Double> buckets = scrape.named("zapi_call_duration_seconds_bucket").stream()
                .map(s -> Double.parseDouble(s.labels().get("le").replace("+Inf", "Infinity"))).collect(Collectors.toCollection(java.util.TreeSet::new));
        assertThat(buckets).as("buckets for histogram_quantile, 5 ms to 60 s").containsExactly(0.005, 0.01, 0.025, 0.05, 0.1,
                        0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, Double.POSITIVE_INFINITY);
        assertThat(scrape.has("zapi_call_duration_seconds_max")).isTrue();
        assertThat(scrape.value("zapi_retries_total")).isEqualTo(1);
        assertThat(scrape.sum("zapi_retries_total", Map.of("reason", "503"))).isEqualTo(1);
        assertThat(scrape.value("zapi_calls_in_flight")).isZero();
        assertThat(scrape.named("zapi_instance_requests_in_flight")).singleElement().satisfies(inFlight -> {
            assertThat(inFlight.labels()).isEqualTo(Map.of("instance", "default"));
            assertThat(inFlight.value()).isZero();
        });
        assertThat(scrape.value("zapi_inbox_files_in_progress")).isZero();
        assertThat(scrape.value("zapi_inbox_rows_read_total")).isEqualTo(7);

        assertBoundedLabels(scrape);
        assertThat(scrape.promtoolProblems()).as("promtool check metrics").isEmpty();
    }

    @Test
    void aCallAndItsFileAreInProgressWhileZapiTakesItsTime() throws Exception {
        try (ZapiStub zapi = new ZapiStub(); RunningModule module = RunningModule.start(zapi.baseUrl(), otherDataDir)) {
            zapi.answer(SLOW, okJson("{\"zaapId\":\"Z\",\"messageId\":\"M\",\"id\":\"M\"}").withFixedDelay(4000));
            MetricsScrape idle = MetricsScrape.of(module);
            assertThat(idle.named("zapi_calls_in_flight")).singleElement().satisfies(s -> assertThat(s.value()).isZero());
            assertThat(idle.named("zapi_inbox_files_in_progress")).singleElement()
                    .satisfies(s -> assertThat(s.value()).isZero());

            module.drop("slow.json", "{\"phone\": \"" + SLOW + "\"}");

            await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
                MetricsScrape busy = MetricsScrape.of(module);
                assertThat(busy.value("zapi_calls_in_flight")).isEqualTo(1);
                assertThat(busy.value("zapi_inbox_files_in_progress")).isEqualTo(1);
            });
            assertThat(module.awaitRecord("slow.json").path("outcome").asText()).isEqualTo("success");
            await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
                MetricsScrape done = MetricsScrape.of(module);
                assertThat(done.value("zapi_calls_in_flight")).isZero();
                assertThat(done.value("zapi_inbox_files_in_progress")).isZero();
                assertThat(done.sum("zapi_call_duration_seconds_sum", Map.of("status", "200"))).isGreaterThan(3.5);
            });
        }
    }

    @Test
    void aRefusedConnectionIsTimedAndRetriedAsConnect() throws Exception {
        int closedPort;
        try (ServerSocket socket = new ServerSocket(0)) {
            closedPort = socket.getLocalPort();
        }
        try (RunningModule module = RunningModule.start("http://127.0.0.1:" + closedPort, otherDataDir, FAST_RETRIES)) {
            assertThat(post(module, "{\"phone\": \"" + OK + "\"}")).isEqualTo(502);

            MetricsScrape scrape = MetricsScrape.of(module);
            assertThat(scrape.sum("zapi_call_duration_seconds_count", Map.of("status", "connect"))).isEqualTo(3);
            assertThat(scrape.named("zapi_retries_total")).singleElement().satisfies(retries -> {
                assertThat(retries.labels()).isEqualTo(Map.of("reason", "connect", "instance", "default"));
                assertThat(retries.value()).isEqualTo(2);
            });
            assertThat(scrape.named("zapi_requests_total")).singleElement().satisfies(requests -> {
                assertThat(requests.labels()).isEqualTo(Map.of("channel", "http", "outcome", "failed", "instance",
                        "default"));
                assertThat(requests.value()).isEqualTo(1);
            });
            assertThat(scrape.promtoolProblems()).as("promtool check metrics").isEmpty();
        }
    }

    @Test
    void anAnswerTooLateIsTimedAsTimeoutAndNotRetried() throws Exception {
        try (ZapiStub zapi = new ZapiStub(); RunningModule module = RunningModule.start(zapi.baseUrl(), otherDataDir,
                Map.of("zapi.http.response-timeout-ms", "500"))) {
            zapi.answer(SLOW, okJson("{\"zaapId\":\"Z\",\"messageId\":\"M\",\"id\":\"M\"}").withFixedDelay(3000));

            assertThat(post(module, "{\"phone\": \"" + SLOW + "\"}")).isEqualTo(502);

            MetricsScrape scrape = MetricsScrape.of(module);
            assertThat(scrape.named("zapi_call_duration_seconds_count")).singleElement().satisfies(calls -> {
                assertThat(calls.labels()).isEqualTo(Map.of("status", "timeout", "instance", "default"));
                assertThat(calls.value()).isEqualTo(1);
            });
            assertThat(scrape.value("zapi_retries_total")).isZero();
            assertThat(scrape.sum("zapi_requests_total", Map.of("channel", "http", "outcome", "failed"))).isEqualTo(1);
        }
    }

    /** No label of the module's meters holds a phone, a file name, an id or anything else unbounded. */
    private static void assertBoundedLabels(MetricsScrape scrape) {
        List<MetricsScrape.Sample> ours = scrape.samples().stream().filter(s -> s.name().startsWith("zapi_")).toList();
        assertThat(ours).isNotEmpty();
        for (MetricsScrape.Sample sample : ours) {
            assertThat(sample.labels().keySet()).as(sample.name())
                    .isSubsetOf("channel", "outcome", "status", "reason", "instance", "le");
            for (String value : sample.labels().values()) {
                assertThat(value).as(sample.name()).doesNotContainPattern(LONG_DIGIT_RUN)
                        .doesNotContain(BATCH_FILE).doesNotContain("mixed-batch").doesNotContain("metrics-first");
                PHONES.forEach(phone -> assertThat(value).doesNotContain(phone));
            }
        }
        assertThat(scrape.named("zapi_requests_total")).allSatisfy(s -> {
            assertThat(s.labels().get("channel")).isIn("file", "http", "jms");
            assertThat(s.labels().get("outcome")).isIn(RunningModule.OUTCOMES);
            // the one instance, or none for a request rejected before it was given one
            assertThat(s.labels().get("instance")).isIn("default", "none");
        });
        Set<String> statuses = scrape.named("zapi_call_duration_seconds_count").stream()
                .map(s -> s.labels().get("status")).collect(Collectors.toSet());
        assertThat(statuses).allMatch(status -> status.matches("[1-5]\\d\\d|connect|timeout|error"));
        assertThat(scrape.named("zapi_retries_total")).allSatisfy(s -> assertThat(s.labels().get("reason"))
                .isIn("429", "502", "503", "504", "connect"));
    }

    private static Map<String, Long> requestCounters(MetricsScrape scrape) {
        return new TreeMap<>(scrape.named("zapi_requests_total").stream().filter(s -> s.value() > 0).collect(
                Collectors.toMap(s -> key(s.labels().get("channel"), s.labels().get("outcome")),
                        s -> (long) s.value())));
    }

    private static String key(String channel, String outcome) {
        return channel + " " + outcome;
    }

    private static long recordFiles(RunningModule module, String outcome) throws Exception {
        try (var files = java.nio.file.Files.list(module.outbox(outcome))) {
            return files.filter(f -> f.getFileName().toString().endsWith(".json")
                                     && !f.getFileName().toString().startsWith(".")).count();
        }
    }

    static int post(RunningModule module, String body) throws Exception {
        String port = module.context().resolvePropertyPlaceholders("{{camel.server.port}}");
        HttpResponse<String> response = HTTP.send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + port + "/send-call")).timeout(Duration.ofSeconds(30))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
        return response.statusCode();
    }

    static void sendJms(RunningModule module, String... bodies) throws Exception {
        try (Connection connection = new ActiveMQConnectionFactory("tcp://127.0.0.1:" + module.jmsPort())
                .createConnection()) {
            Session session = connection.createSession(false, Session.AUTO_ACKNOWLEDGE);
            try (MessageProducer producer = session.createProducer(session.createQueue("send-call"))) {
                for (String body : bodies) {
                    producer.send(session.createTextMessage(body));
                }
            }
        }
    }
}
