package dev.earshot.voice.javaapi;

import dev.earshot.voice.model.AudioFrame;
import org.jspecify.annotations.Nullable;

import java.util.List;

/**
 * One speaker's 20 ms of audio in one receive-clock tick (or the combined track's frame). Immutable; the arrays are
 * shared with every other listener of the same tick and must not be modified.
 */
public final class VoiceFrame {
    private final AudioFrame core;

    VoiceFrame(AudioFrame core) {
        this.core = core;
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

    /** The Discord user id, or null while the speaker's SSRC has no known user (and for the combined track). */
    public @Nullable Long userId() {
        return core.getUserId();
    }

    /** The receive-clock tick (20 ms each, from the receiver's start) this frame belongs to. */
    public long tick() {
        return core.getTick();
    }

    /** RTP sequence number (16-bit) of the packet behind this audio. */
    public int sequence() {
        return core.getSequence();
    }

    /** RTP timestamp (32-bit, 48 kHz clock) of the frame's first sample. */
    public long rtpTimestamp() {
        return core.getRtpTimestamp();
    }

    /** Interleaved 16-bit PCM in the connection's decode format, or null when decoding is off. Do not modify. */
    public short @Nullable [] pcm() {
        return core.getPcm();
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
