package io.zapi.sendcall;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.zapi.sendcall.pipeline.Json;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.anyUrl;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Several Z-API instances (zapi.instances.<name>.*), each a WireMock server of its own with its own id and tokens:
 * requests spread over them or naming one, each instance paced by its own rate limit, a 429 storm on one leaving the
 * other at its pace, unknown names rejected, records, metrics and file reports by instance.
 */
class InstancesTest {

    private static final String SLOW_ID = "slow-instance-1";
    private static final String SLOW_TOKEN = "SLOW-INSTANCE-TOKEN-3c9e";
    private static final String SLOW_CLIENT = "SLOW-CLIENT-TOKEN-a41f";
    private static final String FAST_ID = "fast-instance-2";
    private static final String FAST_TOKEN = "FAST-INSTANCE-TOKEN-77b0";
    private static final String FAST_CLIENT = "FAST-CLIENT-TOKEN-e52d";
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    @TempDir
    Path dataDir;

    /** Two named instances and no default one (the default instance's three settings left unset). */
    private static Map<String, String> twoInstances(ZapiStub slow, int slowRate, ZapiStub fast, int fastRate) {
        Map<String, String> settings = new HashMap<>();
        settings.put("zapi.instance-id", "");
        settings.put("zapi.instance-token", "");
        settings.put("zapi.client-token", "");
        settings.put("zapi.instance-selection", "spread");
        settings.put("zapi.instances.slow.instance-id", SLOW_ID);
        settings.put("zapi.instances.slow.instance-token", SLOW_TOKEN);
        settings.put("zapi.instances.slow.client-token", SLOW_CLIENT);
        settings.put("zapi.instances.slow.base-url", slow.baseUrl());
        settings.put("zapi.instances.slow.rate-limit", String.valueOf(slowRate));
        settings.put("zapi.instances.fast.instance-id", FAST_ID);
        settings.put("zapi.instances.fast.instance-token", FAST_TOKEN);
        settings.put("zapi.instances.fast.client-token", FAST_CLIENT);
        settings.put("zapi.instances.fast.base-url", fast.baseUrl());
        settings.put("zapi.instances.fast.rate-limit", String.valueOf(fastRate));
        return settings;
    }

    @Test
    void aSpreadFileKeepsEachInstanceWithinItsOwnRateLimit() throws Exception {
        try (ZapiStub slow = new ZapiStub(SLOW_ID, SLOW_TOKEN, SLOW_CLIENT);
             ZapiStub fast = new ZapiStub(FAST_ID, FAST_TOKEN, FAST_CLIENT);
             RunningModule module = RunningModule.start("http://127.0.0.1:9", dataDir,
                     twoInstances(slow, 2, fast, 5))) {
            // the first call of each stand-in is logged late by its own warming up (WireMock's and the HttpClient's
            // first request in this JVM: ~150 ms), which would bunch the next two into its second; one call each first
            for (String instance : List.of("slow", "fast")) {
                assertThat(post(module, "{\"phone\": \"5511970000100\"}", "Zapi-Instance", instance).statusCode())
                        .isEqualTo(200);
            }
            slow.resetRequests();
            fast.resetRequests();
            module.drop("campaign.csv", csv(200, ""));

            // 200 calls at 2 + 5 a second: about 30 s
            await().atMost(Duration.ofSeconds(120)).until(() -> module.recordsOf("campaign.csv").size() == 200);
            List<JsonNode> records = module.recordsOf("campaign.csv");

            assertThat(records).allSatisfy(r -> assertThat(r.path("outcome").asText()).isEqualTo("success"));
            assertThat(slow.busiestSecond()).as("calls in the slow instance's busiest second").isBetween(1, 2);
            assertThat(fast.busiestSecond()).as("calls in the fast instance's busiest second").isBetween(3, 5);
            assertThat(slow.allRequests().size() + fast.allRequests().size()).isEqualTo(200);
            // each record names the instance whose stand-in took its call, and no other
            Map<String, Long> byInstance = records.stream()
                    .collect(Collectors.groupingBy(r -> r.path("instance").asText(), Collectors.counting()));
            assertThat(byInstance).isEqualTo(Map.of("slow", (long) slow.allRequests().size(),
                    "fast", (long) fast.allRequests().size()));
            for (JsonNode record : records) {
                String phone = record.path("request").path("phone").asText();
                ZapiStub took = record.path("instance").asText().equals("slow") ? slow : fast;
                assertThat(took.requestsFor(phone)).as(phone).hasSize(1);
            }
            // the spread follows what each instance can take: the faster one gets more
            assertThat(byInstance.get("fast")).isGreaterThan(byInstance.get("slow"));

            JsonNode report = Reports.awaitReport(module.dataDir(), "campaign.csv");
            assertThat(report.path("instances").path("slow").path("success").asLong()).isEqualTo(byInstance.get("slow"));
            assertThat(report.path("instances").path("fast").path("success").asLong()).isEqualTo(byInstance.get("fast"));

            MetricsScrape scrape = MetricsScrape.of(module);
            assertThat(scrape.sum("zapi_requests_total", Map.of("instance", "slow", "outcome", "success",
                    "channel", "file"))).isEqualTo(byInstance.get("slow").doubleValue());
            // the file's calls and the first one
            assertThat(scrape.sum("zapi_call_duration_seconds_count", Map.of("instance", "fast", "status", "200")))
                    .isEqualTo(byInstance.get("fast") + 1.0);
            assertThat(scrape.sum("zapi_instance_requests_in_flight", Map.of("instance", "slow"))).isZero();
            assertThat(scrape.promtoolProblems()).as("promtool check metrics").isEmpty();
            // the tokens of neither instance are in a record or the report
            for (Path file : allFiles(module.dataDir().resolve("outbox"))) {
                String text = Files.readString(file);
                for (String secret : List.of(SLOW_TOKEN, SLOW_CLIENT, FAST_TOKEN, FAST_CLIENT)) {
                    assertThat(text).as(file.toString()).doesNotContain(secret);
                }
            }
        }
    }

