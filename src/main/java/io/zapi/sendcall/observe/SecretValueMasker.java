package io.zapi.sendcall.observe;

import com.fasterxml.jackson.core.JsonStreamContext;
import net.logstash.logback.mask.ValueMasker;

import io.zapi.sendcall.runtime.SecretMasking;

/**
 * The JSON log format's masking, as MaskingPatternLayout's is the text format's: logstash-logback-encoder hands every
 * string value it writes (the message, the stack trace, MDC values, arguments) to this before it escapes it, so a
 * secret in any of the forms SecretMasking knows never reaches a field.
 */
public class SecretValueMasker implements ValueMasker {

    /** The masked value, or null when it holds no secret (the encoder then writes it as it is). */
    @Override
    public Object mask(JsonStreamContext context, Object value) {
        if (value instanceof CharSequence text) {
            String original = text.toString();
            String masked = SecretMasking.mask(original);
            return masked.equals(original) ? null : masked;
        }
        return null;
    }
}
