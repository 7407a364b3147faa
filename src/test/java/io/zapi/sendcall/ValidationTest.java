package io.zapi.sendcall;

import java.util.concurrent.atomic.AtomicInteger;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.assertj.core.api.Assertions.assertThat;

/** Every validation rule, end to end: a request file in, a record out, and Z-API called only for valid ones. */
class ValidationTest {

    private static final AtomicInteger FILES = new AtomicInteger();

    @RegisterExtension
    static final ModuleUnderTest app = new ModuleUnderTest();

    @ParameterizedTest(name = "{0} is rejected: {1}")
    @CsvSource(delimiter = '|', quoteCharacter = '`', textBlock = """
            {"callDuration": 5}                                        | phone is required
            {"phone": null}                                            | phone is required
            {"phone": "  "}                                            | phone is required
            {"phone": "55 11 9999x9999"}                               | phone must hold only the digits 0-9
            {"phone": "٥٥١١٩٩٩٩٩٩٩٩٩"}                                 | phone must hold only the digits 0-9
            {"phone": "５５１１９９９９９９９９９"}                          | phone must hold only the digits 0-9
            {"phone": "551199999"}                                     | phone must have 10 to 15 digits
            {"phone": "5511999999999999"}                              | phone must have 10 to 15 digits
            {"phone": true}                                            | phone must be a string or a whole number
            {"phone": 5.5}                                             | phone must be a string or a whole number
            {"phone": -5511999999999}                                  | phone must be a string or a whole number
            {"phone": ["5511999999999"]}                               | phone must be a string or a whole number
            {"phone": "5511999999999", "callDuration": 0}              | callDuration must be from 1 to 15
            {"phone": "5511999999999", "callDuration": -3}             | callDuration must be from 1 to 15
            {"phone": "5511999999999", "callDuration": 16}             | callDuration must be from 1 to 15
            {"phone": "5511999999999", "callDuration": 1e309}          | callDuration must be from 1 to 15
            {"phone": "5511999999999", "callDuration": 7.5}            | callDuration must be a whole number
            {"phone": "5511999999999", "callDuration": "7.5"}          | callDuration must be a whole number
            {"phone": "5511999999999", "callDuration": "seven"}        | callDuration must be a whole number of seconds from 1 to 15
            {"phone": "5511999999999", "callDuration": true}           | callDuration must be a whole number of seconds from 1 to 15
            {"phone": "5511999999999", "callDuration": null}           | callDuration must be a whole number of seconds from 1 to 15
            {"phone": "5511999999999", "id": {"ref": 1}}               | id must be a string or a whole number
            {"phone": "5511999999999", "phone": "5511888888888"}       | Duplicate field 'phone'
            {"phone": "5511999999999", "notBefore": "2026-12-01T09:00:00"}  | notBefore must be an ISO-8601 date and time with its offset
            {"phone": "5511999999999", "notBefore": 1764590400000}     | notBefore must be an ISO-8601 date and time with its offset
            {"phone": "5511999999999", "notBefore": "+999999999-12-31T23:59:59Z"} | notBefore must be within a year from now
            `"5511999999999"`                                          | request must be a JSON object, got a string
            """)
    void invalidRequestsAreRejectedWithTheReasonAndNeverSent(String request, String reason) {
        String name = "invalid-" + FILES.incrementAndGet() + ".json";

        app.module().drop(name, request);

        JsonNode record = app.module().awaitRecord(name);
        assertThat(record.path("outcome").asText()).isEqualTo("rejected");
        assertThat(record.path("error").asText()).contains(reason);
        assertThat(record.path("status").isNull()).isTrue();
        assertThat(record.path("attempts").asInt()).isZero();
        assertThat(app.module().outbox("rejected").resolve(record.path("correlationId").asText() + ".json")).exists();
        assertThat(app.zapi().allRequests()).isEmpty();
    }

    @ParameterizedTest(name = "{0} is sent as {1}")
    @CsvSource(delimiter = '|', quoteCharacter = '`', textBlock = """
            {"phone": "+55 (11) 99999-9999", "callDuration": 7}       | {"phone":"5511999999999","callDuration":7}
            {"phone": "55.11.3333.4444"}                              | {"phone":"551133334444","callDuration":5}
            {"phone": 5511999999999, "callDuration": "9"}             | {"phone":"5511999999999","callDuration":9}
            {"phone": "5511999999999", "callDuration": 15.0}          | {"phone":"5511999999999","callDuration":15}
            {"phone": "5511999999999", "callDuration": 1}             | {"phone":"5511999999999","callDuration":1}
            {"phone": "551199999999999", "unknown": {"a": [1]}}       | {"phone":"551199999999999","callDuration":5}
            """)
    void validRequestsAreNormalisedToTheExactBody(String request, String body) {
        app.zapi().reset();
        String name = "valid-" + FILES.incrementAndGet() + ".json";

        app.module().drop(name, request);

        JsonNode record = app.module().awaitRecord(name);
        assertThat(record.path("outcome").asText()).isEqualTo("success");
        assertThat(app.zapi().allRequests()).singleElement().satisfies(r -> assertThat(r.getBodyAsString()).isEqualTo(body));
        app.zapi().reset();
    }
}
