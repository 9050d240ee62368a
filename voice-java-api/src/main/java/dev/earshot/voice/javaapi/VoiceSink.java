package dev.earshot.voice.javaapi;

import dev.earshot.voice.sink.AudioSink;

/**
 * A sink to give {@link JavaVoiceConnection#listen}: a recording to files, a filter around another sink, your own
 * {@link JavaSink}... Made by {@link Sinks}. A sink is listened to once.
 */
public final class VoiceSink {
    private final AudioSink core;

    VoiceSink(AudioSink core) {
        this.core = core;
    }

    AudioSink core() {
        return core;
    }

    @Override
    public String toString() {
        return "VoiceSink(" + core.getClass().getSimpleName() + ")";
    }
}
