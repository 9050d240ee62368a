package dev.earshot.voice.files

import java.nio.file.Path

/**
 * The child process of [WavCrashSpec]: writes 48 kHz stereo [CrashPattern] audio to a WAV file in 331-frame chunks
 * and prints `flushed <samples per channel>` after every automatic flush, until it is killed. Printing blocks once
 * the parent stops reading, which bounds how far it runs ahead; after `args[2]` seconds of audio it stops writing
 * and waits on stdin so it never exits by itself.
 *
 * Arguments: output path, flush interval in ms, audio cap in seconds.
 */
object WavCrashChild {
    const val RATE = 48_000
    const val CHANNELS = 2
    private const val CHUNK_FRAMES = 331

    @JvmStatic
    fun main(args: Array<String>) {
        val capFrames = args[2].toLong() * RATE
        val chunk = ShortArray(CHUNK_FRAMES * CHANNELS)
        val writer = WavWriter(Path.of(args[0]), RATE, CHANNELS, flushIntervalMillis = args[1].toLong())
        var k = 0L
        var reported = 0L
        while (writer.samplesWritten + CHUNK_FRAMES <= capFrames) {
            for (i in chunk.indices) chunk[i] = CrashPattern.sample(k++)
            writer.write(chunk)
            if (writer.samplesFlushed != reported) {
                reported = writer.samplesFlushed
                println("flushed $reported")
                System.out.flush()
            }
        }
        println("cap reached")
        System.out.flush()
        System.`in`.read()
    }
}

/** A sample sequence where every position differs from its neighbours and from positions 65 536 apart. */
object CrashPattern {
    fun sample(index: Long): Short = ((index * 2_654_435_761L) ushr 13).toInt().toShort()
}
