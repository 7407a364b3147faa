package io.zapi.sendcall;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Map;
import java.util.stream.Stream;

import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/** One running module and its Z-API stand-in for a whole test class: {@code @RegisterExtension static final}. */
final class ModuleUnderTest implements BeforeAllCallback, AfterAllCallback {

    private final Map<String, String> settings;
    private ZapiStub zapi;
    private RunningModule module;
    private Path dataDir;

    ModuleUnderTest() {
        this(Map.of());
    }

    ModuleUnderTest(Map<String, String> settings) {
        this.settings = settings;
    }

    @Override
    public void beforeAll(ExtensionContext context) throws IOException {
        dataDir = Files.createTempDirectory("zapi-module");
        zapi = new ZapiStub();
        module = RunningModule.start(zapi.baseUrl(), dataDir, settings);
    }

    @Override
    public void afterAll(ExtensionContext context) throws IOException {
        try {
            module.close();
            zapi.close();
        } finally {
            try (Stream<Path> files = Files.walk(dataDir)) {
                files.sorted(Comparator.reverseOrder()).forEach(path -> path.toFile().delete());
            }
        }
    }

    ZapiStub zapi() {
        return zapi;
    }

    RunningModule module() {
        return module;
    }
}
