package dev.earshot.voice.javaapi;

import dev.earshot.voice.codec.PcmFormat;
import dev.earshot.voice.javaapi.internal.CoreSinks;
import dev.earshot.voice.sink.AudioFormat;
import dev.earshot.voice.sink.AudioSink;
import org.jspecify.annotations.Nullable;

/**
 * A sink to give {@link JavaVoiceConnection#listen}: a recording to files, a filter around another sink, your own
 * {@link JavaSink}... Made by {@link Sinks}. A sink is listened to once.
 */
public final class VoiceSink {
    static {
        // Lets Earshot's modules built on this face (voice-transcribe...) offer their Kotlin sinks to Java callers.
        CoreSinks.install(VoiceSink::new, sink -> ((VoiceSink) sink).core);
    }

    private final AudioSink core;

    VoiceSink(AudioSink core) {
        this.core = core;
    }

    AudioSink core() {
        return core;
    }

    /** The PCM format this sink wants, or null for Opus only. */
    @Nullable PcmFormat wants() {
        return core.getWants() instanceof AudioFormat.Pcm pcm ? pcm.getFormat() : null;
    }

    @Override
    public String toString() {
        return "VoiceSink(" + core.getClass().getSimpleName() + ")";
    }
}
