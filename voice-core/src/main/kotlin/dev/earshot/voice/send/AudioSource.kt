package dev.earshot.voice.send

import dev.earshot.voice.base.VoiceConstants
import dev.earshot.voice.codec.ConcentusEncoderFactory
import dev.earshot.voice.codec.OpusEncoderFactory
import dev.earshot.voice.codec.OpusFrameEncoder
import dev.earshot.voice.codec.PcmFormat
import dev.earshot.voice.files.OggOpusReader
import dev.earshot.voice.files.OggOpusStream
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Job
import kotlinx.coroutines.cancel
import kotlinx.coroutines.channels.ReceiveChannel
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.launch
import kotlinx.coroutines.currentCoroutineContext
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.flow
import java.nio.file.Path
import kotlin.math.PI
import kotlin.math.ceil
import kotlin.math.roundToInt
import kotlin.math.sin
import kotlin.time.Duration

/**
 * Audio for an [AudioPlayer]: a pull-based sequence of Opus packets, each one 20 ms frame
 * ([VoiceConstants.SAMPLES_PER_FRAME] samples at 48 kHz), mono or stereo.
 *
 * The player calls [nextFrame] from one coroutine, about once per 20 ms slot, a little ahead of the frame's send time, and
 * [close] once when the playback ends, is stopped or is replaced (also after a failure). A source is played once.
 */
public interface OpusAudioSource : AutoCloseable {
    /**
     * The next Opus packet (one 20 ms frame), or null when the source has ended. May suspend (a live source waits
     * for its data; a frame that comes late is sent late). An exception ends the playback with that error. The
     * player does not keep the array after the call returns.
     */
    public suspend fun nextFrame(): ByteArray?

    /** Releases what the source holds (a producer coroutine, an encoder). The default does nothing. */
    override fun close() {}
}

/** Factories for [OpusAudioSource]s: Ogg Opus files, ready Opus frames, PCM to encode, and a test tone. */
public object AudioSources {
    /**
     * Plays the Ogg Opus file at [path] without re-encoding. Reads the whole file now (blocking) so that a bad file
     * is refused here, not halfway through a playback; see [oggOpus] for what is accepted.
     * @throws dev.earshot.voice.files.MalformedOggException if the file is not single-stream Ogg Opus.
     * @throws IllegalArgumentException if its frames are not 20 ms or it has more than 2 channels.
     * @throws java.io.IOException if it cannot be read.
     */
    public fun oggOpus(path: Path): OpusAudioSource = oggOpus(OggOpusReader.read(path))

    /**
     * Plays the packets of [stream] without re-encoding. Packets of several 20 ms frames (what `opusenc --framesize 40`
     * or `60` makes of music) are split into single-frame packets; frames of any other length (2.5 to 10 ms, or 40
     * and 60 ms SILK frames, which cannot be split) are refused: re-encode with `opusenc --framesize 20`. The first
     * [OggOpusStream.preSkip] samples (the encoder's warm-up, a few ms) are played, not trimmed.
     * @throws IllegalArgumentException naming the first packet that cannot be played, or if [stream] has more
     *   than 2 channels.
     */
    public fun oggOpus(stream: OggOpusStream): OpusAudioSource {
        require(stream.channels in 1..2) { "Discord plays mono or stereo Opus; the stream has ${stream.channels} channels" }
        val frames = ArrayList<ByteArray>(stream.packets.size)
        for ((i, packet) in stream.packets.withIndex()) {
            val split = OpusFrameSplitter.split(packet)
                ?: throw IllegalArgumentException("packet $i of ${stream.packets.size} is not a valid Opus packet")
            val samples = OpusFrameSplitter.frameSamples48k(packet[0].toInt())
            require(samples == VoiceConstants.SAMPLES_PER_FRAME) {
                "packet $i of ${stream.packets.size} holds ${samples / 48.0} ms frames; playback sends 20 ms frames " +
                    "(re-encode with opusenc --framesize 20)"
            }
            frames += split
        }
        return ListSource(frames)
    }

    /**
     * Plays Opus packets from [frames], each one 20 ms frame, as they come; the flow ends the source when it
     * completes and fails the playback when it throws. The flow is collected in a coroutine of the player's
     * context, at most one frame ahead, and cancelled when the playback ends.
     */
    public fun opusFrames(frames: Flow<ByteArray>): OpusAudioSource = FlowPacketSource(FlowPuller(frames))

    /**
     * Plays Opus packets received from [frames], each one 20 ms frame; the channel's close ends the source (closed
     * with a cause, it fails the playback). Closing the source cancels the channel, so its producer learns that
     * nobody listens any more.
     */
    public fun opusFrames(frames: ReceiveChannel<ByteArray>): OpusAudioSource = ChannelSource(frames)

    /**
     * Encodes PCM as it plays: each array of [frames] is 20 ms of interleaved 16-bit PCM in [format]
     * ([PcmFormat.samplesPerFrame] × channels shorts: 1920 for [PcmFormat.STEREO_48K], 320 for
     * [PcmFormat.MONO_16K]); an array of another size fails the playback with an [IllegalArgumentException].
     * The encoder comes from [encoder] (Concentus by default: 64 kb/s, in-band FEC) and runs on the player's
     * coroutine, one frame ahead of its send time. The flow is collected as [opusFrames] describes.
     */
    public fun pcm(
        frames: Flow<ShortArray>,
        format: PcmFormat = PcmFormat.STEREO_48K,
        encoder: OpusEncoderFactory = ConcentusEncoderFactory,
    ): OpusAudioSource = PcmSource(FlowPuller(frames), encoder.create(format))

