package io.zapi.sendcall;

import ch.qos.logback.classic.PatternLayout;
import ch.qos.logback.classic.spi.ILoggingEvent;

/**
 * A logback pattern layout that masks secrets in the whole formatted line, stack traces included, whatever
 * library wrote it (camel-http and HttpClient log the request URI, and so the token, at DEBUG).
 */
public class MaskingPatternLayout extends PatternLayout {

    @Override
    public String doLayout(ILoggingEvent event) {
        return SecretMasking.mask(super.doLayout(event));
    }
}
