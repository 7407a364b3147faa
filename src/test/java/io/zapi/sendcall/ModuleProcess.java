package io.zapi.sendcall;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/** The module started as its own process, by its real main(), from the project root. */
final class ModuleProcess implements AutoCloseable {

    private static final java.net.http.HttpClient READINESS = java.net.http.HttpClient.newBuilder()
            .connectTimeout(java.time.Duration.ofSeconds(5)).build();

    private final Process process;
    private final Path output;

    private ModuleProcess(Process process, Path output) {
        this.process = process;
        this.output = output;
    }

    /** Starts the module with these -D settings and these environment variables (ZAPI_* from this JVM removed). */
    static ModuleProcess start(Map<String, String> systemProperties, Map<String, String> environment) {
        return start(List.of(), systemProperties, environment);
    }

    /** The same, with JVM options such as -Xmx256m. */
    static ModuleProcess start(List<String> jvmOptions, Map<String, String> systemProperties,
                               Map<String, String> environment) {
        return start(Path.of("."), jvmOptions, systemProperties, environment);
    }

    /** The same, started in another working directory than the project root. */
    static ModuleProcess start(Path workingDirectory, List<String> jvmOptions, Map<String, String> systemProperties,
                               Map<String, String> environment) {
        // absolute, as the process may start elsewhere
        String classPath = Stream.of(System.getProperty("java.class.path").split(File.pathSeparator))
                .map(entry -> Path.of(entry).toAbsolutePath().toString())
                .collect(Collectors.joining(File.pathSeparator));
        return launch(workingDirectory, jvmOptions, systemProperties, environment,
                List.of("-cp", classPath, ZapiSendCall.class.getName()));
    }

    /**
     * The jar as shipped (target/zapi-send-call.jar, built by mvn package), run from the project root as the README's
     * run command does: for the integration tests (*IT), which run after packaging.
     */
    static ModuleProcess startJar(List<String> jvmOptions, Map<String, String> systemProperties,
                                  Map<String, String> environment) {
        Path jar = Path.of("target/zapi-send-call.jar").toAbsolutePath();
        if (!Files.isRegularFile(jar)) {
            throw new AssertionError(jar + " is missing: the *IT tests run after mvn package");
        }
        return launch(Path.of("."), jvmOptions, systemProperties, environment, List.of("-jar", jar.toString()));
    }

    private static ModuleProcess launch(Path workingDirectory, List<String> jvmOptions,
                                        Map<String, String> systemProperties, Map<String, String> environment,
                                        List<String> whatToRun) {
        List<String> command = new ArrayList<>();
        command.add(ProcessHandle.current().info().command().orElse("java"));
        command.addAll(jvmOptions);
        systemProperties.forEach((key, value) -> command.add("-D" + key + "=" + value));
        // never the default 61616: another module or broker on this machine may hold it
        if (!systemProperties.containsKey("zapi.jms.embedded-port")
            && !environment.containsKey("ZAPI_JMS_EMBEDDED_PORT")) {
            command.add("-Dzapi.jms.embedded-port=" + RunningModule.freePort());
        }
        if (!systemProperties.containsKey("camel.server.port") && !environment.containsKey("CAMEL_SERVER_PORT")) {
            command.add("-Dcamel.server.port=" + RunningModule.freePort());
        }
        if (!systemProperties.containsKey("camel.management.port")
            && !environment.containsKey("CAMEL_MANAGEMENT_PORT")) {
            command.add("-Dcamel.management.port=" + RunningModule.freePort());
        }
        command.addAll(whatToRun);
        try {
            Path output = Files.createTempFile("zapi-module", ".log");
            ProcessBuilder builder = new ProcessBuilder(command).directory(workingDirectory.toFile())
                    .redirectErrorStream(true).redirectOutput(output.toFile());
            builder.environment().keySet().removeIf(name -> name.startsWith("ZAPI_"));
            builder.environment().putAll(environment);
            return new ModuleProcess(builder.start(), output);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** True when the module on this management port answers /observe/health/ready with 200. */
    static boolean ready(int managementPort) {
        try {
            return READINESS.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(
                                    "http://127.0.0.1:" + managementPort + "/observe/health/ready"))
                            .timeout(java.time.Duration.ofSeconds(30)).build(),
                    java.net.http.HttpResponse.BodyHandlers.discarding()).statusCode() == 200;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** Waits for the process to end by itself and returns its exit code. */
    int awaitExit() throws InterruptedException {
        if (!process.waitFor(60, TimeUnit.SECONDS)) {
            throw new AssertionError("the module did not exit; output:\n" + output());
        }
        return process.exitValue();
    }

    /** kill -9: no shutdown hook, no graceful anything. */
    void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(30, TimeUnit.SECONDS);
    }

    /** SIGTERM, as a service manager stops the module. */
    void terminate() {
        process.destroy();
    }

    long pid() {
        return process.pid();
    }

    boolean isAlive() {
        return process.isAlive();
    }

    String output() {
        try {
            return Files.readString(output);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            process.destroyForcibly();
        }
    }
}