    /**
     * The slow instance answers 429 with a Retry-After of 20 s: its requests wait for their retry, and meanwhile the
     * fast one places every call it is given at its own pace. A back-off shared between instances would hold the fast
     * one's calls for those 20 s as well.
     */
    @Test
    void aStormOf429OnOneInstanceLeavesTheOtherAtItsPace() {
        try (ZapiStub slow = new ZapiStub(SLOW_ID, SLOW_TOKEN, SLOW_CLIENT);
             ZapiStub fast = new ZapiStub(FAST_ID, FAST_TOKEN, FAST_CLIENT)) {
            slow.stubFor(com.github.tomakehurst.wiremock.client.WireMock.post(anyUrl()).atPriority(1)
                    .willReturn(aResponse().withStatus(429).withHeader("Retry-After", "20")));
            Map<String, String> settings = twoInstances(slow, 5, fast, 5);
            settings.put("zapi.retry.max-attempts", "2");
            try (RunningModule module = RunningModule.start("http://127.0.0.1:9", dataDir, settings)) {
                module.drop("storm.csv", csv(40, ""));

                // every request given to the fast instance is done while the slow one's wait for their retry
                await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
                    List<JsonNode> records = module.recordsOf("storm.csv");
                    assertThat(records).isNotEmpty().allSatisfy(r -> {
                        assertThat(r.path("instance").asText()).isEqualTo("fast");
                        assertThat(r.path("outcome").asText()).isEqualTo("success");
                    });
                    assertThat(records.size() + slow.allRequests().size()).isEqualTo(40);
                });
                assertThat(module.recordsOf("storm.csv")).as("none of the slow one's yet: they wait 20 s")
                        .allSatisfy(r -> assertThat(r.path("instance").asText()).isEqualTo("fast"));
                // at its pace, 5 a second (4 allows a call delayed by a busy machine), while a back-off shared
                // with the slow one would have held it to none for those 20 s
                assertThat(fast.busiestSecond()).as("the fast one at its pace of 5 a second").isBetween(4, 5);
                assertThat(slow.allRequests()).as("the slow one got some requests").isNotEmpty();

                await().atMost(Duration.ofSeconds(90)).until(() -> module.recordsOf("storm.csv").size() == 40);
                List<JsonNode> records = module.recordsOf("storm.csv");
                List<JsonNode> ofSlow = records.stream().filter(r -> r.path("instance").asText().equals("slow"))
                        .toList();
                assertThat(ofSlow).hasSize(slow.allRequests().size() / 2).allSatisfy(r -> {
                    assertThat(r.path("outcome").asText()).isEqualTo("failed");
                    assertThat(r.path("status").asInt()).isEqualTo(429);
                    assertThat(r.path("attempts").asInt()).isEqualTo(2);
                });
                MetricsScrape scrape = MetricsScrape.of(module);
                assertThat(scrape.sum("zapi_retries_total", Map.of("instance", "slow", "reason", "429")))
                        .isEqualTo((double) ofSlow.size());
                assertThat(scrape.sum("zapi_retries_total", Map.of("instance", "fast"))).isZero();
            }
        }
    }

    @Test
    void aRequestNamesItsInstanceInAnyCaseAndAnUnknownOneIsRejected() throws Exception {
        try (ZapiStub slow = new ZapiStub(SLOW_ID, SLOW_TOKEN, SLOW_CLIENT);
             ZapiStub fast = new ZapiStub(FAST_ID, FAST_TOKEN, FAST_CLIENT);
             RunningModule module = RunningModule.start("http://127.0.0.1:9", dataDir,
                     twoInstances(slow, 0, fast, 0))) {
            // the body's field, in another case
            JsonNode named = Json.MAPPER.readTree(module.post(
                    "{\"phone\": \"5511970000001\", \"instance\": \"SLOW\"}").body());
            assertThat(named.path("outcome").asText()).isEqualTo("success");
            assertThat(named.path("instance").asText()).isEqualTo("slow");
            assertThat(slow.requestsFor("5511970000001")).singleElement().satisfies(call -> {
                assertThat(call.getHeader("Client-Token")).isEqualTo(SLOW_CLIENT);
                assertThat(call.getUrl()).isEqualTo("/instances/" + SLOW_ID + "/token/" + SLOW_TOKEN + "/send-call");
            });

            // the header wins over the body
            HttpResponse<String> byHeader = post(module, "{\"phone\": \"5511970000002\", \"instance\": \"slow\"}",
                    "Zapi-Instance", "Fast");
            assertThat(byHeader.statusCode()).isEqualTo(200);
            assertThat(Json.MAPPER.readTree(byHeader.body()).path("instance").asText()).isEqualTo("fast");
            assertThat(fast.requestsFor("5511970000002")).hasSize(1);
            assertThat(slow.requestsFor("5511970000002")).isEmpty();

            // unknown, by body or header: rejected with the names it may take, never called
            HttpResponse<String> unknown = post(module, "{\"phone\": \"5511970000003\", \"instance\": \"third\"}");
            assertThat(unknown.statusCode()).isEqualTo(400);
            JsonNode rejected = Json.MAPPER.readTree(unknown.body());
            assertThat(rejected.path("outcome").asText()).isEqualTo("rejected");
            assertThat(rejected.path("error").asText())
                    .isEqualTo("instance \"third\" is not a Z-API instance of this module; its instances are fast, "
                               + "slow");
            assertThat(rejected.path("instance").isNull()).isTrue();
            HttpResponse<String> unknownHeader = post(module, "{\"phone\": \"5511970000004\"}",
                    "Zapi-Instance", "default");
            assertThat(unknownHeader.statusCode()).as("no default instance here").isEqualTo(400);
            HttpResponse<String> twice = post(module, "{\"phone\": \"5511970000005\"}",
                    "Zapi-Instance", "slow", "Zapi-Instance", "fast");
            assertThat(Json.MAPPER.readTree(twice.body()).path("error").asText())
                    .isEqualTo("Zapi-Instance must be sent once, got 2 of them");
            HttpResponse<String> notText = post(module, "{\"phone\": \"5511970000006\", \"instance\": 2}");
            assertThat(Json.MAPPER.readTree(notText.body()).path("error").asText())
                    .startsWith("instance must be a string");
            for (String phone : List.of("5511970000003", "5511970000004", "5511970000005", "5511970000006")) {
                assertThat(slow.requestsFor(phone)).isEmpty();
                assertThat(fast.requestsFor(phone)).isEmpty();
            }

            // a CSV column, in any case; an empty cell lets the selection choose
            module.drop("named.csv", "phone,Instance\n5511970000011,FAST\n5511970000012,\n5511970000013,nope\n");
            Map<Integer, JsonNode> rows = module.awaitRecords("named.csv", 3).stream()
                    .collect(Collectors.toMap(r -> r.path("source").path("index").asInt(), r -> r));
            assertThat(rows.get(1).path("instance").asText()).isEqualTo("fast");
            assertThat(rows.get(2).path("outcome").asText()).isEqualTo("success");
            assertThat(rows.get(2).path("instance").asText()).isIn("fast", "slow");
            assertThat(rows.get(3).path("outcome").asText()).isEqualTo("rejected");
            assertThat(rows.get(3).path("error").asText()).startsWith("instance \"nope\" is not a Z-API instance");
            JsonNode report = Reports.awaitReport(module.dataDir(), "named.csv");
            assertThat(report.path("instances").path("none").path("rejected").asLong()).isEqualTo(1);
        }
    }

    /**
     * An instance defined by environment variables alone (ZAPI_INSTANCES_SECOND_*), beside the default one: its calls
     * go to its own stand-in with its own tokens, and neither of its tokens is in the module's output, at DEBUG.
     */
    @Test
    void anInstanceOfEnvironmentVariablesBesideTheDefaultOne() throws Exception {
        String secondId = "second-instance-env";
        String secondToken = "SECOND-ENV-INSTANCE-TOKEN-5d2c";
        String secondClient = "SECOND-ENV-CLIENT-TOKEN-90fa";
        try (ZapiStub first = new ZapiStub();
             ZapiStub second = new ZapiStub(secondId, secondToken, secondClient)) {
            int port = RunningModule.freePort();
            int managementPort = RunningModule.freePort();
            Map<String, String> properties = new HashMap<>(first.moduleSettings());
            properties.put("zapi.data-dir", dataDir.toString());
            properties.put("camel.server.port", String.valueOf(port));
            properties.put("camel.management.port", String.valueOf(managementPort));
            properties.put("zapi.jms.embedded-port", String.valueOf(RunningModule.freePort()));
            Map<String, String> environment = Map.of(
                    "ZAPI_INSTANCES_SECOND_INSTANCE_ID", secondId,
                    "ZAPI_INSTANCES_SECOND_INSTANCE_TOKEN", secondToken,
                    "ZAPI_INSTANCES_SECOND_CLIENT_TOKEN", secondClient,
                    "ZAPI_INSTANCES_SECOND_BASE_URL", second.baseUrl(),
                    "LOG_LEVEL", "DEBUG", "CAMEL_LOG_LEVEL", "DEBUG", "ZAPI_LOG_LEVEL", "DEBUG");
            try (ModuleProcess module = ModuleProcess.start(properties, environment)) {
                await().atMost(Duration.ofSeconds(60)).until(() -> ModuleProcess.ready(managementPort));
                HttpResponse<String> toSecond = HTTP.send(HttpRequest.newBuilder(
                                URI.create("http://127.0.0.1:" + port + "/send-call"))
                        .header("Content-Type", "application/json").header("Zapi-Instance", "SECOND")
                        .POST(HttpRequest.BodyPublishers.ofString("{\"phone\": \"5511970000021\"}")).build(),
                        HttpResponse.BodyHandlers.ofString());
                assertThat(toSecond.statusCode()).as(toSecond.body()).isEqualTo(200);
                assertThat(Json.MAPPER.readTree(toSecond.body()).path("instance").asText()).isEqualTo("second");
                assertThat(second.requestsFor("5511970000021")).singleElement()
                        .satisfies(call -> assertThat(call.getHeader("Client-Token")).isEqualTo(secondClient));
                HttpResponse<String> toDefault = HTTP.send(HttpRequest.newBuilder(
                                URI.create("http://127.0.0.1:" + port + "/send-call"))
                        .header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString("{\"phone\": \"5511970000022\"}")).build(),
                        HttpResponse.BodyHandlers.ofString());
                assertThat(Json.MAPPER.readTree(toDefault.body()).path("instance").asText()).isEqualTo("default");
                assertThat(first.requestsFor("5511970000022")).hasSize(1);

                String output = module.output();
                assertThat(output).contains("DEBUG");
                for (String secret : Set.of(secondToken, secondClient, RunningModule.INSTANCE_TOKEN,
                        RunningModule.CLIENT_TOKEN)) {
                    assertThat(output).doesNotContain(secret);
                }
            }
        }
    }

    private static HttpResponse<String> post(RunningModule module, String json, String... headers)
            throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + module.context()
                        .resolvePropertyPlaceholders("{{camel.server.port}}") + "/send-call"))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(json));
        for (int i = 0; i < headers.length; i += 2) {
            request.header(headers[i], headers[i + 1]);
        }
        return HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static String csv(int rows, String instance) {
        return "phone,instance\n" + IntStream.rangeClosed(1, rows)
                .mapToObj(i -> String.format("55119%08d,%s%n", i, instance)).collect(Collectors.joining());
    }

    private static List<Path> allFiles(Path folder) throws Exception {
        try (var files = Files.walk(folder)) {
            return files.filter(Files::isRegularFile).toList();
        }
    }
}
