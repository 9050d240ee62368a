package dev.earshot.voice.javaapi;

import dev.earshot.voice.codec.PcmFormat;
import org.jspecify.annotations.Nullable;

/**
 * A sink written in Java: blocking methods, called on the executor given to {@link Sinks#of(JavaSink, java.util.concurrent.Executor)},
 * one at a time and in order. Only {@link #write} is required. An exception thrown from any method ends this sink
 * only: {@link #cleanup()} runs and {@link ActiveSink#finished()} completes exceptionally with the error.
 */
@FunctionalInterface
public interface JavaSink {
    /** One speaker's 20 ms frame; {@link VoiceFrame#userId()} is {@link UserIds#UNKNOWN} while the SSRC has no known user. */
    void write(VoiceFrame frame) throws Exception;

    /** An event, in order with the audio. */
    default void onEvent(ChannelEvent event) throws Exception {
    }

    /** Called once when the sink stops, normally or by an error: close files, flush. */
    default void cleanup() throws Exception {
    }

    /**
     * The PCM this sink wants, or null for the Opus packets only ({@link VoiceFrame#pcm()} may then be null). Default
     * {@link PcmFormat#STEREO_48K}. PCM needs the connection to decode; a connection decoding 48 kHz stereo converts
     * to {@link PcmFormat#MONO_16K} for a sink that wants it.
     */
    default @Nullable PcmFormat wants() {
        return PcmFormat.STEREO_48K;
    }

    /**
     * Ticks that may wait for this sink before the oldest is dropped (and counted in {@link ActiveSink#dropped()}).
     * Default 50 (1 s), for live uses; a recording may want 3000 (60 s).
     */
    default int queueTicks() {
        return 50;
    }
}
