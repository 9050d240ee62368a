package dev.earshot.voice.javaapi;

import dev.earshot.voice.javaapi.internal.ConnectionRuntime;
import dev.earshot.voice.sink.Listening;
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
    private final CompletableFuture<Void> finished;

    ActiveSink(ConnectionRuntime runtime, Listening listening, CompletableFuture<Void> finished) {
        this.runtime = runtime;
        this.listening = listening;
        this.finished = finished;
    }

    /** Whether the sink still receives. */
    public boolean isActive() {
        return listening.isActive();
    }

    /** Ticks dropped from this sink's queue because it fell behind. */
    public long dropped() {
        return listening.getDropped();
    }

    /** The first tick this sink receives (the connection's next tick when it was listened). */
    public long listenTick() {
        return listening.getListenTick();
    }

    /**
     * Completes once the sink has ended and cleaned up (files finished): normally when it was stopped, ended itself
     * (a time limit) or the connection ended; exceptionally with the error when the sink failed or the receiver
     * stopped on an error. A new copy each call: cancelling it changes nothing.
     */
    public CompletableFuture<Void> finished() {
        return finished.copy();
    }

    /**
     * Stops this sink at the last tick received: it handles what it has queued up to that tick, then cleans up.
     * Completes normally when that is done, whether the sink had failed or not ({@link #finished()} tells).
     */
    public CompletableFuture<Void> stop() {
        return runtime.stop(listening).thenApply(v -> null);
    }

    /** {@link #stop()} and waits for it, at most 15 s. Keeps the interrupt status. */
    @Override
    public void close() {
        close(JavaVoiceConnection.CLOSE_TIMEOUT);
    }

    /** {@link #stop()} and waits for it, at most {@code timeout}. Keeps the interrupt status. */
    public void close(Duration timeout) {
        try {
            stop().get(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (TimeoutException e) {
            LOG.warn("sink still stopping after {}; it goes on in the background", timeout);
        } catch (ExecutionException e) {
            LOG.warn("stopping a sink failed", e.getCause());
        }
    }
}
