package dev.earshot.voice.sink

import dev.earshot.voice.audio.MixPolicy
import dev.earshot.voice.audio.TrackWriter
import dev.earshot.voice.codec.PcmFormat
import dev.earshot.voice.files.FfmpegEncoder
import dev.earshot.voice.files.OggOpusWriter
import dev.earshot.voice.files.PcmFileWriter
import dev.earshot.voice.files.RawPcmWriter
import dev.earshot.voice.files.WavWriter
import org.slf4j.LoggerFactory
import java.io.IOException
import java.nio.file.Files
import java.nio.file.Path
import java.nio.file.StandardCopyOption

/**
 * Ready-made recording sinks that write files as they go (never holding a recording in memory). Per-user files are
 * aligned: every track starts at the recording's first tick and has a frame for every tick, silence included, so
 * tracks overlay exactly and play in sync with the mixed track. Sinks listened separately share the receiver's
 * recording (see [Recording]), so per-user and mixed files of one recording start at the same t0 and end with the
 * same tick. File names are configurable; the defaults contain the user id (`user-<id>.wav`, `user-<id>.opus`,
 * `user-<id>.pcm`). Audio of an SSRC without a known user is recorded too ([UnmappedAudio], default
 * [UnmappedAudio.RECORD]): in `ssrc-<n>.<ext>`, renamed to the user's name when the user becomes known (at the end of
 * the recording) unless that user already has a file. WAV and PCM headers are rewritten every [flushIntervalMillis]
 * of audio (default 1 s), so a killed process leaves files playable up to the last flush.
 */
public object RecordingSinks {
    /** One aligned WAV per user in [dir]. */
    public fun perUserWav(
        dir: Path,
        format: PcmFormat = PcmFormat.STEREO_48K,
        flushIntervalMillis: Long = 1000,
        unmapped: UnmappedAudio = UnmappedAudio.RECORD,
        ssrcName: (Long) -> String = { "ssrc-$it.wav" },
        name: (VoiceUser) -> String = { "user-${it.id}.wav" },
    ): PerUserSink = perUserPcmFile(dir, format, name, unmapped, ssrcName) { path ->
        WavWriter(path, format.sampleRate, format.channels, flushIntervalMillis)
    }

    /** One aligned raw s16le PCM file per user in [dir]. */
    public fun perUserPcm(
        dir: Path,
        format: PcmFormat = PcmFormat.STEREO_48K,
        flushIntervalMillis: Long = 1000,
        unmapped: UnmappedAudio = UnmappedAudio.RECORD,
        ssrcName: (Long) -> String = { "ssrc-$it.pcm" },
        name: (VoiceUser) -> String = { "user-${it.id}.pcm" },
    ): PerUserSink = perUserPcmFile(dir, format, name, unmapped, ssrcName) { path ->
        RawPcmWriter(path, format.sampleRate, format.channels, flushIntervalMillis)
    }

    /** One aligned Ogg Opus file per user in [dir], from the received packets without re-encoding. */
    public fun perUserOgg(
        dir: Path,
        unmapped: UnmappedAudio = UnmappedAudio.RECORD,
        ssrcName: (Long) -> String = { "ssrc-$it.opus" },
        name: (VoiceUser) -> String = { "user-${it.id}.opus" },
    ): PerUserSink = PerUserSink(
        wants = AudioFormat.Opus,
        unmapped = unmapped,
        provisional = { ssrc, start ->
            Files.createDirectories(dir)
            val path = dir.resolve(ssrcName(ssrc))
            val writer = OggOpusWriter(path, comments = mapOf("DISCORD_SSRC" to ssrc.toString()))
            RenamingTrack(OggOpusSink(writer, start), path, name)
        },
    ) { user, start ->
        Files.createDirectories(dir)
        val writer = OggOpusWriter(dir.resolve(name(user)), comments = mapOf("DISCORD_USER_ID" to user.id.toString()))
        OggOpusSink(writer, start)
    }

