package io.zapi.sendcall.observe;

import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

import ch.qos.logback.core.PropertyDefinerBase;

import io.zapi.sendcall.runtime.EarlySettings;
import io.zapi.sendcall.runtime.Settings;
import io.zapi.sendcall.runtime.StartupException;

/**
 * {@code zapi.log.format}: {@code text} (the default) or {@code json}, one JSON object per line. logback.xml asks this
 * ({@code <define>}) which of logback-text.xml and logback-json.xml to include, so the format is settled while logback
 * configures itself, before the first line: from -D, the environment ({@code ZAPI_LOG_FORMAT}) or application.properties, as Camel
 * would resolve the setting. An unknown value logs as text, so that {@link #check} can refuse it in a line anyone
 * reads; the check is made in main, not with the other settings (SettingsCheck), because Camel resolves those after
 * it has logged, and the value logback used must be the one checked.
 */
public final class LogFormat extends PropertyDefinerBase {

    public static final String SETTING = "zapi.log.format";
    static final String TEXT = "text";
    static final String JSON = "json";
    static final Set<String> FORMATS = Set.of(TEXT, JSON);
    private static final String SETTINGS_FILE = "application.properties";

    /** The format set, text when none is or an unknown one. */
    @Override
    public String getPropertyValue() {
        String format = EarlySettings.read(Map.of(), Path.of(SETTINGS_FILE)).get(SETTING);
        return format != null && FORMATS.contains(format.toLowerCase(Locale.ROOT)) ? format.toLowerCase(Locale.ROOT)
                : TEXT;
    }

    /** Refuses a value that is neither text nor json, before anything starts. */
    public static void check(EarlySettings settings) {
        String format = settings.get(SETTING);
        if (format != null && !FORMATS.contains(format.toLowerCase(Locale.ROOT))) {
            throw new StartupException(SETTING + " (env " + Settings.envName(SETTING) + ") must be " + TEXT + " or "
                                       + JSON + ", was \"" + format + "\".");
        }
    }
}
