package io.zapi.sendcall;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

import com.github.tomakehurst.wiremock.WireMockServer;
import com.github.tomakehurst.wiremock.http.Request;
import com.github.tomakehurst.wiremock.http.Response;
import jakarta.jms.Connection;
import jakarta.jms.DeliveryMode;
import jakarta.jms.MessageProducer;
import jakarta.jms.Session;
import org.apache.activemq.artemis.jms.client.ActiveMQConnectionFactory;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.any;
import static com.github.tomakehurst.wiremock.client.WireMock.anyUrl;
import static com.github.tomakehurst.wiremock.client.WireMock.equalTo;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.options;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The module's inputs side by side with a bare JDK HttpClient against the same loopback Z-API stand-in, in one run, as
 * a user runs it: the shipped jar ({@code java -jar target/zapi-send-call.jar}), default settings but
 * {@code zapi.concurrency}, real record files, ledger keys. Writes one table to target/benchmark.md and prints it.
 * Run with {@code mvn -B verify -Pbench} (tag benchmark: never in the default run). Sizes and parts are -D properties:
 * <ul>
 *   <li>{@code bench.latencies} (0,200 ms), {@code bench.concurrencies} (8,32)</li>
 *   <li>{@code bench.inputs}: which module rows, of file,http,jms,postgres,big (all); the bare client always runs</li>
 *   <li>{@code bench.rows} (40000): requests per measurement at 0 ms; {@code bench.rows-per-slot} (100): at a latency,
 *       concurrency × this many</li>
 *   <li>{@code bench.max-seconds} (60): a module measurement still running then is cut, its rate taken over what was
 *       done, and the row says so</li>
 *   <li>{@code bench.big-rows} (1000000) and {@code bench.big-max-seconds} (1800): the big CSV with -Xmx256m</li>
 *   <li>{@code bench.module-jvm-options}: added to each module's java command, space-separated (e.g.
 *       {@code -XX:StartFlightRecording=filename=target/module.jfr,settings=profile} with one input)</li>
 * </ul>
 * Pass/fail is only about correctness (every request of a finished measurement one success record, the module alive);
 * the figures are printed, not asserted: on a shared 2-core machine they are noisy, the ratios within one run hold.
 */
@Tag("benchmark")
class SideBySideBenchmarkIT {

    private static final List<Integer> LATENCIES = integers("bench.latencies", "0,200");
    private static final List<Integer> CONCURRENCIES = integers("bench.concurrencies", "8,32");
    private static final List<String> INPUTS = List.of(System.getProperty("bench.inputs", "file,http,jms,postgres,big")
            .split(","));
    private static final int ROWS = Integer.getInteger("bench.rows", 40_000);
    /** Added to each module's java command, e.g. a flight recording to see where its time goes. */
    private static final List<String> MODULE_JVM_OPTIONS = Stream.of(System.getProperty("bench.module-jvm-options", "")
            .split(" ")).filter(option -> !option.isBlank()).toList();
    private static final int ROWS_PER_SLOT = Integer.getInteger("bench.rows-per-slot", 100);
    private static final Duration MAX = Duration.ofSeconds(Integer.getInteger("bench.max-seconds", 60));
    private static final int BIG_ROWS = Integer.getInteger("bench.big-rows", 1_000_000);
    private static final Duration BIG_MAX = Duration.ofSeconds(Integer.getInteger("bench.big-max-seconds", 1800));
    /** Linux's USER_HZ: /proc/<pid>/stat counts CPU time in these ticks per second. */
    private static final int TICKS_PER_SECOND = 100;
    private static final Path TABLE = Path.of("target/benchmark.md");

    @RegisterExtension
    static final PostgresDatabases databases = new PostgresDatabases();

    @TempDir
    Path folder;

    private final List<Row> rows = new ArrayList<>();
    private final List<String> problems = new ArrayList<>();
    private int runs;

