package io.zapi.sendcall.runtime;

import java.util.Locale;

import org.apache.camel.spi.PropertiesComponent;

/** A setting as the start-up reads it from Camel's properties: a blank value counts as not set. */
public final class Settings {

    private Settings() {
    }

    public static String get(PropertiesComponent properties, String key) {
        return properties.resolveProperty(key).filter(value -> !value.isBlank()).orElse(null);
    }

    public static String getOr(PropertiesComponent properties, String key, String fallback) {
        String value = get(properties, key);
        return value != null ? value : fallback;
    }

    static boolean isTrue(PropertiesComponent properties, String key) {
        return Boolean.parseBoolean(get(properties, key));
    }

    /** The environment variable that sets a setting, as Camel maps it (dots and dashes to underscores). */
    public static String envName(String key) {
        return key.toUpperCase(Locale.ROOT).replace('.', '_').replace('-', '_');
    }
}
