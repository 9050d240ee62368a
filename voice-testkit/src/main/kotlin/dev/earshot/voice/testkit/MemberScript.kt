package dev.earshot.voice.testkit

import dev.earshot.voice.files.OggOpusReader
import dev.earshot.voice.files.OggOpusStream
import java.nio.file.Path
import kotlin.time.Duration
import kotlin.time.Duration.Companion.seconds

/**
 * What a [ScriptedMember] does, step by step. Build one with the DSL:
 * ```
 * val script = MemberScript {
 *     play(Path.of("speech.opus"), from = 1.seconds, duration = 2.seconds)
 *     pause(500.milliseconds)
 *     tone(440.0, 1.seconds)
 *     leave()
 * }
 * ```
 * Each [ScriptStep.Play] and [ScriptStep.Tone] is one talk spurt: its frames, then five `F8 FF FE` silence frames.
 * A script that ends without [ScriptStep.Leave] leaves the member in the channel, silent.
 */
public class MemberScript(
    /** The steps, in order. */
    public val steps: List<ScriptStep>,
) {
    /** Collects steps; see [MemberScript]. */
    public class Builder internal constructor() {
        internal val steps = ArrayList<ScriptStep>()

        /**
         * Plays the Ogg Opus file at [path] without re-encoding, from [from] into the file for [duration] (to the
         * end when null). The file is read when the step starts.
         */
        public fun play(path: Path, from: Duration = Duration.ZERO, duration: Duration? = null) {
            steps += ScriptStep.Play(path.fileName.toString(), from, duration) { OggOpusReader.read(path).packets }
        }

        /** Plays the packets of an already-read Ogg Opus [stream]; see the other [play]. */
        public fun play(stream: OggOpusStream, from: Duration = Duration.ZERO, duration: Duration? = null) {
            steps += ScriptStep.Play("stream", from, duration) { stream.packets }
        }

        /** Plays raw Opus [packets] (each one RTP payload, any duration Opus allows); see the other [play]. */
        public fun playPackets(packets: List<ByteArray>, from: Duration = Duration.ZERO, duration: Duration? = null) {
            val copy = packets.map { it.copyOf() }
            steps += ScriptStep.Play("packets", from, duration) { copy }
        }

        /**
         * Sends a sine of [frequencyHz] for [duration] (rounded up to 20 ms frames) at [amplitude] (0..1 of full
         * scale; default 0.25), encoded on the fly with Concentus (48 kHz stereo, 20 ms, 64 kbit/s).
         */
        public fun tone(frequencyHz: Double, duration: Duration, amplitude: Double = 0.25) {
            steps += ScriptStep.Tone(frequencyHz, duration, amplitude)
        }

        /** Sends nothing for [duration]; the RTP timestamp moves on by the same time, as a real sender's does. */
        public fun pause(duration: Duration) {
            steps += ScriptStep.Pause(duration)
        }

        /**
         * Waits until the member's DAVE key is in force (it joined the channel's group and executed the transition),
         * so nothing after this step goes out unencrypted; the RTP timestamp moves on by the time waited, as after a
         * [pause]. Returns at once for a transport-only member or call. Fails the script after [timeout] (default 10 s).
         */
        public fun awaitDave(timeout: Duration = 10.seconds) {
            steps += ScriptStep.AwaitDave(timeout)
        }

        /** Leaves the channel: every client gets op 13 for this member. Steps after it never run. */
        public fun leave() {
            steps += ScriptStep.Leave
        }
    }

    /** Builds scripts. */
    public companion object {
        /** A script built by [build]. */
        public operator fun invoke(build: Builder.() -> Unit): MemberScript = MemberScript(Builder().apply(build).steps.toList())

        /** A script that does nothing: the member joins and stays silent. */
        public val SILENT: MemberScript = MemberScript(emptyList())
    }
}

/** One step of a [MemberScript]. */
public sealed interface ScriptStep {
    /** Play Opus packets from [from] for [duration] (to the end when null); [source] names where they come from. */
    public class Play internal constructor(
        /** A short description of the source (file name, "stream" or "packets"). */
        public val source: String,
        /** Where in the packets to start (rounded down to a packet boundary). */
        public val from: Duration,
        /** How much to play, or null for the rest. */
        public val duration: Duration?,
        internal val load: () -> List<ByteArray>,
    ) : ScriptStep {
        init {
            require(!from.isNegative()) { "from must not be negative" }
            require(duration == null || !duration.isNegative()) { "duration must not be negative" }
        }

        override fun toString(): String = "Play($source, from=$from, duration=$duration)"
    }

    /** A Concentus-encoded sine; see [MemberScript.Builder.tone]. */
    public data class Tone(
        /** Frequency in Hz. */
        val frequencyHz: Double,
        /** Length, rounded up to whole 20 ms frames. */
        val duration: Duration,
        /** Peak amplitude, 0..1 of full scale. */
        val amplitude: Double,
    ) : ScriptStep {
        init {
            require(frequencyHz > 0 && frequencyHz < 24_000) { "frequency must be in (0, 24000) Hz" }
            require(amplitude in 0.0..1.0) { "amplitude must be 0..1" }
            require(!duration.isNegative()) { "duration must not be negative" }
        }
    }

    /** Silence without packets for [duration]. */
    public data class Pause(
        /** How long. */
        val duration: Duration,
    ) : ScriptStep {
        init {
            require(!duration.isNegative()) { "duration must not be negative" }
        }
    }

    /** Wait for the member's DAVE key; see [MemberScript.Builder.awaitDave]. */
    public data class AwaitDave(
        /** How long to wait at most before the script fails. */
        val timeout: Duration,
    ) : ScriptStep {
        init {
            require(timeout.isPositive()) { "timeout must be positive" }
        }
    }

    /** Leave the channel (op 13 to every client). */
    public data object Leave : ScriptStep
}
