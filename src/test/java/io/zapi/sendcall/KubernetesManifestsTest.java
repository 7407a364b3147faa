package io.zapi.sendcall;

import java.io.IOException;
import java.io.Reader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.zapi.sendcall.pipeline.Json;
import io.zapi.sendcall.runtime.Secrets;
import io.zapi.sendcall.runtime.Settings;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * deploy/kubernetes/*.yaml, parsed as Kubernetes reads them, against the module: the Deployment's shape (one replica,
 * Recreate, the data folder on a persistent volume, the settings and secrets it takes), and every probe and port it
 * names served by the module started with the ConfigMap's and the Secret's settings as its environment; and
 * deploy/kubernetes/replicas/*.yaml, the several-replicas variant: a StatefulSet whose replicas keep their own data
 * folder and share the inbox and outbox, the ledger on PostgreSQL and an external broker, every secret in the Secret.
 */
class KubernetesManifestsTest {

    private static final Path MANIFESTS = Path.of("deploy/kubernetes");
    /** The several-replicas variant, applied instead of the one-replica files. */
    static final Path REPLICAS = MANIFESTS.resolve("replicas");
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    private static final Map<String, List<JsonNode>> byKind = new HashMap<>();
    private static final Map<String, List<JsonNode>> replicasByKind = new HashMap<>();

    @TempDir
    Path dataDir;

    @BeforeAll
    static void readManifests() throws IOException {
        read(MANIFESTS, byKind);
        read(REPLICAS, replicasByKind);
    }

