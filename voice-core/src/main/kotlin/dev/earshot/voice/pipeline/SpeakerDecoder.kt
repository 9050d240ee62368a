package dev.earshot.voice.pipeline

import dev.earshot.voice.base.Counter
import dev.earshot.voice.base.Counters
import dev.earshot.voice.base.VoiceConstants
import dev.earshot.voice.codec.OpusDecoderFactory
import dev.earshot.voice.codec.OpusFrameDecoder
import dev.earshot.voice.codec.PcmFormat
import dev.earshot.voice.model.FrameKind

/**
 * The decoding half of one [Speaker]: its Opus decoder (created on first use) and the decoded rest of a 40/60 ms packet
 * that plays in the following ticks. Runs the [FrameWork]s its speaker planned one at a time, in tick order, on
 * whichever thread decodes that tick ([TickDecoder] guarantees both, so it is never used by two threads at once, and
 * the hand-offs between those threads publish its state). Without a [format] (Opus passthrough) it decodes nothing and
 * only works out each frame's kind.
 *
 * The counts that depend on what the decoder returns (decode errors, FEC recovered or concealed instead) are made
 * here; [concealed] and [fecRecovered] are this speaker's share of them, read by `SpeakerStats` from another thread.
 */
internal class SpeakerDecoder(
    private val format: PcmFormat?,
    private val factory: OpusDecoderFactory,
    private val counters: Counters,
) {
    private var decoder: OpusFrameDecoder? = null

    // 48 kHz samples per output sample: 1 for 48 kHz, 3 for 16 kHz.
    private val ratio = if (format == null) 1 else VoiceConstants.SAMPLE_RATE / format.sampleRate
    private val channels = format?.channels ?: 0
    private val decoded = ShortArray(format?.maxBufferSize ?: 0)
    // The carried rest of the last packet: from decoded[carryFrom], of this kind.
    private var carryFrom = 0
    private var carryKind = FrameKind.DECODED
    private var closed = false

    @Volatile var concealed: Long = 0L
        private set
    @Volatile var fecRecovered: Long = 0L
        private set

    /** Decodes [w]: fills its PCM (a fresh array, handed to users read-only) and its kind. */
    fun run(w: FrameWork) {
        check(!closed) { "decoder of SSRC ${w.ssrc} used after close" }
        // A fresh array per frame: users may keep a frame's PCM, so it is never reused. The JVM zeroes it, which is
        // the silence of gaps and silence frames.
        val pcm = if (format == null) null else ShortArray(format.samplesPerFrame * channels)
        var kind = FrameKind.DECODED
        if (w.carry48 > 0) {
            if (pcm != null) {
                val samples = w.carry48 / ratio
                System.arraycopy(decoded, carryFrom * channels, pcm, 0, samples * channels)
                carryFrom += samples
            }
            kind = carryKind
        }
        for (i in 0 until w.size) {
            val dur48 = w.dur48(i)
            val k = when (w.code(i)) {
                FrameWork.DECODE -> decodePacket(w.bytes(i)!!, dur48, w.reset(i))
                FrameWork.RECOVER -> recover(w.bytes(i), dur48, w.reset(i))
                else -> if (format == null) FrameKind.MISSING else conceal(dur48, w.reset(i))
            }
            kind = worse(kind, k)
            val n48 = w.n48(i)
            if (pcm != null) System.arraycopy(decoded, 0, pcm, w.at48(i) / ratio * channels, n48 / ratio * channels)
            if (dur48 > n48) {
                carryFrom = n48 / ratio
                carryKind = k
            }
        }
        w.pcm = pcm
        w.kind = kind
    }

    /** Frees the native decoder; called once no work of this speaker is pending. */
    fun close() {
        closed = true
        decoder?.close()
        decoder = null
    }

    private fun decodePacket(packet: ByteArray, dur48: Int, reset: Boolean): FrameKind {
        if (format == null) return FrameKind.DECODED
        val d = decoder(reset)
        if (d.decode(packet, 0, packet.size, decoded) > 0) return FrameKind.DECODED
        counters.inc(Counter.DECODE_ERRORS)
        d.conceal(dur48, decoded)
        counters.inc(Counter.CONCEALED)
        concealed++
        return FrameKind.CONCEALED
    }

    /** A lost packet: FEC from [next] (the following packet, given when it carries LBRR data), else PLC. */
    private fun recover(next: ByteArray?, dur48: Int, reset: Boolean): FrameKind {
        if (format == null) return FrameKind.MISSING
        val d = decoder(reset)
        if (next != null && d.decodeFec(next, 0, next.size, dur48, decoded) > 0) {
            counters.inc(Counter.FEC_RECOVERED)
            fecRecovered++
            return FrameKind.FEC_RECOVERED
        }
        d.conceal(dur48, decoded)
        counters.inc(Counter.CONCEALED)
        concealed++
        return FrameKind.CONCEALED
    }

    private fun conceal(dur48: Int, reset: Boolean): FrameKind {
        decoder(reset).conceal(dur48, decoded)
        counters.inc(Counter.CONCEALED)
        concealed++
        return FrameKind.CONCEALED
    }

    private fun decoder(reset: Boolean): OpusFrameDecoder {
        val d = decoder ?: factory.create(format!!).also { decoder = it }
        if (reset) d.reset()
        return d
    }

    private companion object {
        /** The more degraded of two kinds, so a tick that mixes decoded and concealed audio reports the concealment. */
        fun worse(a: FrameKind, b: FrameKind): FrameKind = if (severity(b) > severity(a)) b else a

        private fun severity(k: FrameKind): Int = when (k) {
            FrameKind.DECODED -> 0
            FrameKind.FEC_RECOVERED -> 1
            FrameKind.CONCEALED -> 2
            FrameKind.MISSING, FrameKind.SILENCE -> 3
        }
    }
}
