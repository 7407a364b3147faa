package io.zapi.sendcall;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Real mounts for tests that need a folder the module cannot write: we run as root, so chmod stops nothing; a
 * read-only bind mount or a small tmpfs does. Register as {@code @RegisterExtension final Mounts mounts = new
 * Mounts();}: whatever it mounted is unmounted after each test, the last mounted first.
 */
final class Mounts implements AfterEachCallback {

    /** Far more than any test's tmpfs: a file system that takes this much was not the small one meant. */
    private static final int MOST_BLOCKS = 16_384;

    private final List<Path> mounted = new ArrayList<>();

    /** Bind-mounts the folder onto itself, read-only. */
    void readOnly(Path folder) throws Exception {
        run("mount", "--bind", folder.toString(), folder.toString());
        mounted.add(folder);
        run("mount", "-o", "remount,bind,ro", folder.toString());
    }

    /** Makes a folder given to {@link #readOnly} writable again (it stays mounted until the test ends). */
    void writable(Path folder) throws Exception {
        run("mount", "-o", "remount,bind,rw", folder.toString());
    }

    /** Mounts a tmpfs of this size ("64k", "512k") on the folder. */
    void tmpfs(Path folder, String size) throws Exception {
        run("mount", "-t", "tmpfs", "-o", "size=" + size, "tmpfs", folder.toString());
        mounted.add(folder);
    }

    @Override
    public void afterEach(ExtensionContext context) throws Exception {
        // lazily: a module that still holds a file there must not keep the mount (and the next test) stuck
        for (int i = mounted.size() - 1; i >= 0; i--) {
            run("umount", "-l", mounted.get(i).toString());
        }
        mounted.clear();
    }

    /** Writes to the file until its file system says it is full; fails if it never does. */
    static void fill(Path file) throws IOException {
        byte[] block = new byte[4096];
        try (OutputStream out = Files.newOutputStream(file)) {
            for (int i = 0; i < MOST_BLOCKS; i++) {
                out.write(block);
                out.flush();
            }
        } catch (IOException full) {
            assertThat(full.getMessage()).contains("No space left");
            return;
        }
        throw new AssertionError("the file system did not fill up");
    }

    /** Runs a command, asserting that it exits with 0 (its output in the message when it does not). */
    static void run(String... command) throws Exception {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes());
        assertThat(process.waitFor()).as(String.join(" ", command) + ": " + output).isZero();
    }
}
