package io.zapi.sendcall;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;

import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import static org.assertj.core.api.Assertions.fail;

/**
 * The real PostgreSQL of this machine for the tests of a shared ledger: a database of its own for each test that asks,
 * dropped after the class. Registered as {@code @RegisterExtension static final PostgresDatabases databases}; the class
 * fails (never skips) when PostgreSQL is not there, saying how to get it: {@code .ci/postgres.sh} installs, starts and
 * prepares it (role zapi, password zapi-test, CREATEDB, 127.0.0.1:5432).
 */
final class PostgresDatabases implements BeforeAllCallback, AfterAllCallback {

    static final String ADMIN_URL = "jdbc:postgresql://127.0.0.1:5432/postgres";
    static final String USER = "zapi";
    static final String PASSWORD = "zapi-test";

    private final List<String> created = new CopyOnWriteArrayList<>();

    @Override
    public void beforeAll(ExtensionContext context) {
        try (Connection admin = DriverManager.getConnection(ADMIN_URL, USER, PASSWORD)) {
            if (!admin.isValid(5)) {
                fail("PostgreSQL on 127.0.0.1:5432 does not answer: run `bash .ci/postgres.sh` (as root)");
            }
        } catch (SQLException e) {
            fail("PostgreSQL is not reachable on 127.0.0.1:5432 as role zapi (" + e.getMessage() + "): run "
                 + "`bash .ci/postgres.sh` (as root) to install, start and prepare it");
        }
    }

    @Override
    public void afterAll(ExtensionContext context) throws SQLException {
        for (String name : created) {
            admin("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
        }
    }

    /** A new database owned by role zapi, dropped after the class; its JDBC URL. */
    String create() throws SQLException {
        String name = "zapi_test_" + UUID.randomUUID().toString().replace("-", "");
        admin("CREATE DATABASE " + name);
        created.add(name);
        return "jdbc:postgresql://127.0.0.1:5432/" + name;
    }

    /** The database's name in its URL. */
    static String nameOf(String url) {
        return url.substring(url.lastIndexOf('/') + 1);
    }

    static void admin(String... statements) throws SQLException {
        try (Connection admin = DriverManager.getConnection(ADMIN_URL, USER, PASSWORD);
             Statement statement = admin.createStatement()) {
            for (String sql : statements) {
                statement.execute(sql);
            }
        }
    }

    /** The settings of one replica on the shared ledger at this URL. */
    static Map<String, String> replica(String url, String nodeId) {
        return Map.of("zapi.ledger.url", url, "zapi.ledger.username", USER, "zapi.ledger.password", PASSWORD,
                "zapi.node-id", nodeId);
    }
}
