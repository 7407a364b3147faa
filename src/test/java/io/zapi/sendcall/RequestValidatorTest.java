package io.zapi.sendcall;

import org.junit.jupiter.api.Test;

import io.zapi.sendcall.pipeline.RequestValidator;
import io.zapi.sendcall.runtime.StartupException;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Settings the validator refuses at start-up. */
class RequestValidatorTest {

    @Test
    void aDefaultDurationOutsideZapisRangeStopsStartUp() {
        assertThatThrownBy(() -> new RequestValidator(16, java.util.Set.of("default"))).isInstanceOf(StartupException.class)
                .hasMessageContaining("zapi.default-call-duration must be 1 to 15");
        assertThatThrownBy(() -> new RequestValidator(0, java.util.Set.of("default"))).isInstanceOf(StartupException.class);
    }
}
