package io.zapi.sendcall;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.OutputStreamAppender;
import ch.qos.logback.core.encoder.LayoutWrappingEncoder;
import org.slf4j.LoggerFactory;

import io.zapi.sendcall.runtime.MaskingPatternLayout;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every logger of this JVM at DEBUG, captured through the layout the module's logback.xml gives its console (the
 * masking one), for the tests that keep secrets out of every log line; {@link #close} puts the levels back.
 */
final class DebugLogs implements AutoCloseable {

    private final ByteArrayOutputStream log = new ByteArrayOutputStream();
    private final Map<Logger, Level> levels = new HashMap<>();
    private final OutputStreamAppender<ILoggingEvent> capture = new OutputStreamAppender<>();

    private DebugLogs() {
        LoggerContext logging = (LoggerContext) LoggerFactory.getILoggerFactory();
        Logger root = logging.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        var console = (ConsoleAppender<ILoggingEvent>) root.getAppender("CONSOLE");
        var layout = ((LayoutWrappingEncoder<ILoggingEvent>) console.getEncoder()).getLayout();
        assertThat(layout).isInstanceOf(MaskingPatternLayout.class);
        LayoutWrappingEncoder<ILoggingEvent> encoder = new LayoutWrappingEncoder<>();
        encoder.setContext(logging);
        encoder.setLayout(layout);
        encoder.start();
        capture.setContext(logging);
        capture.setEncoder(encoder);
        capture.setOutputStream(log);
        capture.start();
        root.addAppender(capture);
        for (Logger logger : logging.getLoggerList()) {
            levels.put(logger, logger.getLevel());
            logger.setLevel(Level.DEBUG);
        }
    }

    static DebugLogs capture() {
        return new DebugLogs();
    }

    /** Everything logged since the capture began. */
    String text() {
        synchronized (log) {
            return log.toString(StandardCharsets.UTF_8);
        }
    }

    /** How much has been logged so far: {@code text().substring(mark)} is what comes after. */
    int mark() {
        return text().length();
    }

    @Override
    public void close() {
        levels.forEach(Logger::setLevel);
        ((LoggerContext) LoggerFactory.getILoggerFactory()).getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME)
                .detachAppender(capture);
    }
}