    @Test
    void inputsSideBySideWithTheBareClient() throws Exception {
        Map<String, Double> fileRateAt0ms8 = new HashMap<>();
        for (int latency : LATENCIES) {
            try (StandIn zapi = new StandIn(latency)) {
                for (int concurrency : CONCURRENCIES) {
                    int requests = latency == 0 ? ROWS : concurrency * ROWS_PER_SLOT;
                    double bare = bareClient(zapi, concurrency, requests);
                    Double bound = latency == 0 ? null : concurrency * 1000.0 / latency;
                    rows.add(new Row("bare JDK `HttpClient`", latency, concurrency, requests, requests, bare, "calls/s",
                            1.0, bound == null ? null : bare / bound, null, null, null, ""));
                    if (INPUTS.contains("file")) {
                        Row file = module("module, %,d-row CSV in the inbox".formatted(requests), zapi, concurrency,
                                bare, bound, requests, List.of(), Map.of(), this::fileInput, "rows/s");
                        if (latency == 0 && concurrency == 8) {
                            fileRateAt0ms8.put("sqlite", file.rate);
                        }
                    }
                    if (INPUTS.contains("http")) {
                        module("module, HTTP input, %d clients, no Idempotency-Key".formatted(concurrency), zapi,
                                concurrency, bare, bound, requests, List.of(), Map.of(), this::httpInput, "req/s");
                    }
                    if (INPUTS.contains("jms")) {
                        module("module, JMS input, %d producers (core protocol, persistent)".formatted(concurrency),
                                zapi, concurrency, bare, bound, requests, List.of(), Map.of(), this::jmsInput, "msg/s");
                    }
                    if (INPUTS.contains("postgres") && latency == 0 && concurrency == 8) {
                        String ledger = databases.create();
                        Map<String, String> postgres = new HashMap<>(PostgresDatabases.replica(ledger, "bench"));
                        module("module, %,d-row CSV, ledger on PostgreSQL".formatted(requests), zapi, concurrency,
                                bare, bound, requests, List.of(), postgres, this::fileInput, "rows/s");
                    }
                    if (INPUTS.contains("big") && latency == 0 && concurrency == 8) {
                        bigFile(zapi, concurrency, bare, fileRateAt0ms8.get("sqlite"));
                    }
                }
            }
        }
        String table = table();
        System.out.println(table);
        Files.createDirectories(TABLE.getParent());
        Files.writeString(TABLE, table);
        assertThat(problems).as("what went wrong in the runs (the table is in %s)", TABLE).isEmpty();
    }

    // ---- the bare client: the limit --------------------------------------------------------------------------------

