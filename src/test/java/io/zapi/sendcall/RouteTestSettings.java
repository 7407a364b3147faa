package io.zapi.sendcall;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Map;
import java.util.Properties;
import java.util.stream.Stream;

/**
 * What a route test's module needs that cannot be a constant in {@code @CamelMainTest}: a Z-API stand-in (WireMock on
 * 127.0.0.1) and its URL, a data folder of its own, free ports for the HTTP server and the embedded broker. Written to
 * {@code target/route-tests/<test class>.properties}, which the test names as its first property placeholder location,
 * before {@code file:application.properties}: the real settings, with these taking precedence.
 * <p>
 * Made as a field of a {@code @TestInstance(PER_CLASS)} test, so it exists before the extension builds the Camel
 * context (in the first beforeEach); {@link #close()} in {@code @AfterAll} after the context is stopped.
 */
final class RouteTestSettings implements AutoCloseable {

    /** Short retries and a short response timeout: a retried call must not slow a route test down. */
    private static final Map<String, String> FAST = Map.of(
            "zapi.retry.max-attempts", "3",
            "zapi.retry.initial-delay-ms", "10",
            "zapi.retry.max-delay-ms", "100",
            "zapi.http.response-timeout-ms", "3000",
            "zapi.inbox.poll-delay-ms", "100",
            "zapi.inbox.settle-ms", "100",
            "zapi.shutdown-timeout-ms", "5000");

    private final ZapiStub zapi;
    private final Path dataDir;
    private final Path file;

    private RouteTestSettings(ZapiStub zapi, Path dataDir, Path file) {
        this.zapi = zapi;
        this.dataDir = dataDir;
        this.file = file;
    }

    /** The file a test class names first in {@code propertyPlaceholderLocations}, as {@code file:<this path>}. */
    private static Path path(Class<?> test) {
        return Path.of("target", "route-tests", test.getSimpleName() + ".properties");
    }

    /** Starts the Z-API stand-in and writes the settings for this test class; {@code settings} add to them. */
    static RouteTestSettings write(Class<?> test, Map<String, String> settings) {
        ZapiStub zapi = new ZapiStub();
        try {
            Path dataDir = Files.createTempDirectory("zapi-route-test");
            Properties properties = new Properties();
            properties.putAll(FAST);
            properties.putAll(zapi.moduleSettings());
            properties.put("zapi.data-dir", dataDir.toString());
            // the module's start-up listener (SettingsCheck) picks loopback; the test's Camel Main has no such listener
            properties.put("camel.server.host", "127.0.0.1");
            properties.put("camel.server.port", String.valueOf(RunningModule.freePort()));
            properties.put("camel.management.host", "127.0.0.1");
            properties.put("camel.management.port", String.valueOf(RunningModule.freePort()));
            properties.put("zapi.jms.embedded-port", String.valueOf(RunningModule.freePort()));
            properties.putAll(settings);
            Path file = path(test);
            Files.createDirectories(file.getParent());
            try (Writer writer = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
                properties.store(writer, "written by " + test.getSimpleName() + " for this run; deleted after it");
            }
            return new RouteTestSettings(zapi, dataDir, file);
        } catch (IOException e) {
            zapi.close();
            throw new UncheckedIOException(e);
        }
    }

    ZapiStub zapi() {
        return zapi;
    }

    Path dataDir() {
        return dataDir;
    }

    /** Stops the stand-in, removes the data folder and the settings file: call once the Camel context is stopped. */
    @Override
    public void close() throws IOException {
        zapi.close();
        Files.deleteIfExists(file);
        try (Stream<Path> files = Files.walk(dataDir)) {
            files.sorted(Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
        }
    }
}