    /** The combined track of everyone included by [policy], as one continuous WAV. */
    public fun mixedWav(
        path: Path,
        format: PcmFormat = PcmFormat.STEREO_48K,
        policy: MixPolicy = MixPolicy(),
        flushIntervalMillis: Long = 1000,
    ): MixerSink {
        Files.createDirectories(path.toAbsolutePath().parent)
        val writer = WavWriter(path, format.sampleRate, format.channels, flushIntervalMillis)
        return MixerSink(TrackSink(writer.asTrackWriter(format), format, close = writer::close), policy, format)
    }

    /**
     * The combined track encoded by ffmpeg into any format it knows (chosen by [path]'s extension, e.g. `.mp3`, or by
     * [outputArgs]). Fails at once with `FfmpegNotFoundException` when [executable] (default `ffmpeg` on PATH) is not
     * installed.
     */
    public fun mixedFfmpeg(
        path: Path,
        format: PcmFormat = PcmFormat.STEREO_48K,
        policy: MixPolicy = MixPolicy(),
        outputArgs: List<String> = emptyList(),
        executable: String = "ffmpeg",
    ): MixerSink {
        val encoder = FfmpegEncoder(path, format.sampleRate, format.channels, outputArgs, executable)
        return MixerSink(TrackSink(encoder.asTrackWriter(format), format, close = encoder::close), policy, format)
    }

    private fun perUserPcmFile(
        dir: Path,
        format: PcmFormat,
        name: (VoiceUser) -> String,
        unmapped: UnmappedAudio,
        ssrcName: (Long) -> String,
        open: (Path) -> PcmFileWriter,
    ): PerUserSink = PerUserSink(
        wants = AudioFormat.Pcm(format),
        unmapped = unmapped,
        provisional = { ssrc, start ->
            Files.createDirectories(dir)
            val path = dir.resolve(ssrcName(ssrc))
            val writer = open(path)
            RenamingTrack(TrackSink(writer.asTrackWriter(format), format, start, close = writer::close), path, name)
        },
    ) { user, start ->
        Files.createDirectories(dir)
        val writer = open(dir.resolve(name(user)))
        TrackSink(writer.asTrackWriter(format), format, start, close = writer::close)
    }
}

/**
 * A provisional track's file (named after its SSRC) that becomes a user's: once adopted, the file is renamed to the
 * user's name when the track is finished (renaming an open file is not portable). Replaces a file of that name left
 * by an earlier recording, as a new user track would.
 */
private class RenamingTrack(
    private val inner: AudioSink,
    private val file: Path,
    private val name: (VoiceUser) -> String,
) : AdoptableSink, AudioSink by inner {
    private var target: Path? = null

    override val children: List<AudioSink> get() = listOf(inner)

    override suspend fun adopt(user: VoiceUser) {
        target = file.resolveSibling(name(user))
    }

    override suspend fun cleanup() {
        inner.cleanup()
        val t = target ?: return
        try {
            Files.move(file, t, StandardCopyOption.REPLACE_EXISTING)
        } catch (e: IOException) {
            log.warn("could not rename {} to {}; the track stays under its SSRC name", file, t, e)
        }
    }

    private companion object {
        private val log = LoggerFactory.getLogger(RenamingTrack::class.java)
    }
}

/** Adapts a PCM file writer to the [TrackWriter] the aligned-track sinks write through (silence without arrays). */
public fun PcmFileWriter.asTrackWriter(format: PcmFormat): TrackWriter = object : TrackWriter {
    override fun silence(frames: Long) {
        var left = frames * format.samplesPerFrame
        while (left > 0) {
            val n = minOf(left, Int.MAX_VALUE.toLong() / 4).toInt()
            writeSilence(n)
            left -= n
        }
    }

    override fun audio(frame: ShortArray) {
        write(frame)
    }
}
