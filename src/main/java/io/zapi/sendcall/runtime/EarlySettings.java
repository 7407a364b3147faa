package io.zapi.sendcall.runtime;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.Set;
import java.util.stream.Stream;

/**
 * The few settings the start-up needs before Camel Main has read any: the secrets, to mask them before Camel logs
 * a value, and the sandbox switch, which chooses the profile Camel Main reads. Looked up in every place a setting can
 * come from, in Camel's order: the module's own overrides, -D system properties, environment variables, the file.
 */
public final class EarlySettings {

    private final Map<String, String> overrides;
    private final Properties file;

    private EarlySettings(Map<String, String> overrides, Properties file) {
        this.overrides = overrides;
        this.file = file;
    }

    public static EarlySettings read(Map<String, String> overrides, Path settingsFile) {
        Properties file = new Properties();
        try (Reader reader = Files.newBufferedReader(settingsFile, StandardCharsets.UTF_8)) {
            file.load(reader);
        } catch (IOException | RuntimeException unreadable) {
            // Camel Main reads the file next and says what is wrong with it
        }
        return new EarlySettings(overrides, file);
    }

    /** The names of the settings set in the overrides, as -D system properties and in the file (not the env's). */
    public Stream<String> keys() {
        return Stream.of(overrides.keySet(), System.getProperties().stringPropertyNames(),
                file.stringPropertyNames()).flatMap(Set::stream);
    }

    /** Every value the setting has, wherever it is set, the one that wins first. */
    Stream<String> everyValue(String key) {
        return Stream.of(overrides.get(key), System.getProperty(key), System.getenv(Settings.envName(key)),
                file.getProperty(key)).filter(Objects::nonNull);
    }

    /** The value that wins, as Camel will resolve it; null when set nowhere (or blank). */
    public String get(String key) {
        return everyValue(key).filter(value -> !value.isBlank()).findFirst().map(String::trim).orElse(null);
    }
}