    /**
     * C threads, each one synchronous POST after another, as the module's calls are: calls/s. Warmed up first (this
     * JVM's JIT and the stand-in's), untimed, so the limit it gives is the real one.
     */
    private double bareClient(StandIn zapi, int concurrency, int requests) throws Exception {
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(10)).build();
        calls(client, zapi, concurrency, zapi.latency == 0 ? Math.min(requests, 2_000) : concurrency * 2);
        return calls(client, zapi, concurrency, requests);
    }

    private double calls(HttpClient client, StandIn zapi, int concurrency, int requests) throws Exception {
        URI uri = URI.create(zapi.baseUrl() + RunningModule.SEND_CALL_PATH);
        AtomicInteger next = new AtomicInteger();
        AtomicInteger failures = new AtomicInteger();
        long start = System.nanoTime();
        inParallel(concurrency, () -> {
            for (int i = next.getAndIncrement(); i < requests; i = next.getAndIncrement()) {
                HttpResponse<String> answer = client.send(HttpRequest.newBuilder(uri)
                        .header("Client-Token", RunningModule.CLIENT_TOKEN).header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString("{\"phone\":\"" + phone(i) + "\",\"callDuration\":5}"))
                        .build(), HttpResponse.BodyHandlers.ofString());
                if (answer.statusCode() != 200) {
                    failures.incrementAndGet();
                }
            }
            return null;
        });
        double seconds = (System.nanoTime() - start) / 1e9;
        if (failures.get() > 0) {
            problems.add("bare client: %d of %d calls not 200".formatted(failures.get(), requests));
        }
        return requests / seconds;
    }

    // ---- the module's three inputs ---------------------------------------------------------------------------------

    /** What one input does to a started module: its requests counted from the first call at the stand-in. */
    @FunctionalInterface
    private interface Input {
        Measured run(Module module, int requests, Duration max) throws Exception;
    }

    private record Measured(int requests, int done, double seconds) {
    }

    /** A CSV of N rows (phone, callDuration; no id) dropped into the inbox; done when its report says so. */
    private Measured fileInput(Module module, int requests, Duration max) throws Exception {
        Path csv = module.dataDir.resolve("bench.csv.part");
        writeCsv(csv, requests);
        Files.move(csv, module.dataDir.resolve("inbox/bench.csv"), StandardCopyOption.ATOMIC_MOVE);
        long deadline = System.nanoTime() + max.toNanos();
        // the inbox's poll and settle wait (1.5 s by default) is the user's setting, not throughput: the clock starts
        // at the first row's call
        await().atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofMillis(20)).failFast(() -> !module.isAlive())
                .until(() -> module.zapi.firstCall() != 0);
        await().atMost(max.plusMinutes(2)).pollInterval(Duration.ofMillis(200)).failFast(() -> !module.isAlive())
                .until(() -> System.nanoTime() > deadline || Reports.ended(module.dataDir, "bench.csv"));
        long end = System.nanoTime();
        boolean ended = Reports.ended(module.dataDir, "bench.csv");
        double seconds = (end - module.zapi.firstCall()) / 1e9;
        int done = ended ? successRecords(module.dataDir) - 1 : module.zapi.calls();
        return new Measured(requests, done, seconds);
    }

    /** C client threads posting one request after another to POST /send-call, no Idempotency-Key. */
    private Measured httpInput(Module module, int requests, Duration max) throws Exception {
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(10)).build();
        AtomicInteger next = new AtomicInteger();
        AtomicInteger ok = new AtomicInteger();
        AtomicInteger failures = new AtomicInteger();
        long start = System.nanoTime();
        long deadline = start + max.toNanos();
        inParallel(module.concurrency, () -> {
            for (int i = next.getAndIncrement(); i < requests && System.nanoTime() < deadline;
                 i = next.getAndIncrement()) {
                if (module.post(client, phone(i)) == 200) {
                    ok.incrementAndGet();
                } else {
                    failures.incrementAndGet();
                }
            }
            return null;
        });
        double seconds = (System.nanoTime() - start) / 1e9;
        if (failures.get() > 0) {
            problems.add("HTTP input: %d answers not 200".formatted(failures.get()));
        }
        return new Measured(requests, ok.get(), seconds);
    }

    /** C producers, each its own connection, sending persistent JSON text messages (no id) to queue send-call. */
    private Measured jmsInput(Module module, int requests, Duration max) throws Exception {
        AtomicInteger next = new AtomicInteger();
        long start = System.nanoTime();
        long deadline = start + max.toNanos();
        ExecutorService producers = Executors.newFixedThreadPool(module.concurrency);
        try {
            List<Future<Object>> sent = new ArrayList<>();
            for (int p = 0; p < module.concurrency; p++) {
                sent.add(producers.submit(() -> {
                    try (Connection connection = new ActiveMQConnectionFactory("tcp://127.0.0.1:" + module.jmsPort)
                            .createConnection();
                         Session session = connection.createSession(false, Session.AUTO_ACKNOWLEDGE);
                         MessageProducer producer = session.createProducer(session.createQueue("send-call"))) {
                        producer.setDeliveryMode(DeliveryMode.PERSISTENT);
                        for (int i = next.getAndIncrement(); i < requests && System.nanoTime() < deadline;
                             i = next.getAndIncrement()) {
                            producer.send(session.createTextMessage("{\"phone\": \"" + phone(i) + "\"}"));
                        }
                    }
                    return null;
                }));
            }
            // the stand-in's count is cheap to poll; the records are listed once it has seen them all
            await().atMost(max.plusMinutes(2)).pollInterval(Duration.ofMillis(100)).failFast(() -> !module.isAlive())
                    .until(() -> System.nanoTime() > deadline || module.zapi.calls() >= requests);
            await().atMost(max.plusMinutes(2)).pollInterval(Duration.ofMillis(200)).failFast(() -> !module.isAlive())
                    .until(() -> System.nanoTime() > deadline || successRecords(module.dataDir) - 1 >= requests);
            long end = System.nanoTime();
            for (Future<Object> producer : sent) {
                producer.get();
            }
            // as for the file: the clock starts at the first call, as the producers' connecting (and their classes
            // loading in this JVM) is the benchmark's, not the module's
            return new Measured(requests, Math.min(requests, successRecords(module.dataDir) - 1),
                    (end - module.zapi.firstCall()) / 1e9);
        } finally {
            producers.shutdownNow();
        }
    }

    /**
     * The module started afresh (its own data folder, ports, zapi.concurrency=C), timed to serving, then one input;
     * CPU and peak RSS of its process.
     */
    private Row module(String variant, StandIn zapi, int concurrency, double bare, Double bound, int requests,
                       List<String> jvmOptions, Map<String, String> extra, Input input, String unit) throws Exception {
        List<String> options = new ArrayList<>(jvmOptions);
        options.addAll(MODULE_JVM_OPTIONS);
        try (Module module = Module.start(folder.resolve("run-" + ++runs), zapi, concurrency, options, extra)) {
            long cpuBefore = module.cpuTicks();
            Measured measured = input.run(module, requests, MAX);
            long cpuAfter = module.cpuTicks();
            String note = "";
            if (measured.done < measured.requests) {
                note = "cut at %d s: %,d of %,d".formatted(MAX.toSeconds(), measured.done, measured.requests);
            } else {
                assertAllSuccess(module, measured.requests + 1, variant);
            }
            if (!module.isAlive()) {
                problems.add(variant + ": the module died:\n" + module.tail());
            }
            double rate = measured.done / measured.seconds;
            Row row = new Row(variant, zapi.latency, concurrency, measured.requests, measured.done, rate, unit,
                    rate / bare, bound == null ? null : rate / bound, module.servingMillis,
                    (cpuAfter - cpuBefore) * 1000.0 / TICKS_PER_SECOND / Math.max(1, measured.done),
                    module.peakRssKb(), note);
            rows.add(row);
            System.out.println("BENCHMARK " + row);
            return row;
        }
    }

    /** The big CSV through a module limited to -Xmx256m, real record files: did it live, at what rate. */
    private void bigFile(StandIn zapi, int concurrency, double bare, Double rateOf40k) throws Exception {
        String variant = "module, %,d-row CSV, `-Xmx256m`".formatted(BIG_ROWS);
        try (Module module = Module.start(folder.resolve("run-" + ++runs), zapi, concurrency, List.of("-Xmx256m"),
                Map.of())) {
            long cpuBefore = module.cpuTicks();
            Measured measured = fileInput(module, BIG_ROWS, BIG_MAX);
            long cpuAfter = module.cpuTicks();
            boolean survived = module.isAlive() && !module.output().contains("OutOfMemoryError");
            double rate = measured.done / measured.seconds;
            String note = (survived ? "alive, no OutOfMemoryError" : "**died or OutOfMemoryError**")
                          + (rateOf40k == null ? "" : "; ÷ %,d-row rate: %.2f".formatted(ROWS, rate / rateOf40k));
            if (measured.done < measured.requests) {
                note += "; cut at %d s: %,d of %,d".formatted(BIG_MAX.toSeconds(), measured.done, measured.requests);
            } else if (survived) {
                assertAllSuccess(module, measured.requests + 1, variant);
            }
            if (!survived) {
                problems.add(variant + ": " + module.tail());
            }
            Row row = new Row(variant, zapi.latency, concurrency, measured.requests, measured.done, rate, "rows/s",
                    rate / bare, null, module.servingMillis,
                    (cpuAfter - cpuBefore) * 1000.0 / TICKS_PER_SECOND / Math.max(1, measured.done),
                    module.peakRssKb(), note);
            rows.add(row);
            System.out.println("BENCHMARK " + row);
        }
    }

    private void assertAllSuccess(Module module, int expected, String variant) {
        int success = successRecords(module.dataDir);
        if (success != expected) {
            problems.add("%s: %d success records, expected %d (the requests and the warm-up call)"
                    .formatted(variant, success, expected));
        }
    }

    // ---- the table ------------------------------------------------------------------------------------------------

    private record Row(String variant, int latency, int concurrency, int requests, int done, double rate, String unit,
                       double ofBare, Double ofBound, Long servingMillis, Double cpuMsPerRequest, Long peakRssKb,
                       String note) {
    }

    private String table() throws Exception {
        StringBuilder out = new StringBuilder();
        out.append("Side-by-side benchmark, ").append(DateTimeFormatter.ISO_LOCAL_DATE_TIME
                .format(ZonedDateTime.now(ZoneOffset.UTC).withNano(0))).append(" UTC\n\n");
        out.append("- machine: ").append(Runtime.getRuntime().availableProcessors()).append(" cores (")
                .append(cpuModel()).append("), ").append(memoryMib()).append(" MiB RAM\n");
        out.append("- java: ").append(javaVersion()).append('\n');
        out.append("- Camel ").append(System.getProperty("bench.camel-version", "?")).append(", Artemis ")
                .append(System.getProperty("bench.artemis-version", "?")).append(", WireMock stand-in on 127.0.0.1\n");
        out.append("- command: `mvn -B verify -Pbench`").append(commandOptions()).append("\n\n");
        out.append("| variant | stand-in latency | C | requests | rate | ÷ bare client | ÷ bound C/latency "
                   + "| java -jar → serving | CPU ms/request | peak RSS | note |\n");
        out.append("|---|---|---|---|---|---|---|---|---|---|---|\n");
        for (Row row : rows) {
            out.append("| ").append(row.variant).append(" | ").append(row.latency).append(" ms | ")
                    .append(row.concurrency).append(" | ").append("%,d".formatted(row.requests)).append(" | ")
                    .append("%,.0f %s".formatted(row.rate, row.unit))
                    .append(row.ofBound == null ? "" : " (bound %,.0f)".formatted(row.concurrency * 1000.0 / row.latency))
                    .append(" | ").append("%.2f".formatted(row.ofBare)).append(" | ")
                    .append(row.ofBound == null ? "—" : "%.2f".formatted(row.ofBound)).append(" | ")
                    .append(row.servingMillis == null ? "—" : "%.1f s".formatted(row.servingMillis / 1000.0))
                    .append(" | ").append(row.cpuMsPerRequest == null ? "—" : "%.2f".formatted(row.cpuMsPerRequest))
                    .append(" | ").append(row.peakRssKb == null ? "—" : "%,d MiB".formatted(row.peakRssKb / 1024))
                    .append(" | ").append(row.note).append(" |\n");
        }
        return out.toString();
    }

    private static String commandOptions() {
        return Stream.of("bench.latencies", "bench.concurrencies", "bench.inputs", "bench.rows", "bench.rows-per-slot",
                        "bench.max-seconds", "bench.big-rows", "bench.big-max-seconds")
                .filter(name -> System.getProperty(name) != null)
                .map(name -> " -D" + name + "=" + System.getProperty(name))
                .reduce("", String::concat);
    }

    private static String cpuModel() throws IOException {
        return Files.readAllLines(Path.of("/proc/cpuinfo")).stream().filter(l -> l.startsWith("model name"))
                .map(l -> l.substring(l.indexOf(':') + 1).trim()).findFirst().orElse("?");
    }

    private static long memoryMib() throws IOException {
        return procField(Path.of("/proc/meminfo"), "MemTotal:") / 1024;
    }

    private static String javaVersion() throws Exception {
        Process java = new ProcessBuilder(ProcessHandle.current().info().command().orElse("java"), "-version")
                .redirectErrorStream(true).start();
        String text = new String(java.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        java.waitFor();
        return String.join("; ", text.lines().toList());
    }

    // ---- helpers --------------------------------------------------------------------------------------------------

    private static List<Integer> integers(String property, String defaults) {
        return Arrays.stream(System.getProperty(property, defaults).split(",")).map(String::trim)
                .map(Integer::valueOf).toList();
    }

    private static String phone(int i) {
        return "55119%08d".formatted(i);
    }

    private static void writeCsv(Path csv, int rows) throws IOException {
        try (BufferedWriter out = Files.newBufferedWriter(csv)) {
            out.write("phone,callDuration\n");
            for (int i = 0; i < rows; i++) {
                out.write(phone(i) + "," + (i % 15 + 1) + "\n");
            }
        }
    }

    private static int successRecords(Path dataDir) {
        Path success = dataDir.resolve("outbox/success");
        if (!Files.isDirectory(success)) {
            return 0;
        }
        try (Stream<Path> files = Files.list(success)) {
            return (int) files.filter(f -> !f.getFileName().toString().startsWith(".")).count();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void inParallel(int threads, Callable<Object> work) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<Object>> all = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                all.add(pool.submit(work));
            }
            for (Future<Object> one : all) {
                one.get();
            }
        } finally {
            pool.shutdownNow();
        }
    }

    private static long procField(Path file, String field) throws IOException {
        if (!Files.exists(file)) {
            return 0;
        }
        return Files.readAllLines(file).stream().filter(l -> l.startsWith(field))
                .map(l -> Long.parseLong(l.replaceAll("[^0-9]", ""))).findFirst().orElse(0L);
    }

    /**
     * Z-API's stand-in: WireMock on 127.0.0.1 answering send-call with Z-API's 200 after a fixed delay. Enough container
     * threads that 32 calls waiting out 200 ms each never queue; no request journal, so a long run does not fill the
     * heap. Counts the calls it answers and when the first came.
     */
    private static final class StandIn implements AutoCloseable {

        final int latency;
        private final WireMockServer server;
        private final AtomicInteger calls = new AtomicInteger();
        private final AtomicLong firstCall = new AtomicLong();

        StandIn(int latency) {
            this.latency = latency;
            server = new WireMockServer(options().bindAddress("127.0.0.1").dynamicPort().containerThreads(200)
                    .disableRequestJournal().stubRequestLoggingDisabled(true));
            server.start();
            server.stubFor(any(anyUrl()).atPriority(10).willReturn(aResponse().withStatus(404)));
            server.stubFor(post(urlEqualTo(RunningModule.SEND_CALL_PATH)).atPriority(5)
                    .withHeader("Client-Token", equalTo(RunningModule.CLIENT_TOKEN))
                    .willReturn(aResponse().withStatus(200).withHeader("Content-Type", "application/json")
                            .withBody("{\"zaapId\":\"" + ZapiStub.ZAAP_ID + "\",\"messageId\":\"" + ZapiStub.MESSAGE_ID
                                      + "\",\"id\":\"" + ZapiStub.MESSAGE_ID + "\"}")
                            .withFixedDelay(latency)));
            server.addMockServiceRequestListener((Request request, Response response) -> {
                firstCall.compareAndSet(0, System.nanoTime());
                calls.incrementAndGet();
            });
        }

        String baseUrl() {
            return "http://127.0.0.1:" + server.port();
        }

        /** Forgets the calls so far: the next measurement counts from zero. */
        void resetCounts() {
            calls.set(0);
            firstCall.set(0);
        }

        int calls() {
            return calls.get();
        }

        long firstCall() {
            return firstCall.get();
        }

        @Override
        public void close() {
            server.stop();
        }
    }

    /** The shipped jar started as a user starts it, with its own data folder and ports. */
    private static final class Module implements AutoCloseable {

        final Path dataDir;
        final StandIn zapi;
        final int concurrency;
        final int jmsPort;
        final int serverPort;
        final ModuleProcess process;
        final long servingMillis;

        private Module(Path dataDir, StandIn zapi, int concurrency, int jmsPort, int serverPort, ModuleProcess process,
                       long servingMillis) {
            this.dataDir = dataDir;
            this.zapi = zapi;
            this.concurrency = concurrency;
            this.jmsPort = jmsPort;
            this.serverPort = serverPort;
            this.process = process;
            this.servingMillis = servingMillis;
        }

        /**
         * Started and timed from {@code java -jar} to serving: readiness 200 on the management port and a POST
         * /send-call answered 200 (one call, one success record, before the counts are reset).
         */
        static Module start(Path dataDir, StandIn zapi, int concurrency, List<String> jvmOptions,
                            Map<String, String> extra) throws Exception {
            int jmsPort = RunningModule.freePort();
            int serverPort = RunningModule.freePort();
            int managementPort = RunningModule.freePort();
            Map<String, String> settings = new HashMap<>(extra);
            settings.put("zapi.base-url", zapi.baseUrl());
            settings.put("zapi.instance-id", RunningModule.INSTANCE_ID);
            settings.put("zapi.instance-token", RunningModule.INSTANCE_TOKEN);
            settings.put("zapi.client-token", RunningModule.CLIENT_TOKEN);
            settings.put("zapi.data-dir", dataDir.toString());
            settings.put("zapi.concurrency", String.valueOf(concurrency));
            settings.put("zapi.jms.embedded-port", String.valueOf(jmsPort));
            settings.put("camel.server.port", String.valueOf(serverPort));
            settings.put("camel.management.port", String.valueOf(managementPort));
            HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                    .connectTimeout(Duration.ofSeconds(5)).build();
            long start = System.nanoTime();
            ModuleProcess process = ModuleProcess.startJar(jvmOptions, settings, Map.of());
            Module[] started = new Module[1];
            try {
                await().atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofMillis(25))
                        .failFast(() -> !process.isAlive()).until(() -> ModuleProcess.ready(managementPort));
                Module module = new Module(dataDir, zapi, concurrency, jmsPort, serverPort, process, 0);
                await().atMost(Duration.ofMinutes(1)).pollInterval(Duration.ofMillis(25))
                        .failFast(() -> !process.isAlive()).ignoreExceptions()
                        .until(() -> module.post(client, "5511999999999") == 200);
                long serving = (System.nanoTime() - start) / 1_000_000;
                started[0] = new Module(dataDir, zapi, concurrency, jmsPort, serverPort, process, serving);
            } finally {
                if (started[0] == null) {
                    System.out.println(process.output());
                    process.close();
                }
            }
            await().atMost(Duration.ofMinutes(1)).until(() -> successRecords(dataDir) == 1);
            zapi.resetCounts();
            return started[0];
        }

        int post(HttpClient client, String phone) throws IOException, InterruptedException {
            return client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + serverPort + "/send-call"))
                    .timeout(Duration.ofMinutes(2)).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"phone\": \"" + phone + "\"}")).build(),
                    HttpResponse.BodyHandlers.discarding()).statusCode();
        }

        boolean isAlive() {
            return process.isAlive();
        }

        String output() {
            return process.output();
        }

        String tail() {
            String output = output();
            return output.substring(Math.max(0, output.length() - 4000));
        }

        /** utime + stime of the module's JVM, in clock ticks (/proc/<pid>/stat fields 14 and 15). */
        long cpuTicks() throws IOException {
            String stat = Files.readString(Path.of("/proc/" + process.pid() + "/stat"));
            String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            // fields[0] is field 3 (state): utime is field 14, stime 15
            return Long.parseLong(fields[11]) + Long.parseLong(fields[12]);
        }

        /** VmHWM: the most resident memory the process ever had. */
        long peakRssKb() throws IOException {
            return procField(Path.of("/proc/" + process.pid() + "/status"), "VmHWM:");
        }

        @Override
        public void close() throws InterruptedException {
            process.close();
        }
    }
}
