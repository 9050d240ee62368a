package dev.earshot.voice.javaapi;

import dev.earshot.voice.ReceiveConfig;
import dev.earshot.voice.connection.VoiceConnectionConfig;

import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.BooleanSupplier;

/** Shared bits of the Java tests. */
final class TestSupport {
    /** Real sockets on a loaded machine: waits are generous, and end as soon as the awaited thing happens. */
    static final long WAIT_SECONDS = 30;

    private TestSupport() {
    }

    /** Settings for the local test server: plain ws://, transport-only, quick retries, deep tick queues. */
    static VoiceConnectionConfig.Builder testConfig() {
        return testConfig(ReceiveConfig.builder());
    }

    /** {@link #testConfig()} with receive settings from {@code receive} (its tick queue deepened). */
    static VoiceConnectionConfig.Builder testConfig(ReceiveConfig.Builder receive) {
        return VoiceConnectionConfig.builder().secure(false).maxDaveProtocolVersion(0).reconnectDelay(Duration.ofMillis(100))
                .receive(receive.tickQueueCapacity(3000).build());
    }

    /** A single-thread executor whose thread is called {@code name}. */
    static ExecutorService namedExecutor(String name) {
        return Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        });
    }

    /** Waits until {@code condition} holds, checking every 10 ms, for at most {@link #WAIT_SECONDS}; false on timeout. */
    static boolean eventually(BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(WAIT_SECONDS).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) return false;
            Thread.sleep(10);
        }
        return true;
    }
}
