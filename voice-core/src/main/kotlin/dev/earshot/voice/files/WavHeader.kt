package dev.earshot.voice.files

import java.nio.ByteBuffer

/** The 44-byte canonical RIFF/WAVE header for 16-bit PCM (format tag 1), as [PcmFileCore] rewrites it on flush. */
internal class WavHeader(private val sampleRate: Int, private val channels: Int) : PcmFileHeader {
    private val blockAlign = channels * BYTES_PER_SAMPLE

    override val size: Int = SIZE

    /** The largest data chunk whose RIFF size (`36 + data`) fits in an unsigned 32-bit field, in whole frames. */
    override val maxDataBytes: Long get() = (UINT32_MAX - (SIZE - RIFF_PREAMBLE)) / blockAlign * blockAlign

    override fun encode(dataBytes: Long, out: ByteBuffer) {
        out.clear()
        out.put(RIFF).putUint32(SIZE - RIFF_PREAMBLE + dataBytes).put(WAVE)
        out.put(FMT).putInt(FMT_BODY_SIZE)
            .putShort(FORMAT_PCM.toShort()).putShort(channels.toShort())
            .putUint32(sampleRate.toLong()).putUint32(sampleRate.toLong() * blockAlign)
            .putShort(blockAlign.toShort()).putShort(BITS_PER_SAMPLE.toShort())
        out.put(DATA).putUint32(dataBytes)
        out.flip()
    }

    // The bit pattern of an unsigned 32-bit value is its low 32 bits, so sizes from 2 to 4 GiB encode correctly.
    private fun ByteBuffer.putUint32(value: Long): ByteBuffer = putInt(value.toInt())

    internal companion object {
        const val SIZE: Int = 44
        const val BYTES_PER_SAMPLE: Int = 2
        private const val RIFF_PREAMBLE = 8
        private const val FMT_BODY_SIZE = 16
        private const val FORMAT_PCM = 1
        private const val BITS_PER_SAMPLE = 16
        private const val UINT32_MAX = 0xFFFF_FFFFL
        private val RIFF = "RIFF".toByteArray(Charsets.US_ASCII)
        private val WAVE = "WAVE".toByteArray(Charsets.US_ASCII)
        private val FMT = "fmt ".toByteArray(Charsets.US_ASCII)
        private val DATA = "data".toByteArray(Charsets.US_ASCII)
    }
}
