package dev.earshot.voice.testkit

import dev.earshot.voice.codec.OpusPacketInfo
import kotlinx.serialization.json.JsonElement

/**
 * One RTP audio packet a real client sent, as the server decrypted it: header fields and the Opus payload with the
 * extension elements and padding removed.
 */
public class CapturedPacket(
    /** The packet's SSRC. */
    public val ssrc: Long,
    /** RTP sequence number, 0..65535. */
    public val sequence: Int,
    /** RTP timestamp, 0..2^32-1. */
    public val timestamp: Long,
    /** The RTP marker bit. */
    public val marker: Boolean,
    /** Whether the packet carried a header extension. */
    public val hasExtension: Boolean,
    /** The Opus payload (a private copy). */
    public val opus: ByteArray,
    /** `System.nanoTime()` when the server received it. */
    public val receivedAtNanos: Long,
) {
    /** True for Discord's 3-byte Opus silence frame `F8 FF FE`. */
    public val isSilence: Boolean get() = OpusPacketInfo.isSilenceFrame(opus, 0, opus.size)

    override fun toString(): String = "CapturedPacket(ssrc=$ssrc, seq=$sequence, ts=$timestamp, ${opus.size} bytes)"
}

/** One frame a [ScriptedMember] sent: what every client in the channel was given (before faults). */
public class SentFrame(
    /** RTP sequence number, 0..65535. */
    public val sequence: Int,
    /** RTP timestamp, 0..2^32-1. */
    public val timestamp: Long,
    /** The RTP marker bit (set on the first packet of each talk spurt). */
    public val marker: Boolean,
    /** Whether the packet carried the audio-level/speaker header extension. */
    public val hasExtension: Boolean,
    /** The Opus payload. */
    public val opus: ByteArray,
    /** True for the `F8 FF FE` frames that end a talk spurt. */
    public val isSilence: Boolean,
    /** Monotonic send time in nanoseconds (`System.nanoTime()` in a running server). */
    public val sentAtNanos: Long,
    /** Wall-clock send time, milliseconds since the epoch. */
    public val sentAtEpochMillis: Long,
    /**
     * Whether the payload on the wire was a DAVE frame (ciphertext ending `FA FA`); [opus] is always the plaintext.
     * False for transport-only members, silence frames and frames sent before the member's first DAVE key.
     */
    public val daveEncrypted: Boolean = false,
) {
    override fun toString(): String = "SentFrame(seq=$sequence, ts=$timestamp, ${opus.size} bytes${if (isSilence) ", silence" else ""})"
}

/** An op 5 Speaking message a client sent: `speaking` flags, `delay` and `ssrc` as given (null when absent). */
public data class SpeakingUpdate(
    /** The speaking flags bitmask (1 microphone, 2 soundshare, 4 priority). */
    val speaking: Int,
    /** The `delay` field, or null. */
    val delay: Int?,
    /** The `ssrc` field, or null. */
    val ssrc: Long?,
    /** `System.nanoTime()` when the server received it. */
    val atNanos: Long,
)

/**
 * One JSON message a client sent on the voice gateway, parsed but otherwise as received. Made by the server only.
 * Kotlin reads the payload as [d] (a kotlinx-serialization element), Java as JSON text ([payload]).
 */
public class ClientMessage internal constructor(
    /** The opcode. */
    public val op: Int,
    /** The `d` payload, or null when absent. */
    @get:JvmSynthetic public val d: JsonElement?,
    /** `System.nanoTime()` when the server received it. */
    public val atNanos: Long,
) {
    /** The `d` payload as JSON text, or null when absent. */
    public val payload: String? get() = d?.toString()

    override fun toString(): String = "ClientMessage(op=$op)"
}
