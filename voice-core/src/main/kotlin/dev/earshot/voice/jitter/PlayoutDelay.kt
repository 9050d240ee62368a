package dev.earshot.voice.jitter

import kotlin.time.Duration
import kotlin.time.Duration.Companion.milliseconds
import kotlin.time.toJavaDuration
import kotlin.time.toKotlinDuration

/**
 * How long a speaker's audio waits in its jitter buffer before it plays: the price paid in latency so that packets
 * delayed or reordered by the network still arrive before their turn. Set with `ReceiveConfig { playout = ... }`
 * (Java: `ReceiveConfig.builder().playout(PlayoutDelay.fixed(Duration.ofMillis(100)))`).
 *
 * - [Adaptive] (the default) measures each speaker's arrival jitter and follows it, the way WebRTC's NetEq does:
 *   lower latency on a clean network, more buffering on a jittery one (mobile, Wi-Fi).
 * - [Fixed] always applies the same delay.
 *
 * Delays count from the arrival of the speaker's fastest recent packet; as playout runs in 20 ms ticks, the delay
 * applied lies between the set one and one tick more (a fixed delay is first rounded up to whole ticks). Whatever the mode, a talk spurt is placed by its RTP timestamp relative
 * to the speaker's earlier audio, so pauses keep their length; the delay only changes at talk-spurt boundaries (and,
 * in [Adaptive], grows mid-spurt where the buffer has run dry and concealment plays anyway).
 */
public sealed class PlayoutDelay {
    /** The delay a new speaker starts with. */
    @get:JvmSynthetic
    public abstract val initial: Duration

    /** [initial] for Java. */
    public fun initial(): java.time.Duration = initial.toJavaDuration()

    /**
     * The same delay for every speaker and talk spurt (rounded up to whole ticks; 60 ms = 3 ticks). Packets later
     * than that are concealed and counted late.
     */
    public class Fixed(@get:JvmSynthetic public val delay: Duration) : PlayoutDelay() {
        init {
            require(!delay.isNegative()) { "playout delay must not be negative" }
        }

        @get:JvmSynthetic
        override val initial: Duration get() = delay

        /** [delay] for Java. */
        public fun delay(): java.time.Duration = delay.toJavaDuration()
        override fun equals(other: Any?): Boolean = other is Fixed && other.delay == delay
        override fun hashCode(): Int = delay.hashCode()
        override fun toString(): String = "PlayoutDelay.Fixed($delay)"
    }

    /**
     * A per-speaker delay that follows the measured arrival jitter (see `jitter/DelayEstimator` for the estimator):
     * it grows as soon as packets come late, and shrinks (by at most one 20 ms tick per talk-spurt boundary) once
     * the network has calmed down. It never leaves [[min], [max]].
     *
     * @property min the lowest delay; default 20 ms (one tick: a packet arriving exactly on time still has a whole
     *   tick of slack for scheduling noise).
     * @property max the highest delay; default 500 ms. Jitter beyond it is concealed and counted late.
     * @property initial the delay before anything is known about a speaker's network; default 60 ms.
     */
    public class Adaptive(
        @get:JvmSynthetic public val min: Duration = 20.milliseconds,
        @get:JvmSynthetic public val max: Duration = 500.milliseconds,
        @get:JvmSynthetic override val initial: Duration = 60.milliseconds,
    ) : PlayoutDelay() {
        /** [min] for Java. */
        public fun min(): java.time.Duration = min.toJavaDuration()

        /** [max] for Java. */
        public fun max(): java.time.Duration = max.toJavaDuration()

        init {
            require(!min.isNegative()) { "min playout delay must not be negative" }
            require(max >= min) { "max playout delay ($max) must not be below min ($min)" }
            require(initial in min..max) { "initial playout delay ($initial) must lie in [$min, $max]" }
            require(max <= 5_000.milliseconds) { "max playout delay must not exceed 5 s" }
        }

        override fun equals(other: Any?): Boolean =
            other is Adaptive && other.min == min && other.max == max && other.initial == initial
        override fun hashCode(): Int = (min.hashCode() * 31 + max.hashCode()) * 31 + initial.hashCode()
        override fun toString(): String = "PlayoutDelay.Adaptive(min=$min, max=$max, initial=$initial)"
    }

    /** Factories for Java, where the constructors (taking `kotlin.time.Duration`) are out of reach. */
    public companion object {
        /** `Fixed(delay)`: the same delay for every speaker. */
        @JvmStatic
        public fun fixed(delay: java.time.Duration): PlayoutDelay = Fixed(delay.toKotlinDuration())

        /** `Adaptive()`: the default adaptive delay (20 ms to 500 ms, starting at 60 ms). */
        @JvmStatic
        public fun adaptive(): PlayoutDelay = Adaptive()

        /** `Adaptive(min, max, initial)`. */
        @JvmStatic
        public fun adaptive(min: java.time.Duration, max: java.time.Duration, initial: java.time.Duration): PlayoutDelay =
            Adaptive(min.toKotlinDuration(), max.toKotlinDuration(), initial.toKotlinDuration())
    }
}
