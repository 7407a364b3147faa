package io.zapi.sendcall;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import io.zapi.sendcall.pipeline.Json;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The image `mvn -B -Pimage verify` builds (target/jib-image.tar), run without a container engine: its layers unpacked
 * in order into a root file system, and its entrypoint started there with chroot, as the image's user, with the
 * image's environment and working directory, as an engine would. It must answer ready on the management port.
 * Runs only in the image profile (tag "image"); needs root (chroot, mount).
 */
@Tag("image")
class ContainerImageIT {

    private static final Path IMAGE = Path.of("target/jib-image.tar");

    @Test
    void theImageStartsAsItsUserAndAnswersReady() throws Exception {
        // not @TempDir: JUnit would walk the root file system's absolute links and warn of each
        Path work = Files.createTempDirectory("zapi-image");
        try {
            startTheImage(work);
        } finally {
            // --one-file-system: never into a mount left behind
            run("rm", "-rf", "--one-file-system", work.toString());
        }
    }

    private static void startTheImage(Path work) throws Exception {
        assertThat(IMAGE).as("built by mvn -B -Pimage package").exists();
        Path unpacked = Files.createDirectories(work.resolve("image"));
        run("tar", "-xf", IMAGE.toAbsolutePath().toString(), "-C", unpacked.toString());
        ImageFiles image = ImageFiles.read(unpacked);
        JsonNode config = image.config().path("config");

        String user = config.path("User").asText();
        assertThat(user).as("the image's user").matches("\\d+:\\d+").doesNotStartWith("0:");
        assertThat(config.path("Volumes").has("/data")).as("/data is a volume").isTrue();
        assertThat(config.path("ExposedPorts").has("9876/tcp")).as("the management port is exposed").isTrue();
        assertThat(config.path("ExposedPorts").has("8080/tcp")).as("the API port is exposed").isTrue();
        String workingDir = config.path("WorkingDir").asText();
        Map<String, String> env = new TreeMap<>();
        config.path("Env").forEach(entry -> {
            String[] pair = entry.asText().split("=", 2);
            env.put(pair[0], pair[1]);
        });
        assertThat(env).containsEntry("ZAPI_DATA_DIR", "/data");

        Path rootfs = Files.createDirectories(work.resolve("rootfs"));
        for (Path layer : image.layers()) {
            run("tar", "--numeric-owner", "-xpf", layer.toString(), "-C", rootfs.toString());
        }
        assertThat(rootfs.resolve(workingDir.substring(1)).resolve("application.properties")).isRegularFile();
        assertThat(rootfs.resolve(workingDir.substring(1)).resolve("routes/send-call.camel.yaml")).isRegularFile();
        String uid = user.split(":")[0];
        assertThat(Files.getAttribute(rootfs.resolve("data"), "unix:uid").toString())
                .as("the data folder belongs to the image's user").isEqualTo(uid);

        // what an engine provides: /proc, and the few devices a JVM opens
        Path proc = Files.createDirectories(rootfs.resolve("proc"));
        Files.createDirectories(rootfs.resolve("dev"));
        for (String[] device : List.of(new String[] {"null", "1", "3"}, new String[] {"zero", "1", "5"},
                new String[] {"random", "1", "8"}, new String[] {"urandom", "1", "9"})) {
            run("mknod", "-m", "666", rootfs.resolve("dev").resolve(device[0]).toString(), "c", device[1], device[2]);
        }
        run("mount", "-t", "proc", "proc", proc.toString());
        Process module = null;
        Path log = work.resolve("module.log");
        try {
            int managementPort = RunningModule.freePort();
            List<String> command = new ArrayList<>(List.of("chroot", "--userspec=" + user, rootfs.toString(),
                    "/usr/bin/env", "--chdir=" + workingDir));
            image.config().path("config").path("Entrypoint").forEach(part -> command.add(part.asText()));
            image.config().path("config").path("Cmd").forEach(part -> command.add(part.asText()));
            ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(log.toFile());
            builder.environment().clear();
            builder.environment().putAll(env);
            // the sandbox needs no Z-API account; free ports, as other modules may run on this machine
            builder.environment().put("ZAPI_SANDBOX", "true");
            builder.environment().put("CAMEL_SERVER_PORT", String.valueOf(RunningModule.freePort()));
            builder.environment().put("CAMEL_MANAGEMENT_PORT", String.valueOf(managementPort));
            builder.environment().put("ZAPI_JMS_EMBEDDED_PORT", String.valueOf(RunningModule.freePort()));
            module = builder.start();
            Process started = module;

            HttpClient http = HttpClient.newHttpClient();
            URI ready = URI.create("http://127.0.0.1:" + managementPort + "/observe/health/ready");
            HttpResponse<String> answer = await().atMost(Duration.ofSeconds(180)).pollInterval(Duration.ofSeconds(1))
                    .ignoreExceptionsInstanceOf(IOException.class).until(() -> {
                        assertThat(started.isAlive()).as(Files.readString(log)).isTrue();
                        return http.send(java.net.http.HttpRequest.newBuilder(ready).build(),
                                HttpResponse.BodyHandlers.ofString());
                    }, response -> response.statusCode() == 200);
            assertThat(Json.MAPPER.readTree(answer.body()).path("status").asText()).isEqualTo("UP");

            String status = Files.readString(Path.of("/proc", String.valueOf(module.pid()), "status"));
            assertThat(status).as("the module runs as the image's user").containsPattern("(?m)^Uid:\\s+" + uid + "\\s");
            assertThat(rootfs.resolve("data/.lock")).as("the module holds /data as its data folder").exists();
        } finally {
            if (module != null) {
                module.destroy();
                if (!module.waitFor(60, TimeUnit.SECONDS)) {
                    module.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
                }
            }
            run("umount", "-l", proc.toString());
        }
        assertThat(module.exitValue()).as(Files.readString(log)).isZero();
    }

    private static void run(String... command) throws IOException, InterruptedException {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor(300, TimeUnit.SECONDS)).isTrue();
        assertThat(process.exitValue()).as(String.join(" ", command) + ": " + output).isZero();
    }

    /** The config and the layers (in order) of an unpacked image tarball, in OCI layout or `docker save` format. */
    private record ImageFiles(JsonNode config, List<Path> layers) {

        static ImageFiles read(Path unpacked) throws IOException {
            List<Path> layers = new ArrayList<>();
            if (Files.exists(unpacked.resolve("index.json"))) {
                JsonNode index = RunningModule.read(unpacked.resolve("index.json"));
                JsonNode manifest = RunningModule.read(blob(unpacked, index.path("manifests").get(0)));
                manifest.path("layers").forEach(layer -> layers.add(blob(unpacked, layer)));
                return new ImageFiles(RunningModule.read(blob(unpacked, manifest.path("config"))), layers);
            }
            JsonNode manifest = RunningModule.read(unpacked.resolve("manifest.json")).get(0);
            manifest.path("Layers").forEach(layer -> layers.add(unpacked.resolve(layer.asText())));
            return new ImageFiles(RunningModule.read(unpacked.resolve(manifest.path("Config").asText())), layers);
        }

        private static Path blob(Path unpacked, JsonNode descriptor) {
            String[] digest = descriptor.path("digest").asText().split(":", 2);
            return unpacked.resolve("blobs").resolve(digest[0]).resolve(digest[1]);
        }
    }
}
