package io.zapi.sendcall;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A Z-API stand-in on 127.0.0.1 made of a bare server socket, for what WireMock cannot do: answer one byte at a time,
 * or close a keep-alive connection right after answering. It reads each request whole (headers and Content-Length
 * body) and hands the connection to a {@link Behaviour}.
 */
final class RawHttpServer implements AutoCloseable {

    /** What the server does with a connection once it has read a request on it. */
    interface Behaviour {
        /** @return true to read another request on the same connection, false to close it */
        boolean answer(RawHttpServer server, Socket socket, String request) throws IOException;
    }

    private final ServerSocket server;
    private final ExecutorService connections = Executors.newCachedThreadPool();
    /** Paces the drip-fed answers, so no thread sleeps. */
    private final ScheduledExecutorService drip = Executors.newSingleThreadScheduledExecutor();
    private final Behaviour behaviour;
    final List<String> requests = new CopyOnWriteArrayList<>();
    final AtomicInteger closedConnections = new AtomicInteger();

    RawHttpServer(Behaviour behaviour) throws IOException {
        this.behaviour = behaviour;
        this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        connections.submit(this::acceptLoop);
    }

    String baseUrl() {
        return "http://127.0.0.1:" + server.getLocalPort();
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            try {
                Socket socket = server.accept();
                connections.submit(() -> serve(socket));
            } catch (IOException closed) {
                return;
            }
        }
    }

    private void serve(Socket socket) {
        try (socket) {
            socket.setSoTimeout(30_000);
            String request;
            while ((request = readRequest(socket.getInputStream())) != null) {
                requests.add(request);
                if (!behaviour.answer(this, socket, request)) {
                    break;
                }
            }
        } catch (IOException gone) {
            // the client went away: nothing more to do on this connection
        } finally {
            closedConnections.incrementAndGet();
        }
    }

    /** One request (head and body), or null at the end of the stream. */
    private static String readRequest(InputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        int b;
        while ((b = in.read()) != -1) {
            head.write(b);
            byte[] bytes = head.toByteArray();
            int n = bytes.length;
            if (n >= 4 && bytes[n - 4] == '\r' && bytes[n - 3] == '\n' && bytes[n - 2] == '\r' && bytes[n - 1] == '\n') {
                break;
            }
        }
        if (head.size() == 0) {
            return null;
        }
        String headText = head.toString(StandardCharsets.ISO_8859_1);
        int length = 0;
        for (String line : headText.split("\r\n")) {
            if (line.toLowerCase(Locale.ROOT).startsWith("content-length:")) {
                length = Integer.parseInt(line.substring("content-length:".length()).trim());
            }
        }
        byte[] body = in.readNBytes(length);
        return headText + new String(body, StandardCharsets.UTF_8);
    }

    /** A 200 with a JSON body, keep-alive (no Connection: close). */
    static void writeOk(Socket socket, String json) throws IOException {
        byte[] body = json.getBytes(StandardCharsets.UTF_8);
        OutputStream out = socket.getOutputStream();
        out.write(("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + body.length + "\r\n\r\n")
                .getBytes(StandardCharsets.ISO_8859_1));
        out.write(body);
        out.flush();
    }

    /**
     * Writes the whole answer one byte every {@code intervalMs}, from the status line on; stops by itself when all is
     * written or the client has gone. Blocks until then, so the connection stays open meanwhile.
     */
    void dripFeed(Socket socket, String answer, long intervalMs) {
        byte[] bytes = answer.getBytes(StandardCharsets.ISO_8859_1);
        AtomicInteger next = new AtomicInteger();
        var done = new java.util.concurrent.CompletableFuture<Void>();
        var ticks = drip.scheduleAtFixedRate(() -> {
            int i = next.getAndIncrement();
            try {
                if (i >= bytes.length) {
                    done.complete(null);
                    return;
                }
                socket.getOutputStream().write(bytes[i]);
                socket.getOutputStream().flush();
            } catch (IOException clientGone) {
                done.complete(null);
            }
        }, 0, intervalMs, TimeUnit.MILLISECONDS);
        try {
            done.get(bytes.length * intervalMs + 10_000, TimeUnit.MILLISECONDS);
        } catch (Exception e) {
            // bounded in time whatever happens
        } finally {
            ticks.cancel(false);
        }
    }

    @Override
    public void close() {
        try {
            server.close();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            connections.shutdownNow();
            drip.shutdownNow();
        }
    }
}
