package io.zapi.sendcall.pipeline;

import java.io.IOException;
import java.math.BigDecimal;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.util.Collection;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.TextNode;
import org.apache.camel.Exchange;

import io.zapi.sendcall.inbox.RequestRow;
import io.zapi.sendcall.runtime.SecretMasking;
import io.zapi.sendcall.runtime.StartupException;

/**
 * Turns a request as received (parsed JSON, JSON text or a row read from a file) into a {@link CallRequest}, or
 * says precisely which field is wrong. Never clamps or guesses: a doubtful value is rejected.
 */
public class RequestValidator {

    /** Exchange property holding the input as received, for the record of a rejected request. */
    public static final String INPUT = "zapiInput";
    /** Exchange property: what the number pre-check found for an inbox row (RequestRow#precheck), for the record. */
    public static final String PRECHECK = "precheck";
    /** The rejected record's reason for a number the pre-check found not on WhatsApp. */
    public static final String NOT_ON_WHATSAPP_REASON = "not on WhatsApp: Z-API's phone-exists-batch found no "
                                                        + "WhatsApp account for this phone, so it was not called";
    /** Exchange property an input sets when its transport names the request (HTTP Idempotency-Key): it wins over
     * the body's id. */

    static final int MAX_DURATION = 15;
    private static final int MAX_ID_LENGTH = 256;
    static final int MAX_AUDIO_URL_LENGTH = 2048;
    private static final Pattern FORMATTING = Pattern.compile("[ +\\-.()]");
    private static final Pattern ASCII_DIGITS = Pattern.compile("[0-9]+");
    private static final Pattern DECIMAL_TEXT = Pattern.compile("[+-]?[0-9]+(\\.[0-9]+)?");
    /** Longer text is no callDuration: converting a million digits to a number would take seconds of CPU. */
    private static final int MAX_DECIMAL_TEXT = 40;
    private static final Pattern PRINTABLE_ASCII = Pattern.compile("[\\x20-\\x7E]*");

    private final int defaultCallDuration;
    /** The names of the Z-API instances a request may ask for, lower-case (zapi/ZapiInstances). */
    private final Set<String> instanceNames;

    public RequestValidator(int defaultCallDuration, Set<String> instanceNames) {
        if (defaultCallDuration < 1 || defaultCallDuration > MAX_DURATION) {
            throw new StartupException("zapi.default-call-duration must be 1 to " + MAX_DURATION + " seconds, was "
                                       + defaultCallDuration);
        }
        this.defaultCallDuration = defaultCallDuration;
        this.instanceNames = Set.copyOf(instanceNames);
    }

    public CallRequest validate(Exchange exchange) throws InvalidRequestException {
        JsonNode request = parse(exchange);
        if (!request.isObject()) {
            throw new InvalidRequestException("request must be a JSON object, got " + describe(request));
        }
        RequestSource source = RequestSource.of(exchange);
        String transportId = transportId(source.transportId());
        JsonNode id = transportId != null ? TextNode.valueOf(transportId) : request.get("id");
        String transportInstance = transportInstance(source.transportInstance());
        JsonNode instance = transportInstance != null ? TextNode.valueOf(transportInstance) : request.get("instance");
        CallRequest call = new CallRequest(phone(request.get("phone")), callDuration(request.get("callDuration")),
                id(id), callAudioUrl(request.get("callAudioUrl")), instance(instance), notBefore(request.get("notBefore")));
        // after the request's own checks: an invalid row is rejected for what is wrong with it (it is never checked)
        if (exchange.getMessage().getBody() instanceof RequestRow row && row.isNotOnWhatsApp()) {
            throw new InvalidRequestException(NOT_ON_WHATSAPP_REASON);
        }
        return call;
    }

    /**
     * The call an inbox row asks for, as {@link #validate} makes it, or null when the row is unreadable or invalid (the
     * pipeline rejects it later, with its reason): for the number pre-check, which looks at valid rows only.
     */
    public CallRequest validRow(RequestRow row) {
        if (row.isUnreadable() || row.value() == null || !row.value().isObject()) {
            return null;
        }
        JsonNode request = row.value();
        try {
            return new CallRequest(phone(request.get("phone")), callDuration(request.get("callDuration")),
                    id(request.get("id")), callAudioUrl(request.get("callAudioUrl")), instance(request.get("instance")));
        } catch (InvalidRequestException invalid) {
            return null;
        }
    }

