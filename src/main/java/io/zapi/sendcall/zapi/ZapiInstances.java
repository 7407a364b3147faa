package io.zapi.sendcall.zapi;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.apache.camel.Exchange;
import org.apache.camel.spi.PropertiesComponent;
import org.apache.camel.support.SynchronizationAdapter;

import io.zapi.sendcall.pipeline.CallRequest;
import io.zapi.sendcall.records.OutcomeRecord;

import io.zapi.sendcall.runtime.Settings;
import io.zapi.sendcall.runtime.StartupException;

/**
 * The Z-API instances calls go through, and which one a request takes: the one it names, else by
 * {@code zapi.instance-selection}: {@code default} (the instance named default) or {@code spread} (the one with the
 * fewest requests in flight, ties taken in turn). A request is in flight on its instance from its pick to its end,
 * retries and their waits included, so that an instance busy with retries (a 429 storm) is not given more.
 */
public final class ZapiInstances {

    public static final String PREFIX = "zapi.instances.";
    public static final String SELECTION = "zapi.instance-selection";
    /** Exchange property: the {@link ZapiInstance} the request's call goes through, once picked. */
    public static final String PROPERTY = "zapiInstance";
    /** The settings of a named instance, after {@code zapi.instances.<name>.}; the first three are required. */
    static final List<String> FIELDS = List.of("instance-id", "instance-token", "client-token", "base-url",
            "rate-limit", "concurrency");
    /** A name is also a part of an environment variable's name, and a label value: lower case, digits, '_'. */
    private static final Pattern NAME = Pattern.compile("[a-z0-9_]{1,40}");
    private static final Pattern SETTING_KEY = Pattern.compile(Pattern.quote(PREFIX) + "([^.]+)\\.(.+)");
    private static final Pattern ENV = Pattern.compile("ZAPI_INSTANCES_(.+)_(INSTANCE_ID|INSTANCE_TOKEN|CLIENT_TOKEN"
                                                       + "|BASE_URL|RATE_LIMIT|CONCURRENCY)");

    public enum Selection {
        DEFAULT, SPREAD
    }

    private final Map<String, ZapiInstance> byName;
    private final List<ZapiInstance> inOrder;
    private final Map<String, AtomicInteger> inFlight = new ConcurrentHashMap<>();
    private final Selection selection;
    private final AtomicInteger turn = new AtomicInteger();

    ZapiInstances(Collection<ZapiInstance> instances, Selection selection) {
        this.byName = new TreeMap<>();
        instances.forEach(instance -> byName.put(instance.name(), instance));
        this.inOrder = List.copyOf(byName.values());
        this.selection = selection;
        inOrder.forEach(instance -> inFlight.put(instance.name(), new AtomicInteger()));
    }

    /**
     * The names of the instances defined by settings ({@code zapi.instances.<name>.<field>}) and by environment
     * variables ({@code ZAPI_INSTANCES_<NAME>_<FIELD>}, the name lower-cased), not yet checked.
     */
    public static Set<String> namesIn(Stream<String> settingKeys, Set<String> environmentNames) {
        Set<String> names = new TreeSet<>();
        settingKeys.map(SETTING_KEY::matcher).filter(Matcher::matches).filter(m -> FIELDS.contains(m.group(2)))
                .forEach(m -> names.add(m.group(1)));
        environmentNames.stream().map(ENV::matcher).filter(Matcher::matches)
                .forEach(m -> names.add(m.group(1).toLowerCase(Locale.ROOT)));
        return names;
    }