    /** The .yaml files of one folder (not its subfolders: kubectl apply -f without -R reads them so), by kind. */
    static void read(Path folder, Map<String, List<JsonNode>> into) throws IOException {
        assertThat(folder).isDirectory();
        try (Stream<Path> files = Files.list(folder)) {
            for (Path file : files.filter(f -> f.toString().endsWith(".yaml")).sorted().toList()) {
                try (MappingIterator<JsonNode> documents = YAML.readerFor(JsonNode.class).readValues(file.toFile())) {
                    while (documents.hasNext()) {
                        JsonNode document = documents.next();
                        if (document == null || document.isMissingNode() || document.isNull()) {
                            continue;
                        }
                        assertThat(document.path("apiVersion").asText()).as(file + ": apiVersion").isNotEmpty();
                        into.computeIfAbsent(document.path("kind").asText(), kind -> new ArrayList<>()).add(document);
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

    // --- deploy/kubernetes/replicas/: several replicas, applied instead of the files above ---------------------------

    @Test
    void severalReplicasEachWithItsOwnDataFolder() {
        JsonNode spec = only(replicasByKind, "StatefulSet").path("spec");
        assertThat(spec.path("replicas").asInt()).as("replicas").isGreaterThan(1);
        JsonNode podLabels = spec.path("template").path("metadata").path("labels");
        spec.path("selector").path("matchLabels").fields().forEachRemaining(label -> assertThat(
                podLabels.path(label.getKey())).as("pod label " + label.getKey()).isEqualTo(label.getValue()));
        // a StatefulSet's pods get their stable names through a headless Service
        JsonNode governing = named(replicasByKind, "Service", spec.path("serviceName").asText());
        assertThat(governing.path("spec").path("clusterIP").asText()).isEqualTo("None");
        assertThat(selects(governing, podLabels)).as("the headless Service selects the pods").isTrue();

        // the data folder (its lock, the broker's journal) is each replica's own: a claim per pod, from a template
        String dataDir = replicaEnvironment().get("ZAPI_DATA_DIR");
        assertThat(dataDir).as("ZAPI_DATA_DIR").isNotBlank();
        JsonNode mount = mountHolding(replicaContainer(), dataDir);
        assertThat(mount.path("mountPath").asText()).isEqualTo(dataDir);
        JsonNode claimTemplate = null;
        for (JsonNode template : spec.path("volumeClaimTemplates")) {
            if (template.path("metadata").path("name").asText().equals(mount.path("name").asText())) {
                claimTemplate = template;
            }
        }
        assertThat(claimTemplate).as("a volumeClaimTemplate named " + mount.path("name")).isNotNull();
        assertThat(claimTemplate.path("spec").path("accessModes").toString()).contains("ReadWriteOnce");
        for (JsonNode volume : spec.path("template").path("spec").path("volumes")) {
            assertThat(volume.path("name").asText()).as("a pod volume shadowing the claim template")
                    .isNotEqualTo(mount.path("name").asText());
        }
    }

    @Test
    void theReplicasShareTheInboxAndTheOutboxOnOneReadWriteManyClaim() {
        Map<String, String> environment = replicaEnvironment();
        JsonNode container = replicaContainer();
        JsonNode volumes = only(replicasByKind, "StatefulSet").path("spec").path("template").path("spec")
                .path("volumes");
        Path dataDir = Path.of(environment.get("ZAPI_DATA_DIR"));
        for (String setting : List.of("ZAPI_INBOX_DIR", "ZAPI_OUTBOX_DIR")) {
            String folder = environment.get(setting);
            assertThat(folder).as(setting).isNotBlank();
            assertThat(Path.of(folder).startsWith(dataDir)).as(setting + " outside the replica's own data folder")
                    .isFalse();
            JsonNode mount = mountHolding(container, folder);
            String claimName = find(volumes, "name", mount.path("name").asText()).path("persistentVolumeClaim")
                    .path("claimName").asText();
            JsonNode claim = named(replicasByKind, "PersistentVolumeClaim", claimName);
            assertThat(claim.path("spec").path("accessModes").toString()).as(claimName).contains("ReadWriteMany");
        }
    }

    @Test
    void eachReplicaIsNamedByItsPodSoARestartedPodKeepsItsNodeId() {
        JsonNode nodeId = find(replicaContainer().path("env"), "name", "ZAPI_NODE_ID");
        assertThat(nodeId.path("valueFrom").path("fieldRef").path("fieldPath").asText()).isEqualTo("metadata.name");
        // a ConfigMap value would give every replica the same one
        assertThat(configMapOf(replicasByKind, replicaContainer())).doesNotContainKey("ZAPI_NODE_ID");
    }

    @Test
    void theReplicasShareALedgerOnPostgresqlAndAnExternalBroker() {
        Map<String, String> settings = configMapOf(replicasByKind, replicaContainer());
        assertThat(settings.get("ZAPI_LEDGER_URL")).as("ZAPI_LEDGER_URL").startsWith("jdbc:postgresql://");
        assertThat(settings.get("ZAPI_LEDGER_USERNAME")).as("ZAPI_LEDGER_USERNAME").isNotBlank();
        // each replica's embedded broker would be a queue of its own
        assertThat(settings.get("ZAPI_JMS_BROKER_URL")).as("ZAPI_JMS_BROKER_URL").isNotBlank();
        // with the shared ledger, the limit of all replicas together
        assertThat(settings).containsKey("ZAPI_RATE_LIMIT");
        assertThat(secretOf(replicasByKind, replicaContainer()).get("ZAPI_LEDGER_PASSWORD"))
                .as("ZAPI_LEDGER_PASSWORD in the Secret").isNotBlank();
    }

    @Test
    void everySecretOfTheModuleIsInTheSecretAndNowhereElse() {
        JsonNode container = replicaContainer();
        Map<String, String> secret = secretOf(replicasByKind, container);
        List<String> secrets = Secrets.KEYS.stream().map(Settings::envName).toList();
        assertThat(secret).containsKeys(secrets.toArray(String[]::new)).containsKey("ZAPI_INSTANCE_ID");
        for (JsonNode configMap : replicasByKind.get("ConfigMap")) {
            List<String> keys = new ArrayList<>();
            configMap.path("data").fieldNames().forEachRemaining(keys::add);
            assertThat(keys).as("ConfigMap " + configMap.path("metadata").path("name"))
                    .doesNotContainAnyElementsOf(secrets).doesNotContainAnyElementsOf(secret.keySet());
        }
        List<String> ownEnv = new ArrayList<>();
        container.path("env").forEach(variable -> ownEnv.add(variable.path("name").asText()));
        assertThat(ownEnv).doesNotContainAnyElementsOf(secret.keySet());
        // the one-replica ConfigMap neither
        assertThat(configMapOf(only("Deployment").path("spec").path("template").path("spec").path("containers")
                .get(0)).keySet()).doesNotContainAnyElementsOf(secrets);
    }

    @Test
    void everyVariableTheManifestsSetIsASettingOfTheModule() throws IOException {
        Set<String> known = knownVariables();
        assertThat(variablesSet(byKind)).isNotEmpty().allSatisfy(name -> assertThat(known).as("settings")
                .contains(name));
        assertThat(variablesSet(replicasByKind)).isNotEmpty().allSatisfy(name -> assertThat(known).as("settings")
                .contains(name));
    }

    @Test
    void theReplicasRunThePodOfTheOneReplicaDeployment() {
        JsonNode pod = only("Deployment").path("spec").path("template").path("spec");
        JsonNode replicaPod = only(replicasByKind, "StatefulSet").path("spec").path("template").path("spec");
        for (String field : List.of("securityContext", "terminationGracePeriodSeconds", "enableServiceLinks")) {
            assertThat(replicaPod.path(field)).as(field).isEqualTo(pod.path(field));
        }
        JsonNode container = pod.path("containers").get(0);
        for (String field : List.of("image", "ports", "startupProbe", "livenessProbe", "readinessProbe", "resources",
                "securityContext", "envFrom")) {
            assertThat(replicaContainer().path(field)).as(field).isEqualTo(container.path(field));
        }
    }

    @Test
    void theReplicasProbesAndServiceUseTheirPorts() {
        JsonNode container = replicaContainer();
        Map<String, String> environment = replicaEnvironment();
        int management = Integer.parseInt(environment.get("CAMEL_MANAGEMENT_PORT"));
        Map<String, String> paths = Map.of("startupProbe", "/observe/health/live", "livenessProbe",
                "/observe/health/live", "readinessProbe", "/observe/health/ready");
        paths.forEach((probe, path) -> {
            JsonNode httpGet = container.path(probe).path("httpGet");
            assertThat(httpGet.path("path").asText()).as(probe).isEqualTo(path);
            assertThat(containerPort(container, httpGet.path("port"))).as(probe + " on the management port")
                    .isEqualTo(management);
        });

        JsonNode podLabels = only(replicasByKind, "StatefulSet").path("spec").path("template").path("metadata")
                .path("labels");
        List<JsonNode> clusterServices = replicasByKind.get("Service").stream()
                .filter(service -> !"None".equals(service.path("spec").path("clusterIP").asText())).toList();
        assertThat(clusterServices).as("one Service in front of all replicas").hasSize(1);
        JsonNode service = clusterServices.get(0);
        assertThat(selects(service, podLabels)).as("the Service selects every replica").isTrue();
        List<Integer> targets = new ArrayList<>();
        for (JsonNode port : service.path("spec").path("ports")) {
            targets.add(containerPort(container, port.path("targetPort")));
        }
        assertThat(targets).containsExactlyInAnyOrder(Integer.parseInt(environment.get("CAMEL_SERVER_PORT")),
                management);
    }

    /** The container's environment: its ConfigMap and Secret (envFrom), then its own env entries. */
    private static Map<String, String> environment(JsonNode container) {
        return environment(byKind, container, only("Deployment").path("metadata").path("name").asText());
    }

    /**
     * The container's environment in a pod of this name: its ConfigMap and Secret (envFrom), then its own env entries,
     * a value from the pod's name (fieldRef metadata.name) resolved as Kubernetes does.
     */
    static Map<String, String> environment(Map<String, List<JsonNode>> manifests, JsonNode container,
                                           String podName) {
        Map<String, String> environment = new HashMap<>(configMapOf(manifests, container));
        environment.putAll(secretOf(manifests, container));
        for (JsonNode variable : container.path("env")) {
            String name = variable.path("name").asText();
            if (variable.has("value")) {
                environment.put(name, variable.path("value").asText());
            } else {
                assertThat(variable.path("valueFrom").path("fieldRef").path("fieldPath").asText())
                        .as("env " + name + ": a plain value or the pod's name").isEqualTo("metadata.name");
                environment.put(name, podName);
            }
        }
        return environment;
    }

    private static Map<String, String> configMapOf(JsonNode container) {
        return configMapOf(byKind, container);
    }

    private static Map<String, String> configMapOf(Map<String, List<JsonNode>> manifests, JsonNode container) {
        return envFrom(manifests, container, "configMapRef", "ConfigMap", "data");
    }

    private static Map<String, String> secretOf(Map<String, List<JsonNode>> manifests, JsonNode container) {
        return envFrom(manifests, container, "secretRef", "Secret", "stringData");
    }

    private static Map<String, String> envFrom(Map<String, List<JsonNode>> manifests, JsonNode container,
                                               String reference, String kind, String field) {
        Map<String, String> settings = new HashMap<>();
        for (JsonNode source : container.path("envFrom")) {
            if (source.has(reference)) {
                named(manifests, kind, source.path(reference).path("name").asText()).path(field).fields()
                        .forEachRemaining(entry -> settings.put(entry.getKey(), entry.getValue().asText()));
            }
        }
        return settings;
    }

    /** Every environment variable the manifests set: ConfigMap and Secret keys, and the containers' env names. */
    private static List<String> variablesSet(Map<String, List<JsonNode>> manifests) {
        List<String> names = new ArrayList<>();
        for (JsonNode configMap : manifests.getOrDefault("ConfigMap", List.of())) {
            configMap.path("data").fieldNames().forEachRemaining(names::add);
        }
        for (JsonNode secret : manifests.getOrDefault("Secret", List.of())) {
            secret.path("stringData").fieldNames().forEachRemaining(names::add);
            secret.path("data").fieldNames().forEachRemaining(names::add);
        }
        for (String workload : List.of("Deployment", "StatefulSet")) {
            for (JsonNode document : manifests.getOrDefault(workload, List.of())) {
                for (JsonNode container : document.path("spec").path("template").path("spec").path("containers")) {
                    container.path("env").forEach(variable -> names.add(variable.path("name").asText()));
                }
            }
        }
        return names;
    }

    /** The environment variables of the module's settings file, as Camel maps them: the settings the module knows. */
    private static Set<String> knownVariables() throws IOException {
        Properties settings = new Properties();
        try (Reader file = Files.newBufferedReader(Path.of("application.properties"))) {
            settings.load(file);
        }
        Set<String> known = new TreeSet<>();
        settings.stringPropertyNames().forEach(key -> known.add(Settings.envName(key)));
        return known;
    }

    /** The container of the StatefulSet's pod template. */
    private static JsonNode replicaContainer() {
        JsonNode containers = only(replicasByKind, "StatefulSet").path("spec").path("template").path("spec")
                .path("containers");
        assertThat(containers).as("the StatefulSet's containers").hasSize(1);
        return containers.get(0);
    }

    /** The StatefulSet's first pod's environment (pods are named <StatefulSet>-<ordinal>). */
    private static Map<String, String> replicaEnvironment() {
        String podName = only(replicasByKind, "StatefulSet").path("metadata").path("name").asText() + "-0";
        return environment(replicasByKind, replicaContainer(), podName);
    }

    /** Whether a Service's selector picks pods with these labels. */
    private static boolean selects(JsonNode service, JsonNode podLabels) {
        JsonNode selector = service.path("spec").path("selector");
        if (selector.isEmpty()) {
            return false;
        }
        for (Iterator<Map.Entry<String, JsonNode>> entries = selector.fields(); entries.hasNext(); ) {
            Map.Entry<String, JsonNode> entry = entries.next();
            if (!entry.getValue().equals(podLabels.path(entry.getKey()))) {
                return false;
            }
        }
        return true;
    }

    /** The container's mount whose path holds this folder (the folder itself or one under it). */
    static JsonNode mountHolding(JsonNode container, String folder) {
        JsonNode holding = null;
        for (JsonNode mount : container.path("volumeMounts")) {
            if (Path.of(folder).startsWith(Path.of(mount.path("mountPath").asText()))) {
                assertThat(holding).as(folder + " under one mount only").isNull();
                holding = mount;
            }
        }
        assertThat(holding).as("a volume mounted where " + folder + " is").isNotNull();
        return holding;
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
        return only(byKind, kind);
    }

    static JsonNode only(Map<String, List<JsonNode>> manifests, String kind) {
        assertThat(manifests.get(kind)).as("one " + kind).hasSize(1);
        return manifests.get(kind).get(0);
    }

    private static JsonNode named(String kind, String name) {
        return named(byKind, kind, name);
    }

    private static JsonNode named(Map<String, List<JsonNode>> manifests, String kind, String name) {
        return manifests.getOrDefault(kind, List.of()).stream()
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
