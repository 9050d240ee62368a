package dev.earshot.voice.testkit

import dev.earshot.voice.files.OggOpusReader
import dev.earshot.voice.files.OggOpusStream
import java.nio.file.Path
import kotlin.time.Duration
import kotlin.time.Duration.Companion.seconds
import kotlin.time.toJavaDuration
import kotlin.time.toKotlinDuration

/**
 * What a [ScriptedMember] does, step by step. Build one with the Kotlin DSL:
 * ```
 * val script = MemberScript {
 *     play(Path.of("speech.opus"), from = 1.seconds, duration = 2.seconds)
 *     pause(500.milliseconds)
 *     tone(440.0, 1.seconds)
 *     leave()
 * }
 * ```
 * or, from Java, with the fluent [builder]:
 * ```
 * MemberScript script = MemberScript.builder()
 *     .tone(440, Duration.ofSeconds(1))
 *     .pause(Duration.ofMillis(500))
 *     .leave()
 *     .build();
 * ```
 * Each [ScriptStep.Play] and [ScriptStep.Tone] is one talk spurt: its frames, then five `F8 FF FE` silence frames.
 * A script that ends without [ScriptStep.Leave] leaves the member in the channel, silent.
 */
public class MemberScript(
    /** The steps, in order. */
    public val steps: List<ScriptStep>,
) {
    /**
     * Collects steps; see [MemberScript]. Every method appends one step and returns this builder, so Java can chain
     * calls; [build] makes the script. Durations are `java.time.Duration` for Java and `kotlin.time.Duration` for Kotlin.
     */
    public class Builder internal constructor() {
        internal val steps = ArrayList<ScriptStep>()

        /**
         * Plays the Ogg Opus file at [path] without re-encoding, from [from] into the file for [duration] (to the
         * end when null). The file is read when the step starts.
         */
        @JvmSynthetic
        public fun play(path: Path, from: Duration = Duration.ZERO, duration: Duration? = null): Builder = apply {
            steps += ScriptStep.Play(path.fileName.toString(), from, duration) { OggOpusReader.read(path).packets }
        }

        /** Plays the whole Ogg Opus file at [path] without re-encoding; read when the step starts. */
        public fun play(path: Path): Builder = play(path, Duration.ZERO, null)

        /**
         * Plays the Ogg Opus file at [path] from [from] into the file for [duration] (to the end when null); see the
         * other [play].
         */
        public fun play(path: Path, from: java.time.Duration, duration: java.time.Duration?): Builder =
            play(path, from.toKotlinDuration(), duration?.toKotlinDuration())

        /** Plays the packets of an already-read Ogg Opus [stream]; see the other [play]. */
        @JvmSynthetic
        public fun play(stream: OggOpusStream, from: Duration = Duration.ZERO, duration: Duration? = null): Builder = apply {
            steps += ScriptStep.Play("stream", from, duration) { stream.packets }
        }

        /** Plays all packets of an already-read Ogg Opus [stream]. */
        public fun play(stream: OggOpusStream): Builder = play(stream, Duration.ZERO, null)

        /** Plays the packets of [stream] from [from] for [duration] (to the end when null). */
        public fun play(stream: OggOpusStream, from: java.time.Duration, duration: java.time.Duration?): Builder =
            play(stream, from.toKotlinDuration(), duration?.toKotlinDuration())

        /** Plays raw Opus [packets] (each one RTP payload, any duration Opus allows); see the other [play]. */
        @JvmSynthetic
        public fun playPackets(packets: List<ByteArray>, from: Duration = Duration.ZERO, duration: Duration? = null): Builder = apply {
            val copy = packets.map { it.copyOf() }
            steps += ScriptStep.Play("packets", from, duration) { copy }
        }

        /** Plays all of the raw Opus [packets] (each one RTP payload). */
        public fun playPackets(packets: List<ByteArray>): Builder = playPackets(packets, Duration.ZERO, null)

        /** Plays raw Opus [packets] from [from] for [duration] (to the end when null). */
        public fun playPackets(packets: List<ByteArray>, from: java.time.Duration, duration: java.time.Duration?): Builder =
            playPackets(packets, from.toKotlinDuration(), duration?.toKotlinDuration())

        /**
         * Sends a sine of [frequencyHz] for [duration] (rounded up to 20 ms frames) at [amplitude] (0..1 of full
         * scale; default 0.25), encoded on the fly with Concentus (48 kHz stereo, 20 ms, 64 kbit/s).
         */
        @JvmSynthetic
        public fun tone(frequencyHz: Double, duration: Duration, amplitude: Double = DEFAULT_AMPLITUDE): Builder = apply {
            steps += ScriptStep.Tone(frequencyHz, duration, amplitude)
        }

        /** A sine of [frequencyHz] for [duration] at amplitude 0.25; see the other [tone]. */
        public fun tone(frequencyHz: Double, duration: java.time.Duration): Builder =
            tone(frequencyHz, duration.toKotlinDuration(), DEFAULT_AMPLITUDE)

        /** A sine of [frequencyHz] for [duration] at [amplitude] (0..1 of full scale); see the other [tone]. */
        public fun tone(frequencyHz: Double, duration: java.time.Duration, amplitude: Double): Builder =
            tone(frequencyHz, duration.toKotlinDuration(), amplitude)

        /** Sends nothing for [duration]; the RTP timestamp moves on by the same time, as a real sender's does. */
        @JvmSynthetic
        public fun pause(duration: Duration): Builder = apply {
            steps += ScriptStep.Pause(duration)
        }

        /** Sends nothing for [duration]; see the other [pause]. */
        public fun pause(duration: java.time.Duration): Builder = pause(duration.toKotlinDuration())

        /**
         * Waits until the member's DAVE key is in force (it joined the channel's group and executed the transition),
         * so nothing after this step goes out unencrypted; the RTP timestamp moves on by the time waited, as after a
         * [pause]. Returns at once for a transport-only member or call. Fails the script after [timeout] (default 10 s).
         */
        @JvmSynthetic
        public fun awaitDave(timeout: Duration = 10.seconds): Builder = apply {
            steps += ScriptStep.AwaitDave(timeout)
        }

        /** Waits at most 10 s for the member's DAVE key; see the other [awaitDave]. */
        public fun awaitDave(): Builder = awaitDave(10.seconds)

        /** Waits at most [timeout] for the member's DAVE key; see the other [awaitDave]. */
        public fun awaitDave(timeout: java.time.Duration): Builder = awaitDave(timeout.toKotlinDuration())

        /** Leaves the channel: every client gets op 13 for this member. Steps after it never run. */
        public fun leave(): Builder = apply {
            steps += ScriptStep.Leave
        }

        /** The script of the steps so far (later calls do not change it). */
        public fun build(): MemberScript = MemberScript(steps.toList())
    }

    /** Builds scripts. */
    public companion object {
        private const val DEFAULT_AMPLITUDE = 0.25

        /** A script built by [build] (Kotlin; Java uses [builder]). */
        @JvmSynthetic
        public operator fun invoke(build: Builder.() -> Unit): MemberScript = Builder().apply(build).build()

        /** An empty [Builder], for Java: `MemberScript.builder().tone(440, Duration.ofSeconds(1)).build()`. */
        @JvmStatic
        public fun builder(): Builder = Builder()

        /** A script that does nothing: the member joins and stays silent. */
        @JvmField
        public val SILENT: MemberScript = MemberScript(emptyList())
    }
}

