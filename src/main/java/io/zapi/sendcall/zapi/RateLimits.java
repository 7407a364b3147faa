package io.zapi.sendcall.zapi;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.BooleanSupplier;

import javax.sql.DataSource;

import io.github.bucket4j.Bandwidth;
import io.github.bucket4j.Bucket;
import io.github.bucket4j.BucketConfiguration;
import io.github.bucket4j.distributed.BucketProxy;
import io.github.bucket4j.postgresql.Bucket4jPostgreSQL;
import org.apache.hc.client5.http.classic.ExecChain;
import org.apache.hc.core5.http.ClassicHttpRequest;
import org.apache.hc.core5.http.ClassicHttpResponse;
import org.apache.hc.core5.http.HttpException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.zapi.sendcall.runtime.SecretMasking;

/**
 * Each instance's rate limit (zapi.rate-limit, or zapi.instances.<name>.rate-limit): one token bucket (Bucket4j) per
 * instance that has one. Each call to Z-API, retries too, waits for its turn in the HttpClient ({@link #pace}). A lone process
 * keeps its buckets in memory; replicas that share a PostgreSQL ledger keep them in a row of that database each, read
 * and written under SELECT … FOR UPDATE, so that the limit holds for all of them together.
 * <p>
 * A bucket holds one token and gets one back every period / N (greedy refill): calls are released one at a time,
 * spaced at least that far apart whichever thread or replica makes them. A bucket of N tokens refilled N per second
 * would let up to 2N through in one sliding second after an idle spell (the full bucket, then its refill), and a
 * window of permits (Camel's throttle) lets N leave at once, which the time to reach Z-API can bunch into more than N
 * in one of Z-API's seconds. The period is one second plus {@link #MARGIN}, so that N+1 calls span more than a second
 * even when the first one took a little longer than the last to reach Z-API (thread scheduling, the network) or the
 * replicas' clocks differ slightly.
 * <p>
 * On PostgreSQL a token is reserved in one short transaction, then waited for with no connection held. When the
 * database cannot be reached no call goes out: the reservation is tried again (100 ms, doubling to 5 s) until it is
 * made or the module stops.
 */
public final class RateLimits {

    /** Added to the second that N calls are spread over: N+1 calls arriving late or early stay within no second. */
    public static final Duration MARGIN = Duration.ofMillis(100);
    static final String TABLE = "zapi_rate_limit";
    /** Any number, the same for every replica, other than the ledger's: one replica at a time creates the table. */
    private static final long SCHEMA_LOCK = 0x7a617070L;
    private static final long RETRY_FIRST_MS = 100;
    private static final long RETRY_MAX_MS = 5_000;
    private static final Logger LOG = LoggerFactory.getLogger(RateLimits.class);

    /** By the request path of each instance that has a rate limit (its id and token are in it). */
    private final Map<String, Bucket> buckets;
    private final BooleanSupplier stopping;

    private RateLimits(Map<String, Bucket> buckets, BooleanSupplier stopping) {
        this.buckets = buckets;
        this.stopping = stopping;
    }

    /** A lone process: its buckets in memory. */
    public static RateLimits inProcess(List<ZapiInstance> instances) {
        Map<String, Bucket> buckets = new HashMap<>();
        for (ZapiInstance instance : instances) {
            if (instance.rateLimit() > 0) {
                buckets.put(instance.requestPath(), Bucket.builder().addLimit(spaced(instance.rateLimit())).build());
            }
        }
        return new RateLimits(Map.copyOf(buckets), () -> false);
    }

    /** One call at a time, N a second: see the class's comment. */
    private static Bandwidth spaced(int callsPerSecond) {
        return Bandwidth.builder().capacity(1).refillGreedy(callsPerSecond, Duration.ofSeconds(1).plus(MARGIN))
                .build();
    }

    /**
     * The bucket of the replicas sharing this database, its table created if missing.
     *
     * @param stopping true once the module stops: a call still waiting for the database then gives up
     */
    public static RateLimits onPostgres(DataSource database, List<ZapiInstance> instances,
                                        BooleanSupplier stopping) throws SQLException {
        Map<String, Bucket> buckets = new HashMap<>();
        for (ZapiInstance instance : instances) {
            if (instance.rateLimit() > 0) {
                BucketProxy bucket = bucketOf(database, instance);
                createTableAndBucket(database, bucket);
                buckets.put(instance.requestPath(), bucket);
            }
        }
        return new RateLimits(Map.copyOf(buckets), stopping);
    }

    /**
     * The bucket of a Z-API instance at its rate, in the row keyed by both: the instance by its Z-API id, so that
     * replicas naming it differently still share its pace; the rate, so that replicas given different rates (a
     * rolling change) never rewrite each other's bucket; each paces at its own setting until all have the same.
     */
    private static BucketProxy bucketOf(DataSource database, ZapiInstance instance) {
        int callsPerSecond = instance.rateLimit();
        BucketConfiguration configuration = BucketConfiguration.builder().addLimit(spaced(callsPerSecond)).build();
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

    /**
     * The HttpClient's first step (ZapiHttpClient): each call to Z-API waits for its turn among all calls through its
     * instance (all replicas' on a shared ledger); at once when that instance has no rate limit. Taken here rather than
     * in the route, as close as can be to where the call leaves: the pace is the one Z-API sees, whatever the steps
     * before it took (the first call's class loading, a busy machine).
     */
    public ClassicHttpResponse pace(ClassicHttpRequest request, ExecChain.Scope scope, ExecChain chain)
            throws IOException, HttpException {
        Bucket bucket = buckets.get(request.getPath());
        if (bucket != null) {
            try {
                acquire(bucket);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("interrupted while waiting for its Z-API instance's rate limit: the "
                                                 + "call was not placed");
            }
        }
        return chain.proceed(request, scope);
    }

    private void acquire(Bucket bucket) throws InterruptedException {
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
