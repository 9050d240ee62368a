package dev.earshot.voice.testing

import java.util.zip.GZIPInputStream
import kotlin.math.log10
import kotlin.math.sqrt

/** PCM helpers for codec tests: reference loading, channel handling and signal-to-noise ratios. */
object Pcm {
    /** Reads a gzip-compressed raw little-endian signed 16-bit resource. */
    fun readS16leGz(path: String): ShortArray {
        val bytes = Pcm::class.java.getResourceAsStream(path)?.use { GZIPInputStream(it).readBytes() }
            ?: error("missing test resource $path")
        return ShortArray(bytes.size / 2) { i ->
            ((bytes[2 * i].toInt() and 0xFF) or (bytes[2 * i + 1].toInt() shl 8)).toShort()
        }
    }

    /** Channel [channel] of interleaved [pcm] with [channels] channels. */
    fun channel(pcm: ShortArray, channels: Int, channel: Int): ShortArray =
        ShortArray(pcm.size / channels) { pcm[it * channels + channel] }

    /** Sum of squares of `a[start until start + count]`. */
    fun energy(a: ShortArray, start: Int, count: Int): Double {
        var e = 0.0
        for (i in start until start + count) e += a[i].toDouble() * a[i]
        return e
    }

    /** Root mean square of `a[start until start + count]`. */
    fun rms(a: ShortArray, start: Int, count: Int): Double = sqrt(energy(a, start, count) / count)

    /** SNR in dB of `test[testStart ...]` against `ref[refStart ...]` over [count] samples; +200 if identical. */
    fun snrDb(ref: ShortArray, refStart: Int, test: ShortArray, testStart: Int, count: Int): Double {
        var noise = 0.0
        for (i in 0 until count) {
            val d = ref[refStart + i].toDouble() - test[testStart + i]
            noise += d * d
        }
        if (noise == 0.0) return 200.0
        return 10 * log10(energy(ref, refStart, count) / noise)
    }
}

/** Reads an Ogg Opus test resource (from `src/test/resources`). */
fun readOggResource(path: String): dev.earshot.voice.files.OggOpusStream {
    val bytes = dev.earshot.voice.files.OggOpusReader::class.java.getResourceAsStream(path)?.use { it.readBytes() }
        ?: error("missing test resource $path")
    return dev.earshot.voice.files.OggOpusReader.read(bytes)
}
