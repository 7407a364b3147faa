package io.zapi.sendcall;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

import io.zapi.sendcall.runtime.StartupException;
import io.zapi.sendcall.zapi.ZapiInstance;
import io.zapi.sendcall.zapi.ZapiInstances;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The instances' settings as the start-up reads them, and which instance a request takes. */
class ZapiInstancesTest {

    private final Map<String, String> settings = new HashMap<>(Map.of(
            "zapi.base-url", "https://api.z-api.io", "zapi.rate-limit", "3", "zapi.concurrency", "8",
            "zapi.instance-id", "id-default", "zapi.instance-token", "token-default",
            "zapi.client-token", "client-default"));

    @Test
    void namesComeFromSettingsAndFromEnvironmentVariablesLowerCased() {
        Set<String> names = ZapiInstances.namesIn(Stream.of("zapi.instances.second.instance-id",
                        "zapi.instances.second.client-token", "zapi.instances.third.rate-limit", "zapi.instance-id",
                        "zapi.instances.fourth.unknown-field"),
                Set.of("ZAPI_INSTANCES_SAO_PAULO_INSTANCE_TOKEN", "ZAPI_INSTANCES_SECOND_BASE_URL", "PATH",
                        "ZAPI_INSTANCES_X_NOT_A_FIELD"));

        assertThat(names).containsExactly("sao_paulo", "second", "third");
    }

    @Test
    void theExistingSettingsAreTheDefaultInstanceAndNamedOnesInheritWhatTheyDoNotSet() {
        named("second", "id-2", "token-2", "client-2");
        settings.put("zapi.instances.second.rate-limit", "5");

        ZapiInstances instances = ZapiInstances.read(Set.of("second"), settings::get);

        assertThat(instances.names()).containsExactly("default", "second");
        assertThat(instances.named("DEFAULT")).isEqualTo(new ZapiInstance("default", "id-default", "token-default",
                "client-default", "https://api.z-api.io", 3, 8));
        assertThat(instances.named("Second")).isEqualTo(new ZapiInstance("second", "id-2", "token-2", "client-2",
                "https://api.z-api.io", 5, 8));
        assertThat(instances.named("third")).isNull();
        assertThat(instances.named("second").toString()).doesNotContain("token-2", "client-2", "id-2");
    }

    @Test
    void everyProblemIsSaidInOneMessageAtStartUp() {
        named("second", "id-2", null, null);
        settings.put("zapi.instances.third.instance-id", "id-3");
        named("third", "id-3", "token-3", "client-3");
        settings.put("zapi.instances.third.concurrency", "0");
        settings.put("zapi.instance-selection", "random");

        assertThatThrownBy(() -> ZapiInstances.read(Set.of("second", "third", "Bad-Name"), settings::get))
                .isInstanceOf(StartupException.class)
                .hasMessageContaining("instance second lacks zapi.instances.second.instance-token, "
                                      + "zapi.instances.second.client-token")
                .hasMessageContaining("zapi.instances.third.concurrency must be a whole number from 1 to 1000, was '0'")
                .hasMessageContaining("instance name 'Bad-Name'")
                .hasMessageContaining("zapi.instance-selection must be default or spread, was 'random'")
                .hasMessageNotContaining("id-3");
    }

    @Test
    void selectionDefaultNeedsTheDefaultInstance() {
        settings.remove("zapi.instance-id");
        named("second", "id-2", "token-2", "client-2");

        assertThatThrownBy(() -> ZapiInstances.read(Set.of("second"), settings::get))
                .isInstanceOf(StartupException.class).hasMessageContaining("zapi.instance-selection=spread");
        settings.put("zapi.instance-selection", "spread");
        assertThat(ZapiInstances.read(Set.of("second"), settings::get).names()).containsExactly("second");
    }

    @Test
    void spreadTakesTheInstanceWithFewestInFlightThenEachInTurn() {
        named("second", "id-2", "token-2", "client-2");
        named("third", "id-3", "token-3", "client-3");
        settings.put("zapi.instance-selection", "spread");
        ZapiInstances instances = ZapiInstances.read(Set.of("second", "third"), settings::get);

        List<String> firstThree = Stream.generate(() -> instances.pick(null).name()).limit(3).toList();
        assertThat(firstThree).containsExactlyInAnyOrder("default", "second", "third");

        // a request of third ends: third is now the least busy and takes the next one
        instances.release(instances.named("third"));
        assertThat(instances.pick(null).name()).isEqualTo("third");
        // a request naming its instance takes it whatever the load
        assertThat(instances.pick("SECOND").name()).isEqualTo("second");
        assertThat(instances.inFlight("second")).isEqualTo(2);
        assertThat(instances.inFlight("default")).isEqualTo(1);
    }

    private void named(String name, String id, String token, String client) {
        put("zapi.instances." + name + ".instance-id", id);
        put("zapi.instances." + name + ".instance-token", token);
        put("zapi.instances." + name + ".client-token", client);
    }

    private void put(String key, String value) {
        if (value != null) {
            settings.put(key, value);
        }
    }
}
