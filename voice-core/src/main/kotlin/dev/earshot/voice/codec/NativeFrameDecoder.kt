package dev.earshot.voice.codec

import com.sun.jna.Memory

/**
 * [OpusFrameDecoder] on libopus through [LibOpus]. Both formats are decoded natively at their own rate; libopus
 * downmixes a stereo stream itself for [PcmFormat.MONO_16K], so no decimator is involved.
 *
 * Native memory: the decoder state and an I/O area (one packet in, [PcmFormat.maxBufferSize] samples out), both
 * JNA [Memory], freed by [close]. Packets are validated with [OpusPacketInfo] (which also bounds-checks the view)
 * before they are copied to native memory, so libopus only sees well-framed packets; per call the wrapper allocates
 * nothing on the Java heap. After [close] every call returns -1 and touches no native memory. [close] must not run
 * concurrently with another call (the decoder is single-threaded, like every [OpusFrameDecoder]).
 */
internal class NativeFrameDecoder(override val format: PcmFormat) : OpusFrameDecoder {
    private var state: Memory? = Memory(LibOpus.opus_decoder_get_size(format.channels).toLong())

    /** Decoded PCM from libopus, then copied to the caller's array. */
    private var pcm: Memory? = Memory(format.maxBufferSize.toLong() * Short.SIZE_BYTES)

    /** The packet being decoded; grows (rarely) for packets longer than a UDP datagram of Discord's size. */
    private var input: Memory? = Memory(INITIAL_INPUT_BYTES)

    init {
        val error = LibOpus.opus_decoder_init(state!!, format.sampleRate, format.channels)
        if (error != LibOpus.OPUS_OK) {
            close()
            error("opus_decoder_init($format) failed with $error")
        }
    }

    /** True once [close] has freed the native memory. */
    internal val isClosed: Boolean get() = state == null

    override fun decode(packet: ByteArray, offset: Int, length: Int, out: ShortArray): Int {
        val samples48k = OpusPacketInfo.samplesPerChannel48k(packet, offset, length)
        if (samples48k < 0) return CORRUPT
        return run(packet, offset, length, samples48k, out, fec = 0)
    }

    override fun decodeFec(packet: ByteArray, offset: Int, length: Int, samples48k: Int, out: ShortArray): Int {
        if (!isLossDuration(samples48k) || OpusPacketInfo.samplesPerChannel48k(packet, offset, length) < 0) {
            return CORRUPT
        }
        return run(packet, offset, length, samples48k, out, fec = 1)
    }

    override fun conceal(samples48k: Int, out: ShortArray): Int {
        if (!isLossDuration(samples48k)) return CORRUPT
        return run(null, 0, 0, samples48k, out, fec = 0)
    }

    override fun reset() {
        // OPUS_RESET_STATE cannot fail on a valid decoder; there is nothing to do on a closed one.
        state?.let { LibOpus.reset(it) }
    }

    /** Frees the native memory; idempotent. */
    override fun close() {
        state?.close()
        pcm?.close()
        input?.close()
        state = null
        pcm = null
        input = null
    }

    private fun run(packet: ByteArray?, offset: Int, length: Int, samples48k: Int, out: ShortArray, fec: Int): Int {
        val st = state ?: return CORRUPT
        val pcm = pcm ?: return CORRUPT
        // Exactly the packet's (or the loss's) duration: libopus wants PLC and FEC sized to the gap, and a decode
        // never writes more than the packet holds.
        val frameSize = format.samplesFrom48k(samples48k)
        if (frameSize * format.channels > out.size) return CORRUPT
        val data = if (packet == null) null else input(length).also { it.write(0, packet, offset, length) }
        val decoded = LibOpus.opus_decode(st, data, length, pcm, frameSize, fec)
        if (decoded < 0) return CORRUPT // a libopus error code; the decoder stays usable
        pcm.read(0, out, 0, decoded * format.channels)
        return decoded
    }

    private fun input(length: Int): Memory {
        val current = input!!
        if (length <= current.size()) return current
        current.close()
        return Memory(length.toLong()).also { input = it }
    }

    private companion object {
        const val CORRUPT = -1

        /** A Discord datagram is at most about 1,400 bytes; longer (multi-frame) packets grow the buffer. */
        const val INITIAL_INPUT_BYTES = 1_500L

        /** libopus conceals and recovers only whole multiples of 2.5 ms (120 samples at 48 kHz). */
        const val LOSS_GRANULE_48K = 120

        fun isLossDuration(samples48k: Int): Boolean =
            samples48k in LOSS_GRANULE_48K..OpusPacketInfo.MAX_SAMPLES_PER_CHANNEL_48K &&
                samples48k % LOSS_GRANULE_48K == 0
    }
}
