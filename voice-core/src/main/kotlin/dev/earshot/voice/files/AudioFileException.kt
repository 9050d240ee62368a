package dev.earshot.voice.files

import java.io.IOException

/** An I/O failure while writing an audio file; the message names the file and what went wrong. */
public open class AudioFileException(message: String, cause: Throwable? = null) : IOException(message, cause)

/**
 * Thrown by [WavWriter] when a write would take the data chunk past the RIFF limit of 4 GiB (its size fields are
 * unsigned 32-bit). Nothing of the refused write is written; the file stays valid with everything written before.
 */
public class WavSizeLimitException(message: String) : AudioFileException(message)

/**
 * Thrown by [FfmpegEncoder] at construction when the ffmpeg executable cannot be started (not installed, not on
 * `PATH`, or not executable).
 */
public class FfmpegNotFoundException(message: String, cause: Throwable? = null) : AudioFileException(message, cause)

/**
 * Thrown by [FfmpegEncoder] when ffmpeg exits with a non-zero status, stops reading its input, or does not exit in
 * time; the message ends with ffmpeg's last stderr lines, also in [stderrTail].
 */
public class FfmpegFailedException(
    message: String,
    /** ffmpeg's exit status, or null when it had to be killed. */
    public val exitCode: Int?,
    /** The last lines ffmpeg wrote to stderr (at most 20), oldest first. */
    public val stderrTail: List<String>,
    cause: Throwable? = null,
) : AudioFileException(message, cause)
