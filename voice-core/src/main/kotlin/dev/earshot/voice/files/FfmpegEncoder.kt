package dev.earshot.voice.files

import java.io.IOException
import java.io.OutputStream
import java.nio.file.Path
import java.util.concurrent.TimeUnit

/**
 * A writer that pipes interleaved s16le PCM into an `ffmpeg` process to write any format ffmpeg knows.
 *
 * Runs `executable -hide_banner -loglevel error -nostats -y -f s16le -ar <sampleRate> -ac <channels> -i pipe:0
 * <outputArgs...> <path>`; with no [outputArgs] ffmpeg picks the format and codec from the file extension (MP3
 * for `.mp3`, with ffmpeg's default bitrate). ffmpeg's stdout is discarded and its stderr drained on a daemon
 * thread, keeping the last 20 lines, so the pipe never blocks on it. Samples are converted through one reused
 * 16 KiB array. The file is complete only after [close]; a killed process leaves whatever ffmpeg had written.
 * Not thread-safe.
 *
 * @param path the output file; overwritten if it exists.
 * @param sampleRate input sample rate in Hz (positive).
 * @param channels interleaved input channels (positive).
 * @param outputArgs ffmpeg output options placed before [path], e.g. `listOf("-b:a", "192k")` or
 *   `listOf("-f", "ogg", "-c:a", "libvorbis")`; empty by default.
 * @param executable the ffmpeg command, resolved on `PATH` unless it is a path; `"ffmpeg"` by default.
 * @param closeTimeoutMillis how long [close] waits for ffmpeg to finish before killing it; 30 000 ms by default.
 * @throws FfmpegNotFoundException when [executable] cannot be started.
 */
public class FfmpegEncoder(
    override val path: Path,
    override val sampleRate: Int,
    override val channels: Int,
    outputArgs: List<String> = emptyList(),
    private val executable: String = "ffmpeg",
    private val closeTimeoutMillis: Long = 30_000,
) : PcmFileWriter {
    private val process: Process
    private val stdin: OutputStream
    private val stderr: StderrTail
    private val bytes = ByteArray(BUFFER_BYTES)
    private var closed = false

    override var samplesWritten: Long = 0
        private set

    init {
        require(sampleRate > 0) { "sampleRate must be positive, was $sampleRate" }
        require(channels > 0) { "channels must be positive, was $channels" }
        require(closeTimeoutMillis > 0) { "closeTimeoutMillis must be positive, was $closeTimeoutMillis" }
        val command = listOf(
            executable, "-hide_banner", "-loglevel", "error", "-nostats", "-y",
            "-f", "s16le", "-ar", sampleRate.toString(), "-ac", channels.toString(), "-i", "pipe:0",
        ) + outputArgs + path.toString()
        process = try {
            ProcessBuilder(command).redirectOutput(ProcessBuilder.Redirect.DISCARD).start()
        } catch (e: IOException) {
            throw FfmpegNotFoundException(
                "ffmpeg was not found on PATH (could not run '$executable': ${e.message}); " +
                    "install it (Debian: apt-get install ffmpeg) or use WavWriter",
                e,
            )
        }
        stdin = process.outputStream
        stderr = StderrTail(process.errorStream, "earshot-ffmpeg-stderr")
    }

    override fun write(pcm: ShortArray, offset: Int, length: Int) {
        checkOpen()
        require(offset >= 0 && length >= 0 && offset <= pcm.size - length) {
            "offset $offset and length $length do not fit in an array of ${pcm.size} samples"
        }
        require(length % channels == 0) { "length $length is not a whole number of $channels-channel frames" }
        var from = offset
        val end = offset + length
        while (from < end) {
            val n = minOf(end - from, bytes.size / 2)
            for (i in 0 until n) {
                val s = pcm[from + i].toInt()
                bytes[2 * i] = s.toByte()
                bytes[2 * i + 1] = (s shr 8).toByte()
            }
            send(2 * n)
            from += n
        }
        samplesWritten += length / channels
    }

    override fun writeSilence(samples: Int) {
        checkOpen()
        require(samples >= 0) { "samples must not be negative, was $samples" }
        var remaining = samples.toLong() * channels * 2
        if (remaining > 0) bytes.fill(0)
        while (remaining > 0) {
            val n = minOf(remaining, bytes.size.toLong()).toInt()
            send(n)
            remaining -= n
        }
        samplesWritten += samples
    }

    /** Hands buffered samples to ffmpeg; ffmpeg decides when to write its output. */
    override fun flush() {
        checkOpen()
        try {
            stdin.flush()
        } catch (e: IOException) {
            throw failed("ffmpeg stopped reading its input", e)
        }
    }

    /**
     * Ends ffmpeg's input and waits for it to finish the file.
     *
     * @throws FfmpegFailedException when ffmpeg exits non-zero or does not exit within `closeTimeoutMillis`
     *   (it is then killed); the message carries its last stderr lines.
     */
    override fun close() {
        if (closed) return
        closed = true
        try {
            stdin.close()
        } catch (_: IOException) {
            // ffmpeg already closed its end; its exit status and stderr below say why.
        }
        if (!process.waitFor(closeTimeoutMillis, TimeUnit.MILLISECONDS)) {
            process.destroyForcibly()
            throw failure("ffmpeg did not finish $path within $closeTimeoutMillis ms and was killed", null, null)
        }
        val exit = process.exitValue()
        if (exit != 0) throw failure("ffmpeg exited with status $exit writing $path", exit, null)
    }

    private fun send(n: Int) {
        try {
            stdin.write(bytes, 0, n)
        } catch (e: IOException) {
            throw failed("ffmpeg stopped reading its input", e)
        }
    }

    /** After a broken pipe: ends the process and reports its status and stderr. */
    private fun failed(what: String, cause: IOException): FfmpegFailedException {
        closed = true
        runCatching { stdin.close() }
        val exited = process.waitFor(closeTimeoutMillis, TimeUnit.MILLISECONDS)
        if (!exited) process.destroyForcibly()
        return failure("$what writing $path", if (exited) process.exitValue() else null, cause)
    }

    private fun failure(what: String, exitCode: Int?, cause: Throwable?): FfmpegFailedException {
        stderr.join(STDERR_JOIN_MILLIS)
        val tail = stderr.lines
        val detail = if (tail.isEmpty()) "no stderr output" else "its last stderr lines:\n" + tail.joinToString("\n")
        return FfmpegFailedException("$what ($executable); $detail", exitCode, tail, cause)
    }

    private fun checkOpen() {
        check(!closed) { "FfmpegEncoder for $path is closed; open a new one to write more" }
    }

    private companion object {
        const val BUFFER_BYTES = 16 * 1024
        const val STDERR_JOIN_MILLIS = 5_000L
    }
}
