package dev.earshot.voice.files

import java.io.IOException
import java.nio.ByteBuffer
import java.nio.ByteOrder
import java.nio.channels.FileChannel
import java.nio.file.Path
import java.nio.file.StandardOpenOption

/** A fixed-size file header that describes the data after it and is rewritten in place on every flush. */
internal interface PcmFileHeader {
    /** Header length in bytes; the PCM data starts here. */
    val size: Int

    /** The most PCM bytes the header can describe. */
    val maxDataBytes: Long

    /** Writes the header for [dataBytes] bytes of PCM into [out] (capacity >= [size]), ready to be read. */
    fun encode(dataBytes: Long, out: ByteBuffer)
}

/**
 * The streaming part shared by [WavWriter] and [RawPcmWriter]: s16le samples go through one reused direct buffer
 * into a [FileChannel]; once [flushIntervalMillis] of audio (counted in samples, so deterministic) has been written
 * since the last flush, the data is written out, forced to the device, and then the [header] (if any) is rewritten
 * and forced. Ordering data before header means a header never claims bytes that were not yet written, so a file
 * cut off at any point parses up to the last completed flush.
 */
internal class PcmFileCore(
    val path: Path,
    val sampleRate: Int,
    val channels: Int,
    flushIntervalMillis: Long,
    private val header: PcmFileHeader?,
    private val kind: String,
) : AutoCloseable {
    private val blockAlign = channels * WavHeader.BYTES_PER_SAMPLE
    private val flushIntervalSamples: Long
    private val maxDataBytes: Long
    private val buffer = ByteBuffer.allocateDirect(BUFFER_BYTES).order(ByteOrder.LITTLE_ENDIAN)
    private val shorts = buffer.asShortBuffer()
    private val headerBuffer = header?.let { ByteBuffer.allocate(it.size).order(ByteOrder.LITTLE_ENDIAN) }
    private val channel: FileChannel
    private var closed = false

    var samplesWritten: Long = 0
        private set

    var samplesFlushed: Long = 0
        private set

    init {
        require(sampleRate in 1..MAX_SAMPLE_RATE) { "sampleRate must be in 1..$MAX_SAMPLE_RATE Hz, was $sampleRate" }
        require(channels in 1..MAX_CHANNELS) { "channels must be in 1..$MAX_CHANNELS, was $channels" }
        require(flushIntervalMillis > 0) { "flushIntervalMillis must be positive, was $flushIntervalMillis" }
        // Only now that channels is valid: the header's limit depends on the frame size.
        maxDataBytes = header?.maxDataBytes ?: Long.MAX_VALUE
        // Saturate instead of overflowing, so Long.MAX_VALUE means "only on flush() and close()".
        flushIntervalSamples = if (flushIntervalMillis > Long.MAX_VALUE / sampleRate) {
            Long.MAX_VALUE
        } else {
            maxOf(1L, flushIntervalMillis * sampleRate / MILLIS_PER_SECOND)
        }
        channel = try {
            FileChannel.open(
                path,
                StandardOpenOption.CREATE,
                StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE,
            )
        } catch (e: IOException) {
            throw AudioFileException("cannot open $path for writing: $e", e)
        }
        try {
            // An empty but valid header first, so even a process killed before its first flush leaves a valid file.
            if (header != null) {
                writeHeader()
                channel.position(header.size.toLong())
            }
        } catch (e: IOException) {
            channel.close()
            throw e as? AudioFileException ?: AudioFileException("cannot write $path: $e", e)
        }
    }

    fun write(pcm: ShortArray, offset: Int, length: Int) {
        checkOpen()
        require(offset >= 0 && length >= 0 && offset <= pcm.size - length) {
            "offset $offset and length $length do not fit in an array of ${pcm.size} samples"
        }
        require(length % channels == 0) { "length $length is not a whole number of $channels-channel frames" }
        val frames = length / channels
        checkLimit(frames.toLong())
        var from = offset
        var remaining = length
        while (remaining > 0) {
            if (!buffer.hasRemaining()) drain()
            val n = minOf(remaining, buffer.remaining() / WavHeader.BYTES_PER_SAMPLE)
            shorts.limit(shorts.capacity()).position(buffer.position() / WavHeader.BYTES_PER_SAMPLE)
            shorts.put(pcm, from, n)
            buffer.position(buffer.position() + n * WavHeader.BYTES_PER_SAMPLE)
            from += n
            remaining -= n
        }
        advance(frames.toLong())
    }

    fun writeSilence(samples: Int) {
        checkOpen()
        require(samples >= 0) { "samples must not be negative, was $samples" }
        checkLimit(samples.toLong())
        var remaining = samples.toLong() * blockAlign
        while (remaining > 0) {
            if (!buffer.hasRemaining()) drain()
            val n = minOf(remaining, buffer.remaining().toLong()).toInt()
            repeat(n) { buffer.put(0) }
            remaining -= n
        }
        advance(samples.toLong())
    }

    fun flush() {
        checkOpen()
        flushOpen()
    }

    override fun close() {
        if (closed) return
        closed = true
        try {
            flushOpen()
        } finally {
            try {
                channel.close()
            } catch (e: IOException) {
                throw AudioFileException("cannot close $path: $e", e)
            }
        }
    }

    private fun advance(frames: Long) {
        samplesWritten += frames
        if (samplesWritten - samplesFlushed >= flushIntervalSamples) flushOpen()
    }

    private fun checkOpen() {
        check(!closed) { "$kind for $path is closed; open a new one to write more" }
    }

    private fun checkLimit(frames: Long) {
        if ((samplesWritten + frames) * blockAlign <= maxDataBytes) return
        flushOpen()
        throw WavSizeLimitException(
            "$path: writing $frames more samples per channel would pass the WAV limit of 4 GiB of data " +
                "($samplesWritten samples per channel written); start a new file or use RawPcmWriter",
        )
    }

    private fun flushOpen() {
        drain()
        try {
            channel.force(false)
        } catch (e: IOException) {
            throw AudioFileException("cannot write $path: $e", e)
        }
        writeHeader()
        samplesFlushed = samplesWritten
    }

    private fun drain() {
        buffer.flip()
        try {
            while (buffer.hasRemaining()) channel.write(buffer)
        } catch (e: IOException) {
            throw AudioFileException("cannot write $path: $e", e)
        } finally {
            buffer.clear()
        }
    }

    private fun writeHeader() {
        val out = headerBuffer ?: return
        checkNotNull(header).encode(samplesWritten * blockAlign, out)
        try {
            var at = 0L
            while (out.hasRemaining()) at += channel.write(out, at)
            channel.force(false)
        } catch (e: IOException) {
            throw AudioFileException("cannot write the header of $path: $e", e)
        }
    }

    private companion object {
        const val BUFFER_BYTES = 64 * 1024
        const val MAX_SAMPLE_RATE = 768_000
        const val MAX_CHANNELS = 255
        const val MILLIS_PER_SECOND = 1000L
    }
}
