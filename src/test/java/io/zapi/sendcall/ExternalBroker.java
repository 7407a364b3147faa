package io.zapi.sendcall;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.awaitility.Awaitility.await;

/**
 * An ActiveMQ Artemis broker in a JVM of its own, as an enterprise's broker is: the replicas reach it over TCP on
 * loopback, and killing a replica leaves it running. It lives until the test closes it (or its stdin closes).
 */
final class ExternalBroker implements AutoCloseable {

    private final Process process;
    private final Path output;
    private final int port;

    private ExternalBroker(Process process, Path output, int port) {
        this.process = process;
        this.output = output;
        this.port = port;
    }

    /** Starts the broker's JVM and returns once it accepts connections on this port. */
    static ExternalBroker start(int port) throws IOException {
        Path output = Files.createTempFile("artemis", ".log");
        Process process = new ProcessBuilder(List.of(ProcessHandle.current().info().command().orElse("java"),
                "-Xmx512m", "-cp", System.getProperty("java.class.path"), ExternalBroker.class.getName(),
                String.valueOf(port))).redirectErrorStream(true).redirectOutput(output.toFile()).start();
        ExternalBroker broker = new ExternalBroker(process, output, port);
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100))
                .failFast(() -> !process.isAlive()).until(broker::accepts);
        return broker;
    }

    String url() {
        return "tcp://127.0.0.1:" + port;
    }

    private boolean accepts() {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", port), 1000);
            return true;
        } catch (IOException notYet) {
            return false;
        }
    }

    String output() {
        try {
            return Files.readString(output);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            process.destroyForcibly();
        }
    }

    /** The broker's JVM: the same broker as {@link HealthTest#externalBroker}, until stdin closes or SIGTERM. */
    public static void main(String[] args) throws Exception {
        var broker = HealthTest.externalBroker(Integer.parseInt(args[0]));
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                broker.stop();
            } catch (Exception ignored) {
                // stopping anyway
            }
        }));
        System.out.println("broker listening on " + args[0] + " (" + new File(".").getAbsolutePath() + ")");
        while (System.in.read() != -1) {
            // nothing: the broker runs until its parent goes
        }
    }
}