    /**
     * A sine tone of [frequencyHz] for [duration] (rounded up to whole 20 ms frames), at [amplitude] of full scale
     * (0 to 1, default 0.25, about -12 dBFS), on both channels of 48 kHz stereo, with 5 ms fades at both ends so it
     * starts and stops without a click. Encoded by [encoder] as it plays; for tests and "can you hear me" checks.
     */
    public fun tone(
        frequencyHz: Double,
        duration: Duration,
        amplitude: Double = 0.25,
        encoder: OpusEncoderFactory = ConcentusEncoderFactory,
    ): OpusAudioSource {
        require(frequencyHz > 0 && frequencyHz < VoiceConstants.SAMPLE_RATE / 2) {
            "frequencyHz must be in (0, ${VoiceConstants.SAMPLE_RATE / 2}), was $frequencyHz"
        }
        require(amplitude in 0.0..1.0) { "amplitude must be in 0..1, was $amplitude" }
        require(!duration.isNegative() && duration.isFinite()) { "duration must be finite and not negative, was $duration" }
        val frames = ceil(duration.inWholeMicroseconds / (VoiceConstants.FRAME_MS * 1000.0)).toInt()
        return pcm(toneFrames(frequencyHz, frames, amplitude), PcmFormat.STEREO_48K, encoder)
    }

    private fun toneFrames(frequencyHz: Double, frames: Int, amplitude: Double): Flow<ShortArray> = flow {
        val perFrame = VoiceConstants.SAMPLES_PER_FRAME
        val total = frames * perFrame
        val fade = VoiceConstants.SAMPLE_RATE / 200 // 5 ms
        val step = 2 * PI * frequencyHz / VoiceConstants.SAMPLE_RATE
        for (f in 0 until frames) {
            val pcm = ShortArray(perFrame * 2)
            for (i in 0 until perFrame) {
                val n = f * perFrame + i
                val envelope = minOf(1.0, n / fade.toDouble(), (total - 1 - n) / fade.toDouble())
                val s = (amplitude * envelope * Short.MAX_VALUE * sin(step * n)).roundToInt().toShort()
                pcm[2 * i] = s
                pcm[2 * i + 1] = s
            }
            emit(pcm)
        }
    }
}

/** Frames held in memory (a file). */
private class ListSource(private val frames: List<ByteArray>) : OpusAudioSource {
    private var next = 0

    override suspend fun nextFrame(): ByteArray? = frames.getOrNull(next)?.also { next++ }
}

/**
 * Pulls the elements of a cold [Flow] one at a time: on the first [next] the flow is collected into a rendezvous
 * channel by a coroutine in the caller's context (so it runs on the player's dispatcher, and in virtual time in
 * tests) under its own [Job], which [close] cancels. The producer is at most one element ahead.
 */
private class FlowPuller<T>(private val flow: Flow<T>) : AutoCloseable {
    private var scope: CoroutineScope? = null
    private var channel: ReceiveChannel<T>? = null

    suspend fun next(): T? {
        val ch = channel ?: start()
        val result = ch.receiveCatching()
        result.exceptionOrNull()?.let { throw it }
        return result.getOrNull()
    }

    private suspend fun start(): ReceiveChannel<T> {
        // Not a child of the player: a failing flow must reach the player through the channel, not cancel it.
        val s = CoroutineScope(currentCoroutineContext().minusKey(Job) + Job())
        scope = s
        val ch = Channel<T>(Channel.RENDEZVOUS)
        channel = ch
        s.launch {
            var cause: Throwable? = null
            try {
                flow.collect { ch.send(it) }
            } catch (e: Throwable) {
                // The flow's failure goes to the reader through the channel; only cancellation goes on up.
                cause = e
                if (e is CancellationException) throw e
            } finally {
                ch.close(cause)
            }
        }
        return ch
    }

    override fun close() {
        scope?.cancel()
    }
}

private class FlowPacketSource(private val puller: FlowPuller<ByteArray>) : OpusAudioSource {
    override suspend fun nextFrame(): ByteArray? = puller.next()

    override fun close() = puller.close()
}

private class ChannelSource(private val channel: ReceiveChannel<ByteArray>) : OpusAudioSource {
    override suspend fun nextFrame(): ByteArray? {
        val result = channel.receiveCatching()
        result.exceptionOrNull()?.let { throw it }
        return result.getOrNull()
    }

    override fun close() = channel.cancel()
}

private class PcmSource(private val puller: FlowPuller<ShortArray>, private val encoder: OpusFrameEncoder) : OpusAudioSource {
    private val format = encoder.format
    private val out = ByteArray(MAX_PACKET)

    override suspend fun nextFrame(): ByteArray? {
        val pcm = puller.next() ?: return null
        val expected = format.samplesPerFrame * format.channels
        require(pcm.size == expected) {
            "a PCM frame must be 20 ms of $format: $expected shorts, was ${pcm.size}"
        }
        val n = encoder.encode(pcm, 0, format.samplesPerFrame, out)
        return out.copyOf(n)
    }

    override fun close() {
        puller.close()
        encoder.close()
    }

    private companion object {
        /** Holds any 20 ms Opus packet (1275 bytes of frame plus the TOC byte). */
        const val MAX_PACKET = 1276
    }
}
