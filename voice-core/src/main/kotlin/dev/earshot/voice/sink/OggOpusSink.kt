package dev.earshot.voice.sink

import dev.earshot.voice.model.AudioFrame
import dev.earshot.voice.base.VoiceConstants.SAMPLES_PER_FRAME
import dev.earshot.voice.codec.OpusPacketInfo
import dev.earshot.voice.files.OggOpusWriter
import dev.earshot.voice.model.VoiceTick

/**
 * Writes one speaker's received Opus packets into an Ogg Opus file **without re-encoding** (lossless capture), on a
 * continuous timeline from [startTick] (default the t0 of the [Listening] it is started with, else the first tick it
 * sees) through the listening's end tick: ticks without a packet (pauses, lost packets, time before the first word)
 * become silence in the file, so its duration and timing match the recording. Give it ticks carrying only one
 * speaker's frames (as [PerUserSink] does). Closes [writer] in [cleanup].
 */
public class OggOpusSink(private val writer: OggOpusWriter, private val startTick: Long? = null) : AudioSink {
    private var nextTick = -1L
    // Samples of the last packet that reach into later ticks (40/60 ms packets).
    private var covered = 0
    private var listening: Listening? = null

    override suspend fun onStart(listening: Listening) {
        this.listening = listening
    }

    override val wants: AudioFormat get() = AudioFormat.Opus
    override val overflow: SinkOverflow get() = SinkOverflow.Buffer()

    override suspend fun write(user: VoiceUser?, data: AudioFrame) {
        // Timing needs whole ticks; onTick does the work.
    }

    override suspend fun onTick(tick: VoiceTick) {
        if (nextTick < 0) nextTick = startTick ?: listening?.startTick ?: tick.tick
        if (tick.tick < nextTick) return
        if (tick.tick > nextTick) gap(tick.tick - nextTick)
        nextTick = tick.tick + 1
        val frame = tick.speaking.firstOrNull()
        val opus = frame?.opus
        if (opus != null) {
            covered = 0
            written(opus)
            for (extra in frame.extraOpus) written(extra)
            return
        }
        empty()
    }

    override suspend fun cleanup() {
        // Every file of a recording ends with the same tick: the listening's end, when it ended normally.
        val end = listening?.endTick
        if (end != null) {
            if (nextTick < 0) nextTick = startTick ?: listening?.startTick ?: end + 1
            while (nextTick <= end) {
                empty()
                nextTick++
            }
        }
        writer.close()
    }

    /** A tick without a packet: covered by the last long packet, or silence. */
    private fun empty() {
        if (covered >= SAMPLES_PER_FRAME) covered -= SAMPLES_PER_FRAME else gap(1)
    }

    private fun written(opus: ByteArray) {
        val samples = OpusPacketInfo.samplesPerChannel48k(opus, 0, opus.size)
        if (samples <= 0 || !writer.writePacket(opus, 0, opus.size, samples)) {
            writer.writeGap(SAMPLES_PER_FRAME)
            return
        }
        covered += samples - SAMPLES_PER_FRAME
    }

    private fun gap(ticks: Long) {
        var left = ticks
        while (left > 0) {
            val n = minOf(left, 50L).toInt()
            writer.writeGap(n * SAMPLES_PER_FRAME)
            left -= n
        }
    }
}
