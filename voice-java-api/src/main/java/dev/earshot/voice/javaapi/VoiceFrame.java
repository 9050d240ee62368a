package dev.earshot.voice.javaapi;

import dev.earshot.voice.model.ReceiveTimeline;
import dev.earshot.voice.codec.PcmFormat;
import dev.earshot.voice.model.AudioFrame;
import org.jspecify.annotations.Nullable;

import java.time.Instant;
import java.util.List;

/**
 * One speaker's 20 ms of audio in one receive-clock tick (or the combined track's frame), placed on the connection's
 * timeline: {@link #tick()}, and the wall-clock {@link #start()} and {@link #end()} of that tick. Immutable; the
 * arrays are shared with every other listener of the same tick and must not be modified.
 *
 * <p>Why a wrapper and not voice-core's {@code AudioFrame} itself: the core frame shows no Kotlin type either, but it
 * knows only its tick number. This adds what a Java listener needs beside it and the core frame cannot hold, since
 * one core frame is shared by every collector whatever format and timeline it asked for: the tick's wall-clock
 * times on the connection's timeline, the PCM's {@link #format()}, and a primitive {@link #userId()}. It holds the core
 * frame and copies nothing.
 */
public final class VoiceFrame {
    private final AudioFrame core;
    private final ReceiveTimeline timeline;
    private final @Nullable PcmFormat format;

    VoiceFrame(AudioFrame core, ReceiveTimeline timeline, @Nullable PcmFormat format) {
        this.core = core;
        this.timeline = timeline;
        this.format = core.getPcm() == null ? null : format;
    }

    /** How the audio of a frame came to be. */
    public enum Kind {
        /** Decoded from a received packet (or, without decoding, the packet itself). */
        DECODED,
        /** The packet was lost or late; Opus packet-loss concealment filled the slot. */
        CONCEALED,
        /** The packet was lost and rebuilt from the in-band FEC of the next packet. */
        FEC_RECOVERED,
        /** The packet was lost and decoding is off: nothing fills the slot ({@link #pcm()} is null). */
        MISSING,
        /** Generated silence (the combined track when nobody spoke). */
        SILENCE,
    }

    /** The RTP synchronisation source, unsigned 32-bit; 0 for the combined track. */
    public long ssrc() {
        return core.getSsrc();
    }

    /** The Discord user id, or {@link UserIds#UNKNOWN} while the speaker's SSRC has no known user (and for the combined track). */
    public long userId() {
        return UserIds.of(core.getUserId());
    }

    /** The receive-clock tick (20 ms each, from the receiver's start) this frame belongs to. */
    public long tick() {
        return core.getTick();
    }

    /** Wall-clock time of the start of this frame's tick (where it sits in every recording of the connection). */
    public Instant start() {
        return timeline.instantOf(core.getTick());
    }

    /** Wall-clock time of the end of this frame's tick: {@link #start()} plus 20 ms. */
    public Instant end() {
        return timeline.instantOf(core.getTick() + 1);
    }

    /** RTP sequence number (16-bit) of the packet behind this audio. */
    public int sequence() {
        return core.getSequence();
    }

    /** RTP timestamp (32-bit, 48 kHz clock) of the frame's first sample, as the speaker stamped it. */
    public long rtpTimestamp() {
        return core.getRtpTimestamp();
    }

    /** The format of {@link #pcm()}, or null when the frame carries no PCM. */
    public @Nullable PcmFormat format() {
        return format;
    }

    /** Interleaved signed 16-bit PCM in {@link #format()}, or null when decoding is off. Do not modify. */
    public short @Nullable [] pcm() {
        return core.getPcm();
    }

    /** {@link #pcm()} as 16-bit little-endian bytes (a new array), or null when decoding is off. */
    public byte @Nullable [] pcmLittleEndian() {
        short[] pcm = core.getPcm();
        return pcm == null ? null : Pcm.toLittleEndian(pcm);
    }

    /** {@link #pcm()} as floats in [-1, 1) (a new array), or null when decoding is off. */
    public float @Nullable [] pcmFloats() {
        short[] pcm = core.getPcm();
        return pcm == null ? null : Pcm.toFloats(pcm);
    }

    /** The Opus packet whose playout starts in this tick, as sent; null for concealed slots. Do not modify. */
    public byte @Nullable [] opus() {
        return core.getOpus();
    }

    /** Further Opus packets starting in this tick (senders using packets shorter than 20 ms); usually empty. */
    public List<byte[]> extraOpus() {
        return core.getExtraOpus();
    }

    /** Whether the audio was decoded, concealed, recovered, missing or silence. */
    public Kind kind() {
        return Convert.kind(core.getKind());
    }

    /** RFC 6464 audio level of the packet (0 loudest .. 127 silent, bit 7 voice activity), or -1. */
    public int audioLevel() {
        return core.getAudioLevel();
    }

    /** Discord's speaker flags of the packet (0x01 priority, 0x02 voice, 0x04 soundshare), or -1. */
    public int speakerFlags() {
        return core.getSpeakerFlags();
    }

    @Override
    public String toString() {
        return core.toString();
    }
}
