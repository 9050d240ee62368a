package dev.earshot.voice.javaapi;

import dev.earshot.voice.javaapi.internal.SinkGlue;
import dev.earshot.voice.send.OpusAudioSource;

import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;

/** Audio to play into a channel with {@link JavaVoiceConnection#play}; each source plays once. */
public final class SendSource {
    private final AtomicReference<OpusAudioSource> core;

    private SendSource(OpusAudioSource core) {
        this.core = new AtomicReference<>(core);
    }

    /** An Ogg Opus file (48 kHz, as Discord wants), sent without re-encoding. Reads the file now. */
    public static SendSource oggOpus(Path file) {
        return new SendSource(SinkGlue.oggOpusSource(file));
    }

    /** A sine tone of {@code frequencyHz} for {@code duration} at {@code amplitude} (0 to 1) of full scale. */
    public static SendSource tone(double frequencyHz, Duration duration, double amplitude) {
        return new SendSource(SinkGlue.toneSource(frequencyHz, duration, amplitude));
    }

    OpusAudioSource take() {
        OpusAudioSource s = core.getAndSet(null);
        if (s == null) throw new IllegalStateException("this source has been played already");
        return s;
    }
}
