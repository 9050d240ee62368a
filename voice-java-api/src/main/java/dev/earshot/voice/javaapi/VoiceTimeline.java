package dev.earshot.voice.javaapi;

import dev.earshot.voice.model.ReceiveTimeline;
import dev.earshot.voice.model.RtpAnchor;

import java.time.Instant;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * The connection's one timeline, shared by every listener, publisher and sink: tick {@code n} covers the 20 ms that
 * start {@code n * 20 ms} after the {@link #origin()}. Maps ticks to wall-clock {@link Instant}s and, per speaker
 * (SSRC), to the RTP timestamps the speaker stamped on its audio, so transcripts and external tools can carry true
 * times. Before the receive clock starts (just after connecting) {@link #isStarted()} is false and the origin-based
 * methods throw {@link IllegalStateException}. Thread-safe.
 */
public final class VoiceTimeline {
    private static final long SAMPLES_PER_TICK = 960;

    private final ReceiveTimeline core;

    VoiceTimeline(ReceiveTimeline core) {
        this.core = core;
    }

    /** Whether the receive clock has started, so that {@link #origin()} is known. */
    public boolean isStarted() {
        return core.isStarted();
    }

    /** Wall-clock time of the start of tick 0. */
    public Instant origin() {
        return core.getOrigin();
    }

    /** The last tick emitted so far, or -1 before the first. */
    public long lastTick() {
        return core.getLastTick();
    }

    /** Wall-clock time of the start of {@code tick}. */
    public Instant instantOf(long tick) {
        return core.instantOf(tick);
    }

    /** The tick containing {@code instant} (ticks before the origin are negative). */
    public long tickAt(Instant instant) {
        return core.tickAt(instant);
    }

    /**
     * The RTP timestamp (32-bit, 48 kHz) that {@code ssrc}'s audio at the start of {@code tick} has, by the speaker's
     * latest relation between RTP time and ticks; empty when that SSRC has not been heard.
     */
    public OptionalLong rtpTimestampAt(long ssrc, long tick) {
        Long ts = core.rtpTimestampAt(ssrc, tick);
        return ts == null ? OptionalLong.empty() : OptionalLong.of(ts);
    }

    /**
     * The tick in which {@code ssrc}'s sample stamped {@code rtpTimestamp} plays (timestamps within about 12 h of the
     * speaker's latest anchor are placed correctly across the 32-bit wrap); empty when that SSRC has not been heard.
     */
    public OptionalLong tickOfRtpTimestamp(long ssrc, long rtpTimestamp) {
        Long tick = core.tickOfRtpTimestamp(ssrc, rtpTimestamp);
        return tick == null ? OptionalLong.empty() : OptionalLong.of(tick);
    }

    /**
     * The wall-clock time at which {@code ssrc}'s sample stamped {@code rtpTimestamp} plays, to the sample (the start
     * of its tick plus its offset in the tick); empty when that SSRC has not been heard.
     */
    public Optional<Instant> instantOfRtpTimestamp(long ssrc, long rtpTimestamp) {
        RtpAnchor a = core.rtpAnchor(ssrc);
        if (a == null) return Optional.empty();
        long delta = (int) ((rtpTimestamp - a.getRtpTimestamp()) & 0xFFFF_FFFFL);
        long tick = a.getTick() + Math.floorDiv(delta, SAMPLES_PER_TICK);
        long sampleInTick = Math.floorMod(delta, SAMPLES_PER_TICK);
        return Optional.of(core.instantOf(tick).plusNanos(sampleInTick * 1_000_000_000L / 48_000));
    }

    @Override
    public String toString() {
        return core.toString();
    }
}
