package dev.earshot.voice.audio

import dev.earshot.voice.codec.Decimator
import dev.earshot.voice.codec.PcmFormat

/**
 * A stateful converter from 48 kHz interleaved stereo to 16 kHz mono (the speech-to-text rate): averages the
 * channels, then low-pass filters and decimates by 3 with a filter whose history carries over between calls, so
 * consecutive frames join without clicks. Keep one per user. Output lags the input by 20 samples (1.25 ms).
 * Not thread-safe; allocation-free per call except [convert] without an output buffer.
 */
public class Mono16kConverter {
    private val decimator = Decimator()
    private val mono = ShortArray(CHUNK)
    private val decimated = ShortArray(CHUNK / 3)

    /**
     * Converts the stereo pairs of [stereo48k] (an odd trailing short is ignored; a pair count not divisible by 3
     * loses its last one or two pairs) into [out] from index 0 and returns the number of 16 kHz samples written.
     * A 20 ms frame (1920 shorts) gives 320 samples.
     */
    public fun convert(stereo48k: ShortArray, out: ShortArray): Int {
        val pairs = stereo48k.size / 2 / 3 * 3
        require(out.size >= pairs / 3) { "output buffer holds ${out.size} samples, ${pairs / 3} needed" }
        var done = 0
        var written = 0
        while (done < pairs) {
            val n = minOf(CHUNK, pairs - done)
            for (i in 0 until n) {
                val p = 2 * (done + i)
                mono[i] = ((stereo48k[p] + stereo48k[p + 1]) shr 1).toShort()
            }
            // The decimator writes from index 0, so each chunk goes through a scratch buffer.
            val chunkOut = decimator.process(mono, n, decimated)
            System.arraycopy(decimated, 0, out, written, chunkOut)
            written += chunkOut
            done += n
        }
        return written
    }

    /** Converts [stereo48k] into a new array (see the other [convert]). */
    public fun convert(stereo48k: ShortArray): ShortArray {
        val out = ShortArray(stereo48k.size / 2 / 3)
        val n = convert(stereo48k, out)
        return if (n == out.size) out else out.copyOf(n)
    }

    /** Forgets the filter history, as before a new, unrelated stream. */
    public fun reset() {
        decimator.reset()
    }

    public companion object {
        /** The decimator's largest block: 120 ms at 48 kHz. */
        private const val CHUNK = 5760

        /** Samples per 20 ms frame of the output (16 kHz mono). */
        public val SAMPLES_PER_FRAME: Int = PcmFormat.MONO_16K.samplesPerFrame

        /**
         * Converts one isolated 48 kHz stereo frame to 16 kHz mono with a fresh filter (silence before it), for a
         * frame on its own; for a stream, use one [Mono16kConverter] per user so frames join smoothly.
         */
        @JvmStatic
        public fun toMono16k(stereo48k: ShortArray): ShortArray = Mono16kConverter().convert(stereo48k)
    }
}