    /**
     * Reads the instances: {@code default} from zapi.instance-id, zapi.instance-token, zapi.client-token (when
     * zapi.instance-id is set), and each named one. A named instance's base URL, rate limit and concurrency default to
     * zapi.base-url, zapi.rate-limit and zapi.concurrency. Refused at start-up, in one message naming the settings:
     * a name that is not lower-case letters, digits and '_', a missing id or token, a number out of range, no
     * instance at all, or selection default without a default instance.
     *
     * @param setting a setting's value as Camel resolves it (environment variables included), null when unset
     */
    public static ZapiInstances read(Set<String> names, Function<String, String> setting) {
        List<String> problems = new ArrayList<>();
        List<ZapiInstance> instances = new ArrayList<>();
        String baseUrl = setting.apply("zapi.base-url");
        int rateLimit = number(setting, "zapi.rate-limit", 0, 0, 100_000, problems);
        int concurrency = number(setting, "zapi.concurrency", 8, 1, 1_000, problems);
        if (setting.apply("zapi.instance-id") != null) {
            instances.add(new ZapiInstance(ZapiInstance.DEFAULT, setting.apply("zapi.instance-id"),
                    setting.apply("zapi.instance-token"), setting.apply("zapi.client-token"), baseUrl, rateLimit,
                    concurrency));
        }
        for (String name : names) {
            String prefix = PREFIX + name + ".";
            if (!NAME.matcher(name).matches()) {
                problems.add("instance name '" + name + "' (" + prefix + "*): a name is 1 to 40 lower-case letters, "
                             + "digits or '_'");
                continue;
            }
            if (name.equals(ZapiInstance.DEFAULT)) {
                problems.add("zapi.instances.default.*: the default instance is set with zapi.instance-id, "
                             + "zapi.instance-token and zapi.client-token");
                continue;
            }
            List<String> missing = Stream.of("instance-id", "instance-token", "client-token")
                    .filter(field -> setting.apply(prefix + field) == null).map(field -> prefix + field).toList();
            if (!missing.isEmpty()) {
                problems.add("instance " + name + " lacks " + String.join(", ", missing));
                continue;
            }
            String ownBaseUrl = setting.apply(prefix + "base-url");
            instances.add(new ZapiInstance(name, setting.apply(prefix + "instance-id"),
                    setting.apply(prefix + "instance-token"), setting.apply(prefix + "client-token"),
                    ownBaseUrl != null ? ownBaseUrl : baseUrl,
                    number(setting, prefix + "rate-limit", rateLimit, 0, 100_000, problems),
                    number(setting, prefix + "concurrency", concurrency, 1, 1_000, problems)));
        }
        String selectionSetting = setting.apply(SELECTION);
        Selection selection = Selection.DEFAULT;
        if (selectionSetting != null) {
            try {
                selection = Selection.valueOf(selectionSetting.trim().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                problems.add(SELECTION + " must be default or spread, was '" + selectionSetting + "'");
            }
        }
        if (instances.isEmpty() && problems.isEmpty()) {
            problems.add("no Z-API instance: set zapi.instance-id, zapi.instance-token and zapi.client-token, or an "
                         + "instance of your own with zapi.instances.<name>.instance-id, .instance-token and "
                         + ".client-token");
        } else if (selection == Selection.DEFAULT && problems.isEmpty()
                   && instances.stream().noneMatch(instance -> instance.name().equals(ZapiInstance.DEFAULT))) {
            problems.add(SELECTION + "=default takes requests that name no instance to the default instance, and "
                         + "there is none: set zapi.instance-id, zapi.instance-token and zapi.client-token, or "
                         + SELECTION + "=spread");
        }
        if (!problems.isEmpty()) {
            throw new StartupException("Z-API instances: " + String.join("; ", problems) + ".");
        }
        return new ZapiInstances(instances, selection);
    }

    /** The settings of a named instance that hold secrets: its two tokens. */
    public static List<String> secretKeys(String name) {
        return List.of(PREFIX + name + ".instance-token", PREFIX + name + ".client-token");
    }

    /**
     * The instances of the module's settings as Camel resolves them: the settings file, -D system properties,
     * environment variables ({@code ZAPI_INSTANCES_<NAME>_<FIELD>}) and the module's overrides.
     */
    public static ZapiInstances read(PropertiesComponent properties) {
        return read(namesIn(properties), key -> Settings.get(properties, key));
    }

    /** The names of the instances the module's settings define, as Camel resolves them: see {@link #read}. */
    public static Set<String> namesIn(PropertiesComponent properties) {
        Set<String> keys = new TreeSet<>(properties.loadProperties().stringPropertyNames());
        keys.addAll(System.getProperties().stringPropertyNames());
        return namesIn(keys.stream(), System.getenv().keySet());
    }

    private static int number(Function<String, String> setting, String key, int fallback, int min, int max,
                              List<String> problems) {
        String value = setting.apply(key);
        if (value == null) {
            return fallback;
        }
        try {
            int number = Integer.parseInt(value.trim());
            if (number >= min && number <= max) {
                return number;
            }
        } catch (NumberFormatException notANumber) {
            // said below
        }
        problems.add(key + " must be a whole number from " + min + " to " + max + ", was '" + value + "'");
        return fallback;
    }

    /** The instance of this name, in any case; null when there is none. */
    public ZapiInstance named(String name) {
        return name == null ? null : byName.get(name.trim().toLowerCase(Locale.ROOT));
    }

    /** The name of the instance whose Z-API id this is (a call event names its instance so); null when none is. */
    public String nameOfInstanceId(String instanceId) {
        return instanceId == null ? null : inOrder.stream().filter(instance -> instanceId.equals(instance.instanceId()))
                .map(ZapiInstance::name).findFirst().orElse(null);
    }

    /** The instance for what is not a call (the number pre-check): the default one, else the first by name. */
    public ZapiInstance forChecks() {
        ZapiInstance fallback = byName.get(ZapiInstance.DEFAULT);
        return fallback != null ? fallback : inOrder.get(0);
    }

    public List<ZapiInstance> all() {
        return inOrder;
    }

    public Set<String> names() {
        return byName.keySet();
    }

    /**
     * The instance for a request, counted in flight until {@link #release}: the one it names (already checked to
     * exist), else the default one, or with spread the one with the fewest requests in flight (ties in turn).
     */
    public ZapiInstance pick(String requested) {
        ZapiInstance chosen = requested != null ? named(requested)
                : selection == Selection.DEFAULT ? byName.get(ZapiInstance.DEFAULT) : leastBusy();
        inFlight.get(chosen.name()).incrementAndGet();
        return chosen;
    }

    /**
     * The pipeline's pick (routes/send-call.camel.yaml, place-call): the instance of the exchange's request, in flight
     * until the exchange is done, whichever way it ends.
     */
    public ZapiInstance pickFor(Exchange exchange) {
        CallRequest request = exchange.getProperty(OutcomeRecord.CALL_REQUEST, CallRequest.class);
        ZapiInstance instance = pick(request != null ? request.instance() : null);
        exchange.getExchangeExtension().addOnCompletion(new SynchronizationAdapter() {
            @Override
            public void onDone(Exchange done) {
                release(instance);
            }
        });
        return instance;
    }

    public void release(ZapiInstance instance) {
        inFlight.get(instance.name()).decrementAndGet();
    }

    /** Requests in flight on the instance now: picked and not yet done. */
    public int inFlight(String name) {
        AtomicInteger count = inFlight.get(name);
        return count == null ? 0 : count.get();
    }

    private ZapiInstance leastBusy() {
        int start = Math.floorMod(turn.getAndIncrement(), inOrder.size());
        ZapiInstance least = null;
        int fewest = Integer.MAX_VALUE;
        for (int i = 0; i < inOrder.size(); i++) {
            ZapiInstance candidate = inOrder.get((start + i) % inOrder.size());
            int busy = inFlight.get(candidate.name()).get();
            if (busy < fewest) {
                least = candidate;
                fewest = busy;
            }
        }
        return least;
    }
}
