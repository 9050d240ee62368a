package dev.earshot.voice.files

import java.nio.file.Path

/**
 * A streaming writer of 16-bit PCM RIFF/WAVE files that stay playable if the process dies mid-recording.
 *
 * Samples go through a reused 64 KiB buffer to the file; nothing of the recording is kept in memory. The header's
 * RIFF and data sizes are rewritten on every flush: automatically once [flushIntervalMillis] of *audio* (counted
 * in samples, checked after each write call) has been written since the last flush, on [flush], and at [close].
 * A flush writes the data, forces it to the device (`FileChannel.force(false)`), then rewrites and forces the
 * header, so a file cut off by SIGKILL or power loss parses and plays up to the last completed flush; anything
 * written after that is in the file but outside the declared data chunk.
 *
 * Size limits: the RIFF size fields are unsigned 32-bit. Past 2 GiB of data the sizes are still exact (readers that
 * treat them as unsigned, like sox and ffmpeg, are fine; ones that read them as signed are not). A write that would
 * take the data past 4 GiB minus the header (about 6.2 hours of 48 kHz stereo) flushes what is there and throws
 * [WavSizeLimitException] without writing any of it; start a new file or use [RawPcmWriter] for longer recordings.
 *
 * The file is created or truncated at construction, with a valid empty header. Not thread-safe.
 *
 * @param path the file to write; created or truncated.
 * @param sampleRate sample rate in Hz, 1 to 768 000.
 * @param channels interleaved channels, 1 to 255 (format tag 1, plain PCM).
 * @param flushIntervalMillis audio milliseconds between automatic flushes; 1000 by default.
 * @throws AudioFileException when the file cannot be created or its header cannot be written.
 */
public class WavWriter(
    path: Path,
    sampleRate: Int,
    channels: Int,
    flushIntervalMillis: Long = 1000,
) : PcmFileWriter {
    private val core = PcmFileCore(path, sampleRate, channels, flushIntervalMillis, WavHeader(sampleRate, channels), "WavWriter")

    override val path: Path get() = core.path
    override val sampleRate: Int get() = core.sampleRate
    override val channels: Int get() = core.channels
    override val samplesWritten: Long get() = core.samplesWritten

    /** Samples per channel covered by the header as of the last flush: what survives if the process dies now. */
    public val samplesFlushed: Long get() = core.samplesFlushed

    /** @throws WavSizeLimitException when the data chunk would pass 4 GiB; nothing is written then. */
    override fun write(pcm: ShortArray, offset: Int, length: Int): Unit = core.write(pcm, offset, length)

    /** @throws WavSizeLimitException when the data chunk would pass 4 GiB; nothing is written then. */
    override fun writeSilence(samples: Int): Unit = core.writeSilence(samples)

    /** Writes out buffered samples, forces them to the device, then rewrites and forces the header. */
    override fun flush(): Unit = core.flush()

    override fun close(): Unit = core.close()
}
