package io.zapi.sendcall;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.zapi.sendcall.pipeline.Json;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * deploy/kubernetes/*.yaml, parsed as Kubernetes reads them, against the module: the Deployment's shape (one replica,
 * Recreate, the data folder on a persistent volume, the settings and secrets it takes), and every probe and port it
 * names served by the module started with the ConfigMap's and the Secret's settings as its environment.
 */
class KubernetesManifestsTest {

    private static final Path MANIFESTS = Path.of("deploy/kubernetes");
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    private static final Map<String, List<JsonNode>> byKind = new HashMap<>();

    @TempDir
    Path dataDir;

    @BeforeAll
    static void readManifests() throws IOException {
        assertThat(MANIFESTS).isDirectory();
        try (Stream<Path> files = Files.list(MANIFESTS)) {
            for (Path file : files.filter(f -> f.toString().endsWith(".yaml")).sorted().toList()) {
                try (MappingIterator<JsonNode> documents = YAML.readerFor(JsonNode.class).readValues(file.toFile())) {
                    while (documents.hasNext()) {
                        JsonNode document = documents.next();
                        if (document == null || document.isMissingNode() || document.isNull()) {
                            continue;
                        }
                        assertThat(document.path("apiVersion").asText()).as(file + ": apiVersion").isNotEmpty();
                        byKind.computeIfAbsent(document.path("kind").asText(), kind -> new ArrayList<>()).add(document);
                    }
                }
            }
        }
    }

    @Test
    void oneReplicaRecreatedWithItsDataOnAPersistentVolume() {
        JsonNode deployment = only("Deployment");
        JsonNode spec = deployment.path("spec");
        assertThat(spec.path("replicas").asInt()).isEqualTo(1);
        // the data folder is locked by the running module: a second pod during a rolling update would wait forever
        assertThat(spec.path("strategy").path("type").asText()).isEqualTo("Recreate");
        JsonNode pod = spec.path("template").path("spec");
        assertThat(spec.path("selector").path("matchLabels")).isEqualTo(spec.path("template").path("metadata")
                .path("labels"));
        JsonNode container = pod.path("containers").get(0);

        String dataDir = environment(container).get("ZAPI_DATA_DIR");
        assertThat(dataDir).as("ZAPI_DATA_DIR").isNotNull();
        JsonNode mount = find(container.path("volumeMounts"), "mountPath", dataDir);
        JsonNode volume = find(pod.path("volumes"), "name", mount.path("name").asText());
        String claim = volume.path("persistentVolumeClaim").path("claimName").asText();
        assertThat(named("PersistentVolumeClaim", claim).path("spec").path("accessModes").toString())
                .contains("ReadWriteOnce");
        // the image's user writes the volume
        assertThat(pod.path("securityContext").path("runAsNonRoot").asBoolean()).isTrue();
        assertThat(pod.path("securityContext").path("fsGroup").asInt()).isEqualTo(10001);
    }

    @Test
    void theSecretHoldsTheCredentialsAndTheApiKey() {
        JsonNode container = only("Deployment").path("spec").path("template").path("spec").path("containers").get(0);
        JsonNode secretRef = null;
        for (JsonNode source : container.path("envFrom")) {
            if (source.has("secretRef")) {
                secretRef = source.path("secretRef");
            }
        }
        assertThat(secretRef).as("envFrom secretRef").isNotNull();
        JsonNode secret = named("Secret", secretRef.path("name").asText());
        List<String> keys = new ArrayList<>();
        secret.path("stringData").fieldNames().forEachRemaining(keys::add);
        assertThat(keys).containsExactlyInAnyOrder("ZAPI_INSTANCE_ID", "ZAPI_INSTANCE_TOKEN", "ZAPI_CLIENT_TOKEN",
                "ZAPI_HTTP_API_KEY");
        // no secret kept in the ConfigMap
        assertThat(configMapOf(container)).doesNotContainKeys(keys.toArray(String[]::new));
    }

    @Test
    void everyServicePortIsAPortOfTheContainer() {
        JsonNode container = only("Deployment").path("spec").path("template").path("spec").path("containers").get(0);
        JsonNode service = only("Service");
        assertThat(service.path("spec").path("selector")).isEqualTo(only("Deployment").path("spec")
                .path("template").path("metadata").path("labels"));
        for (JsonNode port : service.path("spec").path("ports")) {
            containerPort(container, port.path("targetPort"));
        }
    }

