package dev.earshot.voice.files

import java.nio.file.Path

/**
 * A streaming writer of headerless raw PCM: interleaved signed 16-bit little-endian samples (`s16le`).
 *
 * Same buffering and flush rules as [WavWriter] (a flush once [flushIntervalMillis] of audio has been written since
 * the last one, on [flush] and at [close]; each flush forces the data to the device), without a header and without
 * a size limit. Readers must be told the format, e.g. `ffmpeg -f s16le -ar 48000 -ac 2 -i file.pcm`. Not
 * thread-safe.
 *
 * @param path the file to write; created or truncated.
 * @param sampleRate sample rate in Hz, 1 to 768 000; not stored in the file.
 * @param channels interleaved channels, 1 to 255; not stored in the file.
 * @param flushIntervalMillis audio milliseconds between automatic flushes; 1000 by default.
 * @throws AudioFileException when the file cannot be created.
 */
public class RawPcmWriter(
    path: Path,
    sampleRate: Int,
    channels: Int,
    flushIntervalMillis: Long = 1000,
) : PcmFileWriter {
    private val core = PcmFileCore(path, sampleRate, channels, flushIntervalMillis, null, "RawPcmWriter")

    override val path: Path get() = core.path
    override val sampleRate: Int get() = core.sampleRate
    override val channels: Int get() = core.channels
    override val samplesWritten: Long get() = core.samplesWritten

    /** Samples per channel forced to the device as of the last flush: what survives if the process dies now. */
    public val samplesFlushed: Long get() = core.samplesFlushed

    override fun write(pcm: ShortArray, offset: Int, length: Int): Unit = core.write(pcm, offset, length)

    override fun writeSilence(samples: Int): Unit = core.writeSilence(samples)

    /** Writes out buffered samples and forces them to the device. */
    override fun flush(): Unit = core.flush()

    override fun close(): Unit = core.close()
}
