package dev.earshot.voice.javaapi;

import dev.earshot.voice.javaapi.internal.ConnectionRuntime;

import java.util.concurrent.CompletableFuture;

/** One {@link JavaVoiceConnection#play}: wait for it, stop it, ask whether it still runs. */
public final class Playback {
    private final dev.earshot.voice.send.Playback core;
    private final CompletableFuture<Void> done;

    Playback(ConnectionRuntime runtime, dev.earshot.voice.send.Playback core) {
        this.core = core;
        this.done = runtime.done(core).thenApply(v -> null);
    }

    /** True until the frames, the silence tail and the speaking-off update are done. */
    public boolean isActive() {
        return core.isActive();
    }

    /** Stops taking frames (the silence tail still follows); returns at once. */
    public void stop() {
        core.stop();
    }

    /**
     * Completes normally when the playback has finished, was stopped or replaced, or the connection ended;
     * exceptionally with the error when its source failed (an unreadable file). A new copy each call.
     */
    public CompletableFuture<Void> done() {
        return done.copy();
    }
}