    @Test
    void everyProbeIsServedOnThePortItNames() throws Exception {
        JsonNode container = only("Deployment").path("spec").path("template").path("spec").path("containers").get(0);
        Map<String, String> environment = environment(container);
        // the ports as configured, each mapped to a free one here (other modules may run on this machine)
        Map<Integer, Integer> freePorts = new HashMap<>();
        for (JsonNode port : container.path("ports")) {
            freePorts.put(port.path("containerPort").asInt(), RunningModule.freePort());
        }
        assertThat(environment).containsKeys("CAMEL_SERVER_PORT", "CAMEL_MANAGEMENT_PORT");
        for (String setting : List.of("CAMEL_SERVER_PORT", "CAMEL_MANAGEMENT_PORT")) {
            int configured = Integer.parseInt(environment.get(setting));
            assertThat(freePorts).as(setting + " is a container port").containsKey(configured);
            environment.put(setting, String.valueOf(freePorts.get(configured)));
        }
        environment.put("ZAPI_DATA_DIR", dataDir.toString());
        // the sandbox: the Secret's placeholder credentials never reach Z-API
        environment.put("ZAPI_SANDBOX", "true");

        List<JsonNode> probes = new ArrayList<>();
        for (String probe : List.of("livenessProbe", "readinessProbe", "startupProbe")) {
            if (container.has(probe)) {
                probes.add(container.path(probe).path("httpGet"));
            }
        }
        assertThat(container.path("livenessProbe").path("httpGet").path("path").asText())
                .isEqualTo("/observe/health/live");
        assertThat(container.path("readinessProbe").path("httpGet").path("path").asText())
                .isEqualTo("/observe/health/ready");

        HttpClient http = HttpClient.newHttpClient();
        try (ModuleProcess module = ModuleProcess.start(Map.of(), environment)) {
            for (JsonNode probe : probes) {
                int port = freePorts.get(containerPort(container, probe.path("port")));
                URI uri = URI.create("http://127.0.0.1:" + port + probe.path("path").asText());
                HttpResponse<String> answer = await().atMost(Duration.ofSeconds(120))
                        .ignoreExceptionsInstanceOf(IOException.class).until(() -> {
                            assertThat(module.isAlive()).as(module.output()).isTrue();
                            return http.send(HttpRequest.newBuilder(uri).build(),
                                    HttpResponse.BodyHandlers.ofString());
                        }, response -> response.statusCode() == 200);
                assertThat(answer.headers().firstValue("Content-Type")).get().asString().contains("json");
                assertThat(Json.MAPPER.readTree(answer.body()).path("status").asText()).as(uri.toString())
                        .isEqualTo("UP");
            }
            // the Secret's API key, which makes the module listen on every interface, is never logged
            assertThat(module.output()).doesNotContain(environment.get("ZAPI_HTTP_API_KEY"));
        }
    }

    /** The container's environment: its ConfigMap and Secret (envFrom), then its own env entries. */
    private static Map<String, String> environment(JsonNode container) {
        Map<String, String> environment = new HashMap<>(configMapOf(container));
        for (JsonNode source : container.path("envFrom")) {
            if (source.has("secretRef")) {
                named("Secret", source.path("secretRef").path("name").asText()).path("stringData").fields()
                        .forEachRemaining(entry -> environment.put(entry.getKey(), entry.getValue().asText()));
            }
        }
        for (JsonNode variable : container.path("env")) {
            assertThat(variable.has("value")).as("env " + variable.path("name") + " has a plain value").isTrue();
            environment.put(variable.path("name").asText(), variable.path("value").asText());
        }
        return environment;
    }

    private static Map<String, String> configMapOf(JsonNode container) {
        Map<String, String> settings = new HashMap<>();
        for (JsonNode source : container.path("envFrom")) {
            if (source.has("configMapRef")) {
                named("ConfigMap", source.path("configMapRef").path("name").asText()).path("data").fields()
                        .forEachRemaining(entry -> settings.put(entry.getKey(), entry.getValue().asText()));
            }
        }
        return settings;
    }

    /** The containerPort a probe or Service names, by number or by name. */
    private static int containerPort(JsonNode container, JsonNode port) {
        for (JsonNode declared : container.path("ports")) {
            if (port.isInt() ? declared.path("containerPort").asInt() == port.asInt()
                             : declared.path("name").asText().equals(port.asText())) {
                return declared.path("containerPort").asInt();
            }
        }
        throw new AssertionError("port " + port + " is not a port of the container");
    }

    private static JsonNode only(String kind) {
        assertThat(byKind.get(kind)).as("one " + kind).hasSize(1);
        return byKind.get(kind).get(0);
    }

    private static JsonNode named(String kind, String name) {
        return byKind.getOrDefault(kind, List.of()).stream()
                .filter(document -> document.path("metadata").path("name").asText().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no " + kind + " named " + name));
    }

    private static JsonNode find(JsonNode list, String field, String value) {
        for (JsonNode item : list) {
            if (item.path(field).asText().equals(value)) {
                return item;
            }
        }
        throw new AssertionError("nothing with " + field + " " + value + " in " + list);
    }
}
