package dev.earshot.voice.javaapi;

import org.jspecify.annotations.Nullable;

/**
 * A sink written in Java: blocking methods, called on the executor given to {@link Sinks#of(JavaSink, java.util.concurrent.Executor)},
 * one at a time and in order. Only {@link #write} is required. An exception thrown from any method ends this sink
 * only: {@link #cleanup()} runs and {@link ActiveSink#finished()} completes with the error.
 */
@FunctionalInterface
public interface JavaSink {
    /** One speaker's 20 ms frame; {@code userId} is null while the speaker's SSRC has no known user. */
    void write(@Nullable Long userId, VoiceFrame frame) throws Exception;

    /** An event, in order with the audio. */
    default void onEvent(ChannelEvent event) throws Exception {
    }

    /** Called once when the sink stops, normally or by an error: close files, flush. */
    default void cleanup() throws Exception {
    }

    /** The audio this sink wants; PCM needs the connection to decode to that format. Default {@link AudioFormat#STEREO_48K}. */
    default AudioFormat wants() {
        return AudioFormat.STEREO_48K;
    }

    /**
     * Ticks that may wait for this sink before the oldest is dropped (and counted in {@link ActiveSink#dropped()}).
     * Default 50 (1 s), for live uses; a recording may want 3000 (60 s).
     */
    default int queueTicks() {
        return 50;
    }
}
