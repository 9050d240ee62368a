package dev.earshot.voice.javaapi;

import dev.earshot.voice.javaapi.internal.ConnectionRuntime;
import dev.earshot.voice.sink.Listening;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** A sink that is listening on a connection ({@link JavaVoiceConnection#listen}): stop it, or wait for its end. */
public final class ActiveSink implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ActiveSink.class);

    private final ConnectionRuntime runtime;
    private final Listening listening;
    private final CompletableFuture<@Nullable Throwable> finished;
    private final Duration closeTimeout;

    ActiveSink(ConnectionRuntime runtime, Listening listening, CompletableFuture<@Nullable Throwable> finished, Duration closeTimeout) {
        this.runtime = runtime;
        this.listening = listening;
        this.finished = finished;
        this.closeTimeout = closeTimeout;
    }

    /** Whether the sink still receives. */
    public boolean isActive() {
        return listening.isActive();
    }

    /** Ticks dropped from this sink's queue because it fell behind. */
    public long dropped() {
        return listening.getDropped();
    }

    /**
     * Completes once the sink has ended and cleaned up (files finished): with null when it was stopped, ended itself
     * (a time limit) or the connection was disconnected; with the error when the sink failed or the receiver stopped
     * on an error. Never completes exceptionally.
     */
    public CompletableFuture<@Nullable Throwable> finished() {
        return finished.copy();
    }

    /** Stops this sink; completes when its cleanup is done. */
    public CompletableFuture<Void> stop() {
        return runtime.stop(listening).thenApply(v -> null);
    }

    /** {@link #stop()} and waits for it, at most {@link VoiceConfig#closeTimeout()}. Keeps the interrupt status. */
    @Override
    public void close() {
        try {
            stop().get(closeTimeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (TimeoutException e) {
            LOG.warn("sink still stopping after {}; it goes on in the background", closeTimeout);
        } catch (ExecutionException e) {
            LOG.warn("stopping a sink failed", e.getCause());
        }
    }
}
