package dev.earshot.voice.codec

import dev.earshot.voice.base.VoiceConstants

import io.github.jaredmdobson.concentus.OpusDecoder
import io.github.jaredmdobson.concentus.OpusException

/**
 * [OpusFrameDecoder] on Concentus.
 *
 * Packets are validated with [OpusPacketInfo] before Concentus sees them, so malformed framing costs no
 * exception; the catch blocks are for payloads that frame correctly but upset the port, which then throws.
 * The wrapper allocates nothing per call (Concentus itself allocates some scratch; see the decoder tests).
 *
 * [PcmFormat.MONO_16K] is decoded by a 48 kHz mono Concentus decoder followed by a [Decimator], not by a
 * decoder created at 16 kHz: below 48 kHz Concentus 1.0.2 loses the SILK layer of hybrid (SILK+CELT) packets,
 * and at 16 kHz they decode to exact silence (lostromb/concentus#67: the port always takes libopus's
 * fixed-point "CELT accumulates onto SILK" path). ConcentusDecoderSpec has a test that fails once a Concentus
 * version fixes this. The decimator adds 1.25 ms of delay.
 */
internal class ConcentusFrameDecoder(override val format: PcmFormat) : OpusFrameDecoder {
    private val decoder = OpusDecoder(VoiceConstants.SAMPLE_RATE, format.channels)
    private val decimator = if (format.sampleRate == VoiceConstants.SAMPLE_RATE) null else Decimator()

    /** 48 kHz output waiting for the decimator; empty when there is none. */
    private val full = ShortArray(if (decimator == null) 0 else OpusPacketInfo.MAX_SAMPLES_PER_CHANNEL_48K)

    init {
        require(decimator == null || (format.sampleRate == VoiceConstants.SAMPLE_RATE / 3 && format.channels == 1)) {
            "the Concentus backend decimates to 16 kHz mono only, not $format"
        }
    }

    override fun decode(packet: ByteArray, offset: Int, length: Int, out: ShortArray): Int {
        val samples48k = OpusPacketInfo.samplesPerChannel48k(packet, offset, length)
        if (samples48k < 0) return CORRUPT
        return run(packet, offset, length, samples48k, out, fec = false)
    }

    override fun decodeFec(packet: ByteArray, offset: Int, length: Int, samples48k: Int, out: ShortArray): Int {
        if (!isLossDuration(samples48k) || OpusPacketInfo.samplesPerChannel48k(packet, offset, length) < 0) {
            return CORRUPT
        }
        return run(packet, offset, length, samples48k, out, fec = true)
    }

    override fun conceal(samples48k: Int, out: ShortArray): Int {
        if (!isLossDuration(samples48k)) return CORRUPT
        // A null packet is the libopus (and Concentus) signal for "lost": run PLC for the whole duration.
        return run(null, 0, 0, samples48k, out, fec = false)
    }

    override fun reset() {
        decoder.resetState()
        decimator?.reset()
    }

    /** Concentus holds no native memory; a native backend releases its decoder here. */
    override fun close() {}

    private fun run(packet: ByteArray?, offset: Int, length: Int, samples48k: Int, out: ShortArray, fec: Boolean): Int {
        if (format.samplesFrom48k(samples48k) * format.channels > out.size) return CORRUPT
        val target = if (decimator == null) out else full
        val decoded = try {
            decoder.decode(packet, offset, length, target, 0, samples48k, fec)
        } catch (_: OpusException) {
            // Concentus's form of a libopus error code; as with libopus the decoder stays usable.
            return CORRUPT
        } catch (_: RuntimeException) {
            // An index or arithmetic fault inside the port may have left state half-written: start clean.
            reset()
            return CORRUPT
        } catch (_: AssertionError) {
            // Concentus throws AssertionError unconditionally (not only under -ea) on some corrupt payloads,
            // e.g. "celt_ilog2() only defined for strictly positive numbers"; it must not reach the caller.
            reset()
            return CORRUPT
        }
        return decimator?.process(full, decoded, out) ?: decoded
    }

    private companion object {
        const val CORRUPT = -1

        /** libopus conceals and recovers only whole multiples of 2.5 ms (120 samples at 48 kHz). */
        const val LOSS_GRANULE_48K = 120

        fun isLossDuration(samples48k: Int): Boolean =
            samples48k in LOSS_GRANULE_48K..OpusPacketInfo.MAX_SAMPLES_PER_CHANNEL_48K &&
                samples48k % LOSS_GRANULE_48K == 0
    }
}
