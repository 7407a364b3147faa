package io.zapi.sendcall;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import io.zapi.sendcall.pipeline.Json;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.okJson;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * deploy/grafana/zapi-send-call.json: a Prometheus datasource variable, the panels the README promises, PromQL that
 * promtool accepts, and only metric names the running module exports on GET /observe/metrics.
 */
class GrafanaDashboardTest {

    private static final Path DASHBOARD = Path.of("deploy/grafana/zapi-send-call.json");
    private static final Pattern IDENTIFIER = Pattern.compile("[a-zA-Z_:][a-zA-Z0-9_:]*");
    private static final Set<String> PROMQL_WORDS = Set.of("by", "without", "on", "ignoring", "group_left",
            "group_right", "offset", "bool", "and", "or", "unless", "inf", "nan");

    @RegisterExtension
    static final ModuleUnderTest app = new ModuleUnderTest(java.util.Map.of("zapi.retry.initial-delay-ms", "20"));

    @TempDir
    Path rulesDir;

    @Test
    void everyMetricThePanelsQueryIsExportedByTheRunningModule() throws IOException {
        // traffic that makes every meter exist: a file read, a call, a retry
        app.zapi().answerInTurn("5511955550001", aResponse().withStatus(503),
                okJson("{\"zaapId\":\"Z\",\"messageId\":\"M\",\"id\":\"M\"}"));
        app.module().drop("dashboard.jsonl", "{\"phone\": \"5511955550001\"}\n{\"phone\": \"5511955550002\"}");
        app.module().awaitRecords("dashboard.jsonl", 2);

        Set<String> queried = metricNames(panelQueries(dashboard()));
        assertThat(queried).contains("zapi_requests_total", "zapi_call_duration_seconds_bucket", "zapi_calls_in_flight",
                "zapi_retries_total", "zapi_inbox_files_in_progress");

        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            MetricsScrape scrape = MetricsScrape.of(app.module());
            assertThat(queried).allSatisfy(name -> assertThat(scrape.has(name))
                    .as("%s is exported on /observe/metrics", name).isTrue());
        });
    }

    @Test
    void thePanelsAreThePromisedOnesOnAPrometheusDatasourceVariable() throws IOException {
        JsonNode dashboard = dashboard();
        List<JsonNode> variables = new ArrayList<>();
        dashboard.path("templating").path("list").forEach(variables::add);
        JsonNode datasource = variables.stream().filter(v -> v.path("type").asText().equals("datasource")).findFirst()
                .orElseThrow(() -> new AssertionError("no datasource variable"));
        assertThat(datasource.path("query").asText()).isEqualTo("prometheus");
        String reference = "${" + datasource.path("name").asText() + "}";
        dashboard.path("panels").forEach(panel -> {
            assertThat(panel.path("datasource").path("uid").asText()).as(panel.path("title").asText())
                    .isEqualTo(reference);
            panel.path("targets").forEach(target -> assertThat(target.path("datasource").path("uid").asText())
                    .isEqualTo(reference));
        });

        List<String> queries = panelQueries(dashboard);
        assertThat(queries).anyMatch(q -> q.contains("rate(zapi_requests_total") && q.contains("by (outcome)"))
                .anyMatch(q -> q.startsWith("histogram_quantile(0.5,") && q.contains("zapi_call_duration_seconds_bucket"))
                .anyMatch(q -> q.startsWith("histogram_quantile(0.99,") && q.contains("zapi_call_duration_seconds_bucket"))
                .anyMatch(q -> q.contains("zapi_calls_in_flight"))
                .anyMatch(q -> q.contains("rate(zapi_retries_total") && q.contains("by (reason)"))
                .anyMatch(q -> q.contains("zapi_inbox_files_in_progress"));
    }

    @Test
    void everyPanelQueryIsPromqlThatPromtoolAccepts() throws Exception {
        StringBuilder rules = new StringBuilder("groups:\n  - name: dashboard\n    rules:\n");
        List<String> queries = panelQueries(dashboard());
        for (int i = 0; i < queries.size(); i++) {
            // Grafana's variables as Grafana would fill them in
            String expr = queries.get(i).replace("$__rate_interval", "5m").replace("$job", ".*");
            rules.append("      - record: dashboard:query").append(i).append("\n        expr: ")
                    .append(Json.MAPPER.writeValueAsString(expr)).append('\n');
        }
        Path file = rulesDir.resolve("dashboard-rules.yml");
        Files.writeString(file, rules);
        Process promtool;
        try {
            promtool = new ProcessBuilder("promtool", "check", "rules", file.toString()).redirectErrorStream(true)
                    .start();
        } catch (IOException notInstalled) {
            throw new AssertionError("promtool is needed (Debian package prometheus)", notInstalled);
        }
        String output = new String(promtool.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(promtool.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(promtool.exitValue()).as(output).isZero();
    }

    private static JsonNode dashboard() throws IOException {
        return Json.MAPPER.readTree(DASHBOARD.toFile());
    }

    private static List<String> panelQueries(JsonNode dashboard) {
        List<String> queries = new ArrayList<>();
        dashboard.path("panels").forEach(panel -> panel.path("targets")
                .forEach(target -> queries.add(target.path("expr").asText())));
        assertThat(queries).isNotEmpty().allSatisfy(q -> assertThat(q).isNotBlank());
        return queries;
    }

    /** The metric names in PromQL: identifiers that are not functions, keywords, label names or variables. */
    static Set<String> metricNames(List<String> queries) {
        Set<String> names = new LinkedHashSet<>();
        for (String query : queries) {
            String bare = query.replaceAll("\"(?:[^\"\\\\]|\\\\.)*\"", "\"\"")
                    .replaceAll("\\{[^}]*}", " ")
                    .replaceAll("\\[[^]]*]", " ")
                    .replaceAll("\\b(by|without|on|ignoring|group_left|group_right)\\s*\\([^)]*\\)", " ")
                    .replaceAll("\\$\\w+", " ");
            Matcher identifier = IDENTIFIER.matcher(bare);
            while (identifier.find()) {
                String word = identifier.group();
                boolean function = bare.substring(identifier.end()).stripLeading().startsWith("(");
                boolean partOfNumber = identifier.start() > 0 && Character.isDigit(bare.charAt(identifier.start() - 1));
                if (!function && !partOfNumber && !PROMQL_WORDS.contains(word.toLowerCase())) {
                    names.add(word);
                }
            }
        }
        return names;
    }
}
