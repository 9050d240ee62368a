package dev.earshot.voice.javaapi;

import dev.earshot.voice.codec.PcmFormat;
import dev.earshot.voice.javaapi.internal.CoreConfigs;
import dev.earshot.voice.javaapi.internal.SinkGlue;
import dev.earshot.voice.model.AudioFrame;
import dev.earshot.voice.sink.AudioSink;
import dev.earshot.voice.sink.GainSink;
import dev.earshot.voice.sink.TeeSink;
import dev.earshot.voice.sink.UserFilter;
import org.jspecify.annotations.Nullable;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.Executor;
import java.util.function.BiPredicate;
import java.util.function.LongFunction;

/**
 * Ready-made sinks for {@link JavaVoiceConnection#listen}: your own {@link JavaSink}, recordings to files (written as
 * they go, aligned so per-user tracks overlay exactly), filters and combinators.
 *
 * <p>Recording sinks write from Earshot's sink threads (file I/O only, never your code); they buffer up to 60 s when
 * the disk stalls. Files are finished when the sink stops: {@link ActiveSink#stop()}, a disconnect, or the end of
 * the connection. WAV headers are rewritten every second of audio, so a killed process leaves playable files.
 */
public final class Sinks {
    private static final long FLUSH_MILLIS = 1000;

    private Sinks() {
    }

    /** Runs {@code sink} with its methods called on {@code executor}, one at a time, in order. */
    public static VoiceSink of(JavaSink sink, Executor executor) {
        Objects.requireNonNull(sink, "sink");
        Objects.requireNonNull(executor, "executor");
        int ticks = sink.queueTicks();
        if (ticks < 1) throw new IllegalArgumentException("queueTicks must be positive, was " + ticks);
        return new VoiceSink(new SinkGlueExecutorSink(sink, executor, ticks).build());
    }

    /** One aligned WAV per user in {@code dir}, named {@code user-<id>.wav}, 48 kHz stereo. */
    public static VoiceSink perUserWav(Path dir) {
        return perUserWav(dir, AudioFormat.STEREO_48K, null);
    }

    /** One aligned WAV per user in {@code dir} in {@code format}; {@code name} maps a user id to a file name (null: {@code user-<id>.wav}). */
    public static VoiceSink perUserWav(Path dir, AudioFormat format, @Nullable LongFunction<String> name) {
        return new VoiceSink(SinkGlue.perUserWav(dir, pcm(format), FLUSH_MILLIS, name));
    }

    /** One aligned raw s16le PCM file per user in {@code dir}; {@code name} as for WAV (default {@code user-<id>.pcm}). */
    public static VoiceSink perUserPcm(Path dir, AudioFormat format, @Nullable LongFunction<String> name) {
        return new VoiceSink(SinkGlue.perUserPcm(dir, pcm(format), FLUSH_MILLIS, name));
    }

    /** One aligned Ogg Opus file per user in {@code dir} ({@code user-<id>.opus}), the received packets without re-encoding. */
    public static VoiceSink perUserOgg(Path dir) {
        return perUserOgg(dir, null);
    }

    /** {@link #perUserOgg(Path)} with file names from {@code name} (null: the default). */
    public static VoiceSink perUserOgg(Path dir, @Nullable LongFunction<String> name) {
        return new VoiceSink(SinkGlue.perUserOgg(dir, name));
    }

    /** The combined track of everyone as one continuous WAV, 48 kHz stereo. */
    public static VoiceSink mixedWav(Path file) {
        return mixedWav(file, AudioFormat.STEREO_48K, new MixSettings());
    }

    /** The combined track per {@code mix} as one continuous WAV in {@code format}. */
    public static VoiceSink mixedWav(Path file, AudioFormat format, MixSettings mix) {
        return new VoiceSink(SinkGlue.mixedWav(file, pcm(format), mix.core(), FLUSH_MILLIS));
    }

    /**
     * The combined track encoded by ffmpeg into the format of {@code file}'s extension (e.g. {@code .mp3}), with extra
     * {@code outputArgs}. Throws {@code FfmpegNotFoundException} when {@code executable} is not installed.
     */
    public static VoiceSink mixedFfmpeg(Path file, AudioFormat format, MixSettings mix, List<String> outputArgs, String executable) {
        return new VoiceSink(SinkGlue.mixedFfmpeg(file, pcm(format), mix.core(), List.copyOf(outputArgs), executable));
    }

    /** Only the audio of {@code users} reaches {@code destination} (time still flows, so tracks stay aligned). */
    public static VoiceSink onlyUsers(VoiceSink destination, Set<Long> users) {
        return new VoiceSink(new UserFilter(destination.core(), Set.copyOf(users)));
    }

    /** Only frames for which {@code predicate} (user id or null, frame) holds reach {@code destination}. */
    public static VoiceSink filter(VoiceSink destination, BiPredicate<@Nullable Long, VoiceFrame> predicate) {
        Objects.requireNonNull(predicate, "predicate");
        BiPredicate<@Nullable Long, AudioFrame> onCore = (user, frame) -> predicate.test(user, new VoiceFrame(frame));
        return new VoiceSink(SinkGlue.filter(destination.core(), onCore));
    }

    /**
     * Everything for {@code duration} of receive-clock time (from the first tick, or the first audio when
     * {@code startOnFirstAudio}), then the sink ends normally and its files are finished.
     */
    public static VoiceSink timed(VoiceSink destination, Duration duration, boolean startOnFirstAudio) {
        return new VoiceSink(SinkGlue.timed(destination.core(), duration, startOnFirstAudio));
    }

    /** Scales PCM by {@code gain} (1.0 unchanged, at most 8.0) on its way to {@code destination}, which must want PCM. */
    public static VoiceSink gain(VoiceSink destination, float gain) {
        return new VoiceSink(new GainSink(destination.core(), gain));
    }

    /** Gives everything to each of {@code sinks} in order; a failure in one ends all (listen separately to isolate). */
    public static VoiceSink tee(VoiceSink... sinks) {
        List<AudioSink> cores = new ArrayList<>(sinks.length);
        for (VoiceSink s : sinks) cores.add(s.core());
        return new VoiceSink(new TeeSink(cores));
    }

    /**
     * Cuts each speaker's audio into utterances of 16 kHz mono PCM and hands them to {@code listener} on
     * {@code executor}: an utterance ends after 600 ms without audio, is split at 30 s, and is dropped under 200 ms.
     * {@code input} is the connection's decode format ({@link AudioFormat#STEREO_48K} is converted).
     */
    public static VoiceSink speechSegments(AudioFormat input, UtteranceListener listener, Executor executor) {
        Objects.requireNonNull(listener, "listener");
        return new VoiceSink(SinkGlue.speechSegments(pcm(input), 30, 1500, 10, executor,
                (user, u) -> listener.onUtterance(user, new Utterance(u.getKey(), u.getStartTick(), u.getEndTick(), u.getPcm()))));
    }

    static PcmFormat pcm(AudioFormat format) {
        PcmFormat f = CoreConfigs.pcmFormat(format);
        if (f == null) throw new IllegalArgumentException("this sink needs PCM, not " + format);
        return f;
    }
}
