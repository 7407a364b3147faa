package io.zapi.sendcall.zapi;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.BooleanSupplier;

import javax.sql.DataSource;

import io.github.bucket4j.BucketConfiguration;
import io.github.bucket4j.distributed.BucketProxy;
import io.github.bucket4j.postgresql.Bucket4jPostgreSQL;
import org.apache.camel.Exchange;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.zapi.sendcall.runtime.SecretMasking;

/**
 * Each instance's rate limit (zapi.rate-limit, or zapi.instances.<name>.rate-limit) for all replicas that share a
 * PostgreSQL ledger: one token bucket (Bucket4j) per instance, kept in a row of that database, read and written under
 * SELECT … FOR UPDATE. The call-zapi route asks {@link #acquire} before each call (retries too) when
 * {@link #isShared()}; a lone process keeps Camel's throttle, one per instance.
 * <p>
 * A bucket holds one token and gets one back every period / N (greedy refill): calls are released one at a time,
 * spaced at least that far apart whichever replica makes them. A bucket of N tokens refilled N per second would let
 * up to 2N through in one sliding second after an idle spell (the full bucket, then its refill). The period is one
 * second plus {@link #MARGIN}, so that N+1 calls span more than a second even when the first one took a little longer
 * than the last to reach Z-API (thread scheduling, the network) or the replicas' clocks differ slightly.
 * <p>
 * A token is reserved in one short transaction, then waited for with no connection held. When the database cannot be
 * reached no call goes out: the reservation is tried again (100 ms, doubling to 5 s) until it is made or the module
 * stops.
 */
public final class GlobalRateLimit {

    /** Added to the second that N calls are spread over: N+1 calls arriving late or early stay within no second. */
    public static final Duration MARGIN = Duration.ofMillis(100);
    static final String TABLE = "zapi_rate_limit";
    /** Any number, the same for every replica, other than the ledger's: one replica at a time creates the table. */
    private static final long SCHEMA_LOCK = 0x7a617070L;
    private static final long RETRY_FIRST_MS = 100;
    private static final long RETRY_MAX_MS = 5_000;
    private static final Logger LOG = LoggerFactory.getLogger(GlobalRateLimit.class);

    /** By instance name: the instances with a rate limit. */
    private final Map<String, BucketProxy> buckets;
    private final BooleanSupplier stopping;

    private GlobalRateLimit(Map<String, BucketProxy> buckets, BooleanSupplier stopping) {
        this.buckets = buckets;
        this.stopping = stopping;
    }

    /** No shared bucket: a lone process (Camel's throttle does the rate limits), or no limit at all. */
    public static GlobalRateLimit notShared() {
        return new GlobalRateLimit(Map.of(), () -> false);
    }

    /**
     * The bucket of the replicas sharing this database, its table created if missing.
     *
     * @param stopping true once the module stops: a call still waiting for the database then gives up
     */
    public static GlobalRateLimit onPostgres(DataSource database, List<ZapiInstance> instances,
                                             BooleanSupplier stopping) throws SQLException {
        Map<String, BucketProxy> buckets = new HashMap<>();
        for (ZapiInstance instance : instances) {
            if (instance.rateLimit() > 0) {
                BucketProxy bucket = bucketOf(database, instance);
                createTableAndBucket(database, bucket);
                buckets.put(instance.name(), bucket);
            }
        }
        return new GlobalRateLimit(Map.copyOf(buckets), stopping);
    }

    /**
     * The bucket of a Z-API instance at its rate, in the row keyed by both: the instance by its Z-API id, so that
     * replicas naming it differently still share its pace; the rate, so that replicas given different rates (a
     * rolling change) never rewrite each other's bucket; each paces at its own setting until all have the same.
     */
    private static BucketProxy bucketOf(DataSource database, ZapiInstance instance) {
        int callsPerSecond = instance.rateLimit();
        BucketConfiguration configuration = BucketConfiguration.builder()
                .addLimit(limit -> limit.capacity(1).refillGreedy(callsPerSecond, Duration.ofSeconds(1).plus(MARGIN)))
                .build();
        long key = UUID.nameUUIDFromBytes((instance.instanceId() + "\n" + callsPerSecond)
                .getBytes(StandardCharsets.UTF_8)).getMostSignificantBits();
        return Bucket4jPostgreSQL.selectForUpdateBasedBuilder(database).table(TABLE).build()
                .builder().build(key, () -> configuration);
    }

    private static void createTableAndBucket(DataSource database, BucketProxy bucket) throws SQLException {
        try (Connection connection = database.getConnection(); Statement sql = connection.createStatement()) {
            connection.setAutoCommit(false);
            // replicas starting at once: CREATE TABLE IF NOT EXISTS can race in PostgreSQL's catalog, and so can the
            // bucket's first state (each could find the row empty and start a full bucket of its own); one replica at
            // a time does both, under a lock held to this commit, before any call asks for a token
            sql.execute("SELECT pg_advisory_xact_lock(" + SCHEMA_LOCK + ")");
            sql.execute("CREATE TABLE IF NOT EXISTS " + TABLE + " (id BIGINT PRIMARY KEY, state BYTEA)");
            connection.commit();
            sql.execute("SELECT pg_advisory_xact_lock(" + SCHEMA_LOCK + ")");
            bucket.getAvailableTokens();
            connection.commit();
        }
    }

    /** True when calls go through {@link #acquire}: an instance has a rate limit and the ledger is on PostgreSQL. */
    public boolean isShared() {
        return !buckets.isEmpty();
    }

    /**
     * Returns when this call may go to Z-API: its turn among all replicas' calls through its instance (property
     * {@link ZapiInstances#PROPERTY}); at once when that instance has no rate limit.
     */
    public void acquire(Exchange exchange) throws InterruptedException {
        BucketProxy bucket = buckets.get(exchange.getProperty(ZapiInstances.PROPERTY, ZapiInstance.class).name());
        if (bucket == null) {
            return;
        }
        long retryMs = RETRY_FIRST_MS;
        while (true) {
            try {
                bucket.asBlocking().consume(1);
                return;
            } catch (InterruptedException e) {
                throw e;
            } catch (RuntimeException e) {
                if (stopping.getAsBoolean()) {
                    throw new RateLimitUnavailableException("The module is stopping and the shared rate limit's "
                                                            + "database cannot be reached: the call was not placed", e);
                }
                // never a call without its token: a lost database holds the calls back, it does not let them through
                LOG.warn("The shared rate limit cannot be reached in the ledger database ({}): the call waits, "
                         + "trying again in {} ms", rootMessage(e), retryMs);
                Thread.sleep(retryMs);
                retryMs = Math.min(retryMs * 2, RETRY_MAX_MS);
            }
        }
    }

    private static String rootMessage(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        return SecretMasking.mask(root.getClass().getSimpleName() + ": " + root.getMessage());
    }
}
