package dev.earshot.voice.files

import java.nio.file.Path

/**
 * A writer that streams interleaved signed 16-bit PCM into a file as it arrives, never holding the recording in memory.
 *
 * Implementations ([WavWriter], [RawPcmWriter], [FfmpegEncoder]) are not thread-safe: use each from one thread or
 * coroutine at a time. Writing after [close] throws [IllegalStateException]; I/O failures throw
 * [AudioFileException] (a [java.io.IOException]) naming the file.
 */
public interface PcmFileWriter : AutoCloseable {
    /** The file being written. */
    public val path: Path

    /** Sample rate in Hz. */
    public val sampleRate: Int

    /** Interleaved channels per sample frame. */
    public val channels: Int

    /** Samples per channel accepted so far (including silence); divide by [sampleRate] for seconds. */
    public val samplesWritten: Long

    /**
     * Appends `pcm[offset until offset + length]`: interleaved samples, [length] a whole number of frames
     * (a multiple of [channels]). The array is not retained.
     */
    public fun write(pcm: ShortArray, offset: Int = 0, length: Int = pcm.size)

    /** Appends [samples] samples per channel of digital silence without allocating; used to fill gaps. */
    public fun writeSilence(samples: Int)

    /** Pushes everything written so far to the file (see each implementation for what "durable" means). */
    public fun flush()

    /** Flushes and closes the file; calling it again does nothing. */
    override fun close()
}