    private static JsonNode parse(Exchange exchange) throws InvalidRequestException {
        Object body = exchange.getMessage().getBody();
        if (body instanceof RequestRow row) {
            exchange.setProperty(INPUT, row.isUnreadable() ? row.raw() : row.value());
            exchange.setProperty(PRECHECK, row.precheck());
            if (row.isUnreadable()) {
                throw new InvalidRequestException(row.unreadableReason());
            }
            return row.value();
        }
        if (body instanceof JsonNode node) {
            exchange.setProperty(INPUT, node);
            return node;
        }
        String text = text(exchange, body);
        exchange.setProperty(INPUT, text);
        if (text == null || text.isBlank()) {
            throw new InvalidRequestException("request is empty: expected a JSON object such as "
                                              + "{\"phone\": \"5511999999999\", \"callDuration\": 5}");
        }
        try {
            JsonNode node = Json.readRequest(text);
            exchange.setProperty(INPUT, node);
            return node;
        } catch (JsonProcessingException e) {
            throw new InvalidRequestException("request is not valid JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new InvalidRequestException("request could not be read: " + e.getMessage());
        }
    }

    /**
     * The request as text. JSON travels as UTF-8 (RFC 8259): bytes are decoded strictly, whatever charset a sender
     * claims, so a malformed sequence is an error rather than a silent U+FFFD in an id. One leading byte order mark
     * is ignored, as RFC 8259 allows. A request over {@link Json#MAX_REQUEST_BYTES} is not decoded nor kept.
     */
    private static String text(Exchange exchange, Object body) throws InvalidRequestException {
        if (body == null) {
            return null;
        }
        String text;
        if (body instanceof String string) {
            if (string.length() > Json.MAX_REQUEST_BYTES) {
                throw tooLong(string.length() + " characters");
            }
            text = string;
        } else {
            byte[] bytes = exchange.getMessage().getBody(byte[].class);
            if (bytes == null) {
                return null;
            }
            if (bytes.length > Json.MAX_REQUEST_BYTES) {
                throw tooLong(bytes.length + " bytes");
            }
            try {
                text = Utf8.decode(bytes, 0, bytes.length);
            } catch (Utf8.MalformedException e) {
                exchange.setProperty(INPUT, new String(bytes, StandardCharsets.UTF_8));
                throw new InvalidRequestException("request is not valid UTF-8: " + e.getMessage());
            }
        }
        return text.startsWith(Utf8.BOM) ? text.substring(Utf8.BOM.length()) : text;
    }

    public static InvalidRequestException tooLong(String length) {
        return new InvalidRequestException("request is too long: " + length + ", over the limit of "
                                           + Json.MAX_REQUEST_BYTES + " bytes; it was not read");
    }

    /**
     * The id a transport gives the request (HTTP Idempotency-Key): once, and printable ASCII, since an HTTP header
     * carries nothing else faithfully (other bytes arrive as Latin-1, not as what the sender meant).
     */
    private static String transportId(Object given) throws InvalidRequestException {
        return onceAndAscii("Idempotency-Key", given);
    }

    /** The Zapi-Instance header, under the same rules as Idempotency-Key. */
    private static String transportInstance(Object given) throws InvalidRequestException {
        return onceAndAscii(RequestSource.ZAPI_INSTANCE, given);
    }

    private static String onceAndAscii(String header, Object given) throws InvalidRequestException {
        Object value = given;
        if (value instanceof Collection<?> values) {
            if (values.size() != 1) {
                throw new InvalidRequestException(header + " must be sent once, got " + values.size() + " of them");
            }
            value = values.iterator().next();
        }
        if (value == null) {
            return null;
        }
        String text = value.toString();
        if (!PRINTABLE_ASCII.matcher(text).matches()) {
            throw new InvalidRequestException(header + " must be printable ASCII (space to '~'), got "
                                              + quote(text));
        }
        return text;
    }

    /**
     * Optional: the name of a Z-API instance the module knows, in any case (records carry it lower-case). Absent,
     * null or empty (an empty CSV cell) lets zapi.instance-selection choose.
     */
    private String instance(JsonNode instance) throws InvalidRequestException {
        if (instance == null || instance.isNull() || instance.isTextual() && instance.textValue().isEmpty()) {
            return null;
        }
        if (!instance.isTextual()) {
            throw new InvalidRequestException("instance must be a string (the name of a Z-API instance), got "
                                              + describe(instance));
        }
        String name = instance.textValue().trim().toLowerCase(Locale.ROOT);
        if (!instanceNames.contains(name)) {
            throw new InvalidRequestException("instance " + quote(instance.textValue())
                                              + " is not a Z-API instance of this module; its instances are "
                                              + String.join(", ", new TreeSet<>(instanceNames)));
        }
        return name;
    }

    /** A phone as text, normalised as a request's is (digits only), or why it is no phone: for the opt-out list. */
    static String normalisedPhone(String text) throws InvalidRequestException {
        return phone(TextNode.valueOf(text));
    }

    private static String phone(JsonNode phone) throws InvalidRequestException {
        if (phone == null || phone.isNull() || phone.isTextual() && phone.textValue().isBlank()) {
            throw new InvalidRequestException("phone is required: country code, area code and number, "
                                              + "e.g. \"5511999999999\"");
        }
        String text;
        if (phone.isTextual()) {
            text = phone.textValue();
        } else if (phone.isIntegralNumber() && phone.bigIntegerValue().signum() >= 0) {
            text = phone.bigIntegerValue().toString();
        } else {
            throw new InvalidRequestException("phone must be a string or a whole number, got " + describe(phone));
        }
        String digits = FORMATTING.matcher(text).replaceAll("");
        if (!ASCII_DIGITS.matcher(digits).matches()) {
            throw new InvalidRequestException("phone must hold only the digits 0-9 (spaces, '+', '-', '.' and "
                                              + "parentheses are removed), got " + quote(text));
        }
        if (digits.length() < 10 || digits.length() > 15) {
            throw new InvalidRequestException("phone must have 10 to 15 digits (country code, area code, number), got "
                                              + digits.length() + " in " + quote(text));
        }
        return digits;
    }

    private int callDuration(JsonNode duration) throws InvalidRequestException {
        if (duration == null) {
            return defaultCallDuration;
        }
        BigDecimal seconds = null;
        if (duration.isNumber()) {
            seconds = duration.decimalValue();
        } else if (duration.isTextual() && duration.textValue().trim().length() <= MAX_DECIMAL_TEXT
                   && DECIMAL_TEXT.matcher(duration.textValue().trim()).matches()) {
            seconds = new BigDecimal(duration.textValue().trim());
        }
        if (seconds == null) {
            throw new InvalidRequestException("callDuration must be a whole number of seconds from 1 to " + MAX_DURATION
                                              + " (omit it for the default of " + defaultCallDuration + "), got "
                                              + describe(duration));
        }
        // range first: toBigIntegerExact on a value such as 1e999999999 would build a billion-digit number
        if (seconds.compareTo(BigDecimal.ONE) < 0 || seconds.compareTo(BigDecimal.valueOf(MAX_DURATION)) > 0) {
            throw new InvalidRequestException("callDuration must be from 1 to " + MAX_DURATION
                                              + " seconds (Z-API's maximum is " + MAX_DURATION + "), got "
                                              + describe(duration));
        }
        if (seconds.stripTrailingZeros().scale() > 0) {
            throw new InvalidRequestException("callDuration must be a whole number of seconds, got "
                                              + describe(duration));
        }
        return seconds.intValueExact();
    }

    private static String id(JsonNode id) throws InvalidRequestException {
        if (id == null || id.isNull()) {
            return null;
        }
        if (!id.isTextual() && !id.isIntegralNumber()) {
            throw new InvalidRequestException("id must be a string or a whole number, got " + describe(id));
        }
        String text = id.asText();
        if (text.isBlank() || text.length() > MAX_ID_LENGTH) {
            throw new InvalidRequestException("id must be 1 to " + MAX_ID_LENGTH + " characters, got "
                                              + text.length());
        }
        if (!Utf8.isWellFormed(text)) {
            // "\ud800" is valid JSON but no text: the record, written as UTF-8, could not hold it
            throw new InvalidRequestException("id must be Unicode text, got an unpaired surrogate escape");
        }
        return text;
    }

    /**
     * Optional: an absolute https URL of an audio file for Z-API to play in the call, at most 2,048 characters.
     * Absent, null or empty (an empty CSV cell) is none. No user name or password in it: the URL is kept in records,
     * where a credential would be read by whoever reads them.
     */
    private static String callAudioUrl(JsonNode url) throws InvalidRequestException {
        if (url == null || url.isNull() || url.isTextual() && url.textValue().isEmpty()) {
            return null;
        }
        if (!url.isTextual()) {
            throw new InvalidRequestException("callAudioUrl must be a string (an https URL), got " + describe(url));
        }
        String text = url.textValue();
        if (text.length() > MAX_AUDIO_URL_LENGTH) {
            throw new InvalidRequestException("callAudioUrl must be at most " + MAX_AUDIO_URL_LENGTH
                                              + " characters, got " + text.length());
        }
        URI uri;
        try {
            uri = new URI(text);
        } catch (URISyntaxException e) {
            throw new InvalidRequestException("callAudioUrl is not a valid URL (" + e.getReason() + " at index "
                                              + e.getIndex() + "), got " + quote(text));
        }
        if (!"https".equalsIgnoreCase(uri.getScheme()) || uri.getHost() == null) {
            throw new InvalidRequestException("callAudioUrl must be an absolute https URL with a host, such as "
                                              + "\"https://example.com/message.mp3\", got " + quote(text));
        }
        if (uri.getRawUserInfo() != null) {
            throw new InvalidRequestException("callAudioUrl must not hold a user name or password: Z-API fetches the "
                                              + "file by its URL alone, and the URL is kept in records");
        }
        return text;
    }

    /**
     * Optional: the earliest time the call may be placed, ISO-8601 with its offset (2026-12-01T09:00:00-03:00, or Z).
     * Absent, null or empty: no such time. A time without an offset is refused, as it would be read in a zone the
     * sender did not choose.
     */
    private static final java.time.Duration NOT_BEFORE_AT_MOST = java.time.Duration.ofDays(366);

    private static java.time.Instant notBefore(JsonNode notBefore) throws InvalidRequestException {
        if (notBefore == null || notBefore.isNull() || notBefore.isTextual() && notBefore.textValue().isEmpty()) {
            return null;
        }
        if (notBefore.isTextual()) {
            java.time.Instant time = null;
            try {
                time = java.time.OffsetDateTime.parse(notBefore.textValue().trim()).toInstant();
            } catch (java.time.format.DateTimeParseException e) {
                // the message below says what is expected
            }
            // a row waits for it in the ledger: a time years ahead is a mistake, not a plan
            if (time != null && time.isAfter(java.time.Instant.now().plus(NOT_BEFORE_AT_MOST))) {
                throw new InvalidRequestException("notBefore must be within a year from now, got "
                                                  + describe(notBefore));
            }
            if (time != null) {
                return time;
            }
        }
        throw new InvalidRequestException("notBefore must be an ISO-8601 date and time with its offset, such as "
                                          + "2026-12-01T09:00:00-03:00 or 2026-12-01T12:00:00Z, got "
                                          + describe(notBefore));
    }

    private static String describe(JsonNode value) {
        String type = switch (value.getNodeType()) {
            case STRING -> "a string";
            case NUMBER -> "the number";
            case BOOLEAN -> "a boolean";
            case NULL -> "null";
            case ARRAY -> "an array";
            case OBJECT -> "an object";
            default -> value.getNodeType().name().toLowerCase();
        };
        if (value.isTextual()) {
            return type + " " + quote(value.textValue());
        }
        if (value.isNumber() || value.isBoolean()) {
            return type + " " + abbreviate(value.asText());
        }
        return type;
    }

    private static String quote(String text) {
        return TextNode.valueOf(abbreviate(text)).toString();
    }

    /** Masked before it is cut, so that no part of a secret can show where the cut falls inside it. */
    private static String abbreviate(String text) {
        String masked = SecretMasking.mask(text);
        return masked.length() <= 40 ? masked : masked.substring(0, 40) + "...";
    }
}
