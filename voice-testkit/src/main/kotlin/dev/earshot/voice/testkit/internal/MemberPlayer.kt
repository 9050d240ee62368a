package dev.earshot.voice.testkit.internal

import dev.earshot.voice.base.NanoClock
import dev.earshot.voice.codec.OpusPacketInfo
import dev.earshot.voice.rtp.RtpWriter
import dev.earshot.voice.testkit.MemberScript
import dev.earshot.voice.testkit.ScriptStep
import kotlin.time.Duration
import kotlin.time.Duration.Companion.nanoseconds
import kotlinx.coroutines.delay

/** One packet a scripted member sends, before per-client encryption. */
internal class PlannedFrame(
    val sequence: Int,
    val timestamp: Long,
    val marker: Boolean,
    /** One-byte-form header extension elements (a whole number of 32-bit words), or null for none. */
    val extension: ByteArray?,
    val opus: ByteArray,
    val isSilence: Boolean,
    val sentAtNanos: Long,
)

/**
 * Runs a [MemberScript] in real (or virtual) time: one frame per packet duration at absolute deadlines measured
 * from the start, so late wake-ups never accumulate into drift.
 *
 * RTP follows the schedule, not the wake-ups: a frame's timestamp is the start timestamp plus the 48 kHz samples
 * scheduled before it, so pauses make the timestamp jump by their length while the sequence number goes on by
 * one per packet. Each talk spurt ends with five `F8 FF FE` frames (20 ms apart, no header extension); speech
 * frames carry the one-word extension Discord sends (audio level id 1, speaker flags id 9).
 */
internal class MemberPlayer(
    private val script: MemberScript,
    private val clock: NanoClock,
    startSequence: Int,
    startTimestamp: Long,
    private val emit: (PlannedFrame) -> Unit,
    private val leave: () -> Unit,
    /** Suspends until the member's DAVE key is in force, or throws after the timeout given. */
    private val awaitDave: suspend (Duration) -> Unit = {},
) {
    private var sequence = startSequence and 0xFFFF
    private val baseTimestamp = startTimestamp and 0xFFFF_FFFFL
    private var scheduledSamples = 0L
    private var startNanos = 0L

    /** Plays the script after [startDelay]; returns when it ends (or leaves). Cancellable at every frame. */
    suspend fun run(startDelay: Duration) {
        startNanos = clock.nanoTime() + startDelay.inWholeNanoseconds
        for (step in script.steps) {
            when (step) {
                is ScriptStep.Play -> spurt(selectPackets(step))
                is ScriptStep.Tone -> {
                    val frames = ((step.duration.inWholeMicroseconds + FRAME_MICROS - 1) / FRAME_MICROS).toInt()
                    val encoder = ToneEncoder(step.frequencyHz, step.amplitude)
                    spurt(generateSequence { encoder.next() }.take(frames), audioLevel(step.amplitude))
                }
                is ScriptStep.Pause -> scheduledSamples += step.duration.inWholeMicroseconds * SAMPLE_RATE / 1_000_000
                is ScriptStep.AwaitDave -> {
                    awaitDeadline()
                    awaitDave(step.timeout)
                    // The wait was silence: the schedule (and the RTP timestamp) moves on by its length.
                    val late = clock.nanoTime() - deadline()
                    if (late > 0) scheduledSamples += late * SAMPLE_RATE / 1_000_000_000L
                }
                ScriptStep.Leave -> {
                    awaitDeadline()
                    leave()
                    return
                }
            }
        }
    }

    private fun selectPackets(step: ScriptStep.Play): Sequence<ByteArray> {
        val packets = step.load()
        val fromSamples = step.from.inWholeMicroseconds * SAMPLE_RATE / 1_000_000
        val limit = step.duration?.let { it.inWholeMicroseconds * SAMPLE_RATE / 1_000_000 }
        return sequence {
            var position = 0L
            var played = 0L
            for (p in packets) {
                val samples = samplesOf(p)
                if (position >= fromSamples) {
                    if (limit != null && played >= limit) break
                    yield(p)
                    played += samples
                }
                position += samples
            }
        }
    }

    private suspend fun spurt(packets: Sequence<ByteArray>, level: Int = DEFAULT_LEVEL) {
        val extension = RtpWriter.oneByteElements(
            AUDIO_LEVEL_ID to byteArrayOf((VOICE_ACTIVITY or level).toByte()),
            SPEAKER_ID to byteArrayOf(SPEAKER_VOICE.toByte()),
        )
        var first = true
        var any = false
        for (opus in packets) {
            send(opus, marker = first, extension = extension, silence = false)
            first = false
            any = true
        }
        if (!any) return
        repeat(SILENCE_FRAMES) { send(SILENCE.copyOf(), marker = false, extension = null, silence = true) }
    }

    private suspend fun send(opus: ByteArray, marker: Boolean, extension: ByteArray?, silence: Boolean) {
        awaitDeadline()
        val timestamp = (baseTimestamp + scheduledSamples) and 0xFFFF_FFFFL
        emit(PlannedFrame(sequence, timestamp, marker, extension, opus, silence, clock.nanoTime()))
        sequence = (sequence + 1) and 0xFFFF
        scheduledSamples += samplesOf(opus)
    }

    private fun deadline(): Long = startNanos + scheduledSamples * 1_000_000_000L / SAMPLE_RATE

    private suspend fun awaitDeadline() {
        val wait = deadline() - clock.nanoTime()
        if (wait > 0) delay(wait.nanoseconds)
    }

    private fun samplesOf(opus: ByteArray): Int =
        OpusPacketInfo.samplesPerChannel48k(opus, 0, opus.size).takeIf { it > 0 } ?: FRAME_SAMPLES

    companion object {
        const val SAMPLE_RATE = 48_000
        const val FRAME_SAMPLES = 960
        const val FRAME_MICROS = 20_000L
        const val SILENCE_FRAMES = 5
        const val AUDIO_LEVEL_ID = 1
        const val SPEAKER_ID = 9
        const val VOICE_ACTIVITY = 0x80
        const val SPEAKER_VOICE = 0x02
        const val DEFAULT_LEVEL = 30 // -30 dBov: ordinary speech
        val SILENCE = byteArrayOf(0xF8.toByte(), 0xFF.toByte(), 0xFE.toByte())

        /** RFC 6464 level (-dBov, 0..127) of a sine with peak [amplitude]: its RMS is peak / sqrt(2). */
        fun audioLevel(amplitude: Double): Int {
            if (amplitude <= 0) return 127
            val dbov = 20 * kotlin.math.log10(amplitude / kotlin.math.sqrt(2.0)) + 3.0103 // full-scale sine = 0 dBov
            return (-dbov).toInt().coerceIn(0, 127)
        }
    }
}