/**
 * One step of a [MemberScript]. Kotlin reads the durations as `kotlin.time.Duration` properties, Java through the
 * getters of the same name returning `java.time.Duration`.
 */
public sealed interface ScriptStep {
    /** Play Opus packets from [from] for [duration] (to the end when null); [source] names where they come from. */
    public class Play internal constructor(
        /** A short description of the source (file name, "stream" or "packets"). */
        public val source: String,
        /** Where in the packets to start (rounded down to a packet boundary). */
        @get:JvmSynthetic public val from: Duration,
        /** How much to play, or null for the rest. */
        @get:JvmSynthetic public val duration: Duration?,
        internal val load: () -> List<ByteArray>,
    ) : ScriptStep {
        init {
            require(!from.isNegative()) { "from must not be negative" }
            require(duration == null || !duration.isNegative()) { "duration must not be negative" }
        }

        /** [from] for Java. */
        @get:JvmName("getFrom")
        public val javaFrom: java.time.Duration get() = from.toJavaDuration()

        /** [duration] for Java (null for the rest). */
        @get:JvmName("getDuration")
        public val javaDuration: java.time.Duration? get() = duration?.toJavaDuration()

        override fun toString(): String = "Play($source, from=$from, duration=$duration)"
    }

    /** A Concentus-encoded sine; see [MemberScript.Builder.tone]. Compared by value. */
    public class Tone(
        /** Frequency in Hz. */
        public val frequencyHz: Double,
        /** Length, rounded up to whole 20 ms frames. */
        @get:JvmSynthetic public val duration: Duration,
        /** Peak amplitude, 0..1 of full scale. */
        public val amplitude: Double,
    ) : ScriptStep {
        init {
            require(frequencyHz > 0 && frequencyHz < 24_000) { "frequency must be in (0, 24000) Hz" }
            require(amplitude in 0.0..1.0) { "amplitude must be 0..1" }
            require(!duration.isNegative()) { "duration must not be negative" }
        }

        /** A tone of [frequencyHz] for [duration] at [amplitude], for Java. */
        public constructor(frequencyHz: Double, duration: java.time.Duration, amplitude: Double) :
            this(frequencyHz, duration.toKotlinDuration(), amplitude)

        /** [duration] for Java. */
        @get:JvmName("getDuration")
        public val javaDuration: java.time.Duration get() = duration.toJavaDuration()

        override fun equals(other: Any?): Boolean = other is Tone && other.frequencyHz == frequencyHz &&
            other.duration == duration && other.amplitude == amplitude

        override fun hashCode(): Int = (frequencyHz.hashCode() * 31 + duration.hashCode()) * 31 + amplitude.hashCode()

        override fun toString(): String = "Tone(frequencyHz=$frequencyHz, duration=$duration, amplitude=$amplitude)"
    }

