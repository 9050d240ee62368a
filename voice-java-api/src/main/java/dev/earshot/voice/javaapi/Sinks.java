package dev.earshot.voice.javaapi;

import dev.earshot.voice.model.ReceiveTimeline;
import dev.earshot.voice.audio.MixPolicy;
import dev.earshot.voice.codec.PcmFormat;
import dev.earshot.voice.javaapi.internal.JavaSinkCalls;
import dev.earshot.voice.javaapi.internal.SinkGlue;
import dev.earshot.voice.model.AudioFrame;
import dev.earshot.voice.model.VoiceEvent;
import dev.earshot.voice.model.VoiceTick;
import dev.earshot.voice.sink.AudioSink;
import dev.earshot.voice.sink.GainSink;
import dev.earshot.voice.sink.Listening;
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
import java.util.function.LongFunction;
import java.util.function.Predicate;

/**
 * Ready-made sinks for {@link JavaVoiceConnection#listen}: your own {@link JavaSink}, utterances for speech-to-text,
 * recordings to files (written as they go, aligned so per-user tracks overlay exactly), filters and combinators.
 *
 * <p>Recording sinks write from Earshot's sink threads (file I/O only, never your code); they buffer up to 60 s when
 * the disk stalls. Files are finished when the sink stops: {@link ActiveSink#stop()}, a disconnect, or the end of
 * the connection. WAV headers are rewritten every second of audio, so a killed process leaves playable files.
 * Sinks wanting PCM need the connection to decode (a non-null {@code ReceiveConfig.decode()}); one decoding
 * {@link PcmFormat#STEREO_48K} serves {@link PcmFormat#MONO_16K} sinks too.
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
        if (ticks < 1) throw new IllegalArgumentException("JavaSink.queueTicks() must be positive, was " + ticks);
        PcmFormat wants = sink.wants();
        return new VoiceSink(SinkGlue.executorSink(executor, wants, ticks, new JavaSinkCalls() {
            private @Nullable ReceiveTimeline timeline;

            @Override
            public void start(Listening listening) {
                timeline = listening.getRecording().getTimeline();
            }

            @Override
            public void tick(VoiceTick tick) throws Exception {
                for (AudioFrame f : tick.getSpeaking()) sink.write(new VoiceFrame(f, Objects.requireNonNull(timeline), wants));
            }

            @Override
            public void event(VoiceEvent event) throws Exception {
                ChannelEvent e = Convert.event(event, Objects.requireNonNull(timeline));
                if (e != null) sink.onEvent(e);
            }

            @Override
            public void cleanup() throws Exception {
                sink.cleanup();
            }
        }));
    }

    /**
     * Cuts each speaker's audio into utterances of 16 kHz mono PCM with the default {@link SegmenterSettings} (an
     * utterance ends after 600 ms without audio, is split at 30 s, and is dropped under 200 ms of audio) and hands
     * them to {@code listener} on {@code executor}. Needs a decoding connection (either PCM format).
     */
    public static VoiceSink speechSegments(UtteranceListener listener, Executor executor) {
        return speechSegments(SegmenterSettings.DEFAULT, listener, executor);
    }

    /** {@link #speechSegments(UtteranceListener, Executor)} cut by {@code settings}. */
    public static VoiceSink speechSegments(SegmenterSettings settings, UtteranceListener listener, Executor executor) {
        Objects.requireNonNull(settings, "settings");
        Objects.requireNonNull(listener, "listener");
        Objects.requireNonNull(executor, "executor");
        AudioSink core = SinkGlue.speechSegments(SegmenterSettings.ticks(settings.endSilence()), SegmenterSettings.ticks(settings.maxLength()),
                SegmenterSettings.ticks(settings.minSpeech()), executor,
                (user, u, timeline) -> listener.onUtterance(new Utterance(user, u.getKey(), u.getStartTick(), u.getEndTick(),
                        timeline.instantOf(u.getStartTick()), timeline.instantOf(u.getEndTick() + 1), u.getRtpTimestamp(), u.getPcm())));
        return new VoiceSink(core);
    }

    /** One aligned WAV per user in {@code dir}, named {@code user-<id>.wav}, 48 kHz stereo. */
    public static VoiceSink perUserWav(Path dir) {
        return perUserWav(dir, PcmFormat.STEREO_48K, null);
    }

    /** One aligned WAV per user in {@code dir} in {@code format}; {@code name} maps a user id to a file name (null: {@code user-<id>.wav}). */
    public static VoiceSink perUserWav(Path dir, PcmFormat format, @Nullable LongFunction<String> name) {
        return new VoiceSink(SinkGlue.perUserWav(dir, format, FLUSH_MILLIS, name));
    }

    /** One aligned raw s16le PCM file per user in {@code dir}; {@code name} as for WAV (default {@code user-<id>.pcm}). */
    public static VoiceSink perUserPcm(Path dir, PcmFormat format, @Nullable LongFunction<String> name) {
        return new VoiceSink(SinkGlue.perUserPcm(dir, format, FLUSH_MILLIS, name));
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
        return mixedWav(file, PcmFormat.STEREO_48K, new MixPolicy());
    }

    /** The combined track per {@code mix} (who is mixed, at what gain) as one continuous WAV in {@code format}. */
    public static VoiceSink mixedWav(Path file, PcmFormat format, MixPolicy mix) {
        return new VoiceSink(SinkGlue.mixedWav(file, format, mix, FLUSH_MILLIS));
    }

    /**
     * The combined track encoded by ffmpeg into the format of {@code file}'s extension (e.g. {@code .mp3}), with extra
     * {@code outputArgs}. Throws {@code FfmpegNotFoundException} when {@code executable} is not installed.
     */
    public static VoiceSink mixedFfmpeg(Path file, PcmFormat format, MixPolicy mix, List<String> outputArgs, String executable) {
        return new VoiceSink(SinkGlue.mixedFfmpeg(file, format, mix, List.copyOf(outputArgs), executable));
    }

    /** Only the audio of {@code users} reaches {@code destination} (time still flows, so tracks stay aligned). */
    public static VoiceSink onlyUsers(VoiceSink destination, Set<Long> users) {
        return new VoiceSink(new UserFilter(destination.core(), Set.copyOf(users)));
    }

    /** Only frames for which {@code predicate} holds reach {@code destination}. */
    public static VoiceSink filter(VoiceSink destination, Predicate<VoiceFrame> predicate) {
        Objects.requireNonNull(predicate, "predicate");
        PcmFormat wants = destination.wants();
        return new VoiceSink(SinkGlue.filter(destination.core(), (frame, timeline) -> predicate.test(new VoiceFrame(frame, timeline, wants))));
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
        if (sinks.length == 0) throw new IllegalArgumentException("tee needs at least one sink");
        List<AudioSink> cores = new ArrayList<>(sinks.length);
        for (VoiceSink s : sinks) cores.add(s.core());
        return new VoiceSink(new TeeSink(cores));
    }
}
