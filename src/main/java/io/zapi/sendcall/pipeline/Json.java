package io.zapi.sendcall.pipeline;

import java.io.IOException;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashSet;
import java.util.Set;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonStreamContext;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.core.io.JsonEOFException;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.util.TokenBuffer;

/** The one JSON configuration for requests and records. */
public final class Json {

    /**
     * The most one request may take, whatever brought it: a JMS message, a JSON line, a CSV row, an element of a JSON
     * array (a real request is under 1 KiB). Anything longer is rejected without being held in memory, and no string
     * in a request may be longer either.
     */
    public static final int MAX_REQUEST_BYTES = 1024 * 1024;
    /**
     * How deep a request may nest: {"phone": ...} is depth 1. Far below Jackson's default of 1000, so that a record,
     * which wraps the request as received in two more levels, can always be written.
     */
    public static final int MAX_NESTING_DEPTH = 100;

    /** What one request may hold, for every parser of requests (JSON and CSV). */
    public static final StreamReadConstraints LIMITS = StreamReadConstraints.builder()
            .maxNestingDepth(MAX_NESTING_DEPTH)
            .maxStringLength(MAX_REQUEST_BYTES)
            // Jackson's default: 1000 digits, enough for any number a request may hold and cheap to convert
            .maxNumberLength(1000)
            .build();

    /**
     * Strict on input: a duplicated key is an error (which of two phones would we call?), numbers keep their exact
     * value (so 7.0 and 1e309 can be judged rather than rounded).
     */
    public static final ObjectMapper MAPPER = JsonMapper.builder(JsonFactory.builder().streamReadConstraints(LIMITS).build())
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .disable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
            .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .enable(DeserializationFeature.USE_BIG_INTEGER_FOR_INTS)
            .build();

    /**
     * For the module's own documents (reports, GET /files entries) read back and rewritten: their floats as written,
     * since a BigDecimal would turn the progress 1.0 into 1.
     */
    public static final ObjectMapper AS_WRITTEN = MAPPER.copy()
            .disable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS);

    /** For a text holding one request: anything after the JSON value is an error, not silently dropped. */
    public static final ObjectReader ONE_VALUE = MAPPER.reader().with(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    /**
     * Parsers for requests: duplicated keys are found by {@link #readRequest(JsonParser)} once the request has been
     * read to its end, so that a file's parser can go on with the next request instead of stopping inside this one.
     */
    public static final JsonFactory REQUESTS = MAPPER.getFactory().rebuild()
            .disable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .build();

    private Json() {
    }

    /**
     * Reads one request from a text (an HTTP body, a JMS message, a JSON line): one JSON value, nothing after it.
     *
     * @throws IOException             when the text is not JSON (or has something after the value), or breaks
     *                                 {@link #LIMITS} (nesting, length)
     * @throws InvalidRequestException when it is JSON but not a request we may read: nothing at all, a duplicated key,
     *                                 a number out of range
     */
    public static JsonNode readRequest(String text) throws IOException, InvalidRequestException {
        try (JsonParser parser = REQUESTS.createParser(text)) {
            if (parser.nextToken() == null) {
                throw new InvalidRequestException("request is empty: expected a JSON object such as "
                                                  + "{\"phone\": \"5511999999999\", \"callDuration\": 5}");
            }
            JsonNode value = readRequest(parser);
            if (parser.nextToken() != null) {
                throw new JsonParseException(parser, "Unexpected content after the JSON value");
            }
            return value;
        }
    }

    /**
     * Reads the value the parser is on (its first token) and leaves the parser on the value's last token, whether the
     * value is returned or rejected with an {@link InvalidRequestException}; so the caller can go on with what
     * follows. The value is buffered first, at most {@link #MAX_REQUEST_BYTES} of it: past that the rest is skipped,
     * not held.
     *
     * @throws IOException when the input is not JSON or breaks {@link #LIMITS}: the parser cannot go on then
     */
    public static JsonNode readRequest(JsonParser parser) throws IOException, InvalidRequestException {
        JsonToken token = parser.currentToken();
        // the context the value lives in: the parser is back there once the value is over
        JsonStreamContext home = token.isStructStart() ? parser.getParsingContext().getParent()
                : parser.getParsingContext();
        long start = offset(parser.currentTokenLocation());
        TokenBuffer buffer = new TokenBuffer(parser);
        Deque<Set<String>> keys = new ArrayDeque<>();
        String duplicate = null;
        boolean tooLong = false;
        while (true) {
            boolean keep = !tooLong && duplicate == null;
            if (keep) {
                buffer.copyCurrentEvent(parser);
            }
            if (token == JsonToken.START_OBJECT) {
                keys.push(keep ? new HashSet<>() : Set.of());
            } else if (token == JsonToken.END_OBJECT) {
                keys.pop();
            } else if (token == JsonToken.FIELD_NAME && keep && !keys.peek().add(parser.currentName())) {
                duplicate = parser.currentName();
            }
            if (parser.getParsingContext() == home && !token.isStructStart()) {
                break;
            }
            if (!tooLong && offset(parser.currentLocation()) - start > MAX_REQUEST_BYTES) {
                tooLong = true;
                buffer = null;
            }
            token = parser.nextToken();
            if (token == null) {
                throw new JsonEOFException(parser, null, "Unexpected end-of-input inside the request");
            }
        }
        if (tooLong) {
            throw new InvalidRequestException("request is longer than " + MAX_REQUEST_BYTES
                                              + " bytes: it was skipped, not read");
        }
        if (duplicate != null) {
            throw new InvalidRequestException("Duplicate field '" + duplicate + "': a key may appear only once");
        }
        try (JsonParser buffered = buffer.asParser(parser.streamReadConstraints())) {
            buffered.nextToken();
            return MAPPER.readTree(buffered);
        } catch (NumberFormatException | ArithmeticException | StreamConstraintsException e) {
            // a number Jackson could read as text but not as a value, e.g. 1e2147483648 (the exponent overflows)
            String reason = String.valueOf(e.getMessage());
            throw new InvalidRequestException("request holds a number out of range: "
                                              + (reason.length() <= 200 ? reason : reason.substring(0, 200) + "..."));
        }
    }

    private static long offset(JsonLocation location) {
        return location.getByteOffset() >= 0 ? location.getByteOffset() : location.getCharOffset();
    }
}