    /** Silence without packets for [duration]. Compared by value. */
    public class Pause(
        /** How long. */
        @get:JvmSynthetic public val duration: Duration,
    ) : ScriptStep {
        init {
            require(!duration.isNegative()) { "duration must not be negative" }
        }

        /** A pause of [duration], for Java. */
        public constructor(duration: java.time.Duration) : this(duration.toKotlinDuration())

        /** [duration] for Java. */
        @get:JvmName("getDuration")
        public val javaDuration: java.time.Duration get() = duration.toJavaDuration()

        override fun equals(other: Any?): Boolean = other is Pause && other.duration == duration

        override fun hashCode(): Int = duration.hashCode()

        override fun toString(): String = "Pause(duration=$duration)"
    }

    /** Wait for the member's DAVE key; see [MemberScript.Builder.awaitDave]. Compared by value. */
    public class AwaitDave(
        /** How long to wait at most before the script fails. */
        @get:JvmSynthetic public val timeout: Duration,
    ) : ScriptStep {
        init {
            require(timeout.isPositive()) { "timeout must be positive" }
        }

        /** A wait of at most [timeout], for Java. */
        public constructor(timeout: java.time.Duration) : this(timeout.toKotlinDuration())

        /** [timeout] for Java. */
        @get:JvmName("getTimeout")
        public val javaTimeout: java.time.Duration get() = timeout.toJavaDuration()

        override fun equals(other: Any?): Boolean = other is AwaitDave && other.timeout == timeout

        override fun hashCode(): Int = timeout.hashCode()

        override fun toString(): String = "AwaitDave(timeout=$timeout)"
    }

    /** Leave the channel (op 13 to every client). */
    public data object Leave : ScriptStep
}
