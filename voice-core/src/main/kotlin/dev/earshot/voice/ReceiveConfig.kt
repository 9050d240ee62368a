package dev.earshot.voice

import dev.earshot.voice.base.NanoClock
import dev.earshot.voice.base.VoiceConstants
import dev.earshot.voice.codec.ConcentusDecoderFactory
import dev.earshot.voice.codec.OpusDecoderFactory
import dev.earshot.voice.codec.OpusDecoders
import dev.earshot.voice.codec.PcmFormat
import dev.earshot.voice.jitter.PlayoutDelay
import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.asCoroutineDispatcher
import kotlinx.coroutines.asExecutor
import java.util.concurrent.Executor
import kotlin.time.Duration
import kotlin.time.Duration.Companion.milliseconds
import kotlin.time.toJavaDuration
import kotlin.time.toKotlinDuration

/**
 * Immutable settings of a [VoiceReceiver]; every property states its default.
 *
 * Kotlin: `ReceiveConfig { decode = PcmFormat.MONO_16K }`. Java: `ReceiveConfig.builder().decode(PcmFormat.MONO_16K)
 * .maxConcealment(Duration.ofMillis(80)).build()`, with `java.time.Duration`s; Java reads a setting with the method
 * of the same name (`config.maxConcealment()`). Invalid values fail `build()` with an [IllegalArgumentException].
 */
public class ReceiveConfig private constructor(b: Builder) {
    /** PCM format to decode to, or null to skip decoding and deliver Opus packets only. Default [PcmFormat.STEREO_48K]. */
    @get:JvmName("decode")
    public val decode: PcmFormat? = b.decode
    /**
     * How long audio waits in each speaker's jitter buffer: [PlayoutDelay.Adaptive] (follows each speaker's measured
     * jitter between 20 and 500 ms, starting at 60 ms) or [PlayoutDelay.Fixed]. Default `PlayoutDelay.Adaptive()`:
     * it starts where the fixed delay used to sit (60 ms), so a new speaker sounds the same, and then buys latency on
     * a clean network and robustness on a jittery one instead of concealing packets that did arrive.
     */
    @get:JvmName("playout")
    public val playout: PlayoutDelay = b.playout
    /** The delay a new speaker starts with: [PlayoutDelay.Fixed.delay] or [PlayoutDelay.Adaptive.initial]. Default 60 ms. */
    @get:JvmSynthetic
    public val playoutDelay: Duration get() = playout.initial
    /** How long to conceal when a speaker's packets stop without silence frames, before ending the spurt. Default 60 ms. */
    @get:JvmSynthetic
    public val maxConcealment: Duration = b.maxConcealment
    /**
     * Jitter-buffer ring size per SSRC, in packets. Default 256 (5.12 s of 20 ms packets), so that packets piling up
     * during a stall of the machine are played late rather than flushed by a resync.
     */
    @get:JvmName("jitterCapacity")
    public val jitterCapacity: Int = b.jitterCapacity
    /** Most SSRCs tracked at once; a new one beyond it replaces the longest-idle one, or is dropped. Default 64. */
    @get:JvmName("maxSsrcs")
    public val maxSsrcs: Int = b.maxSsrcs
    /**
     * How long a packet waits for its sender's user (when the end-to-end decryptor needs it) or key before it is
     * dropped. Default 500 ms.
     */
    @get:JvmSynthetic
    public val unknownSsrcHold: Duration = b.unknownSsrcHold
    /** Packets held per unknown SSRC. Default 32. */
    @get:JvmName("holdPerSsrc")
    public val holdPerSsrc: Int = b.holdPerSsrc
    /** Unknown SSRCs held at once. Default 16. */
    @get:JvmName("maxHeldSsrcs")
    public val maxHeldSsrcs: Int = b.maxHeldSsrcs
    /** How long a speaker must be without audio before a [dev.earshot.voice.model.VoiceEvent.SpeakingStopped]. Default 200 ms. */
    @get:JvmSynthetic
    public val speakingHang: Duration = b.speakingHang
    /** Capacity of each queue between pipeline stages; overflow drops the oldest and is counted. Default 256. */
    @get:JvmName("stageQueueCapacity")
    public val stageQueueCapacity: Int = b.stageQueueCapacity
    /** Ticks buffered per tick subscriber before the oldest is dropped (and counted). Default 250 (5 s). */
    @get:JvmName("tickQueueCapacity")
    public val tickQueueCapacity: Int = b.tickQueueCapacity
    /**
     * Creates one Opus decoder per speaker. Default: native libopus when it loads (the system's, else the copy in
     * opus-java-natives), else [ConcentusDecoderFactory] (pure Java) with one logged warning, decided on the first
     * decoder created ([dev.earshot.voice.codec.OpusDecoders.nativeOrConcentus]). Set [ConcentusDecoderFactory] to
     * stay on the JVM.
     */
    @get:JvmName("decoderFactory")
    public val decoderFactory: OpusDecoderFactory = b.decoderFactory
    /**
     * Threads that decode one tick's speakers once a call has 16 or more, from a process-wide pool of one daemon thread
     * per core (`earshot-decode-N`), so a large call uses every core. Decoding runs off the thread of the receive
     * loop and clock (inline on it under a virtual [clock]); 1 decodes each tick on one thread. Default: the number
     * of available processors.
     */
    @get:JvmName("decodeThreads")
    public val decodeThreads: Int = b.decodeThreads
    /** Clock used for hold timeouts and tick deadlines. Default [NanoClock.SYSTEM]; tests inject virtual time. */
    @get:JvmName("clock")
    public val clock: NanoClock = b.clock
    /** Dispatcher of the socket reader. Default `Dispatchers.IO`. Java: [readExecutor]. */
    @get:JvmSynthetic
    public val readDispatcher: CoroutineDispatcher? = b.readDispatcher
    /** Dispatcher of the pipeline stages (used with parallelism 1). Default `Dispatchers.Default`. Java: [pipelineExecutor]. */
    @get:JvmSynthetic
    public val pipelineDispatcher: CoroutineDispatcher? = b.pipelineDispatcher

    /** [playoutDelay] for Java. */
    public fun playoutDelay(): java.time.Duration = playoutDelay.toJavaDuration()

    /** [maxConcealment] for Java. */
    public fun maxConcealment(): java.time.Duration = maxConcealment.toJavaDuration()

    /** [unknownSsrcHold] for Java. */
    public fun unknownSsrcHold(): java.time.Duration = unknownSsrcHold.toJavaDuration()

    /** [speakingHang] for Java. */
    public fun speakingHang(): java.time.Duration = speakingHang.toJavaDuration()

    /** [readDispatcher] as an [Executor] for Java, or null for the default (`Dispatchers.IO`). */
    public fun readExecutor(): Executor? = readDispatcher?.asExecutor()

    /** [pipelineDispatcher] as an [Executor] for Java, or null for the default (`Dispatchers.Default`). */
    public fun pipelineExecutor(): Executor? = pipelineDispatcher?.asExecutor()

    /** A builder holding these settings, to derive a changed copy. */
    public fun newBuilder(): Builder = Builder(this)

    /** Initial (or fixed) playout delay in whole ticks (rounded up). */
    internal val delayTicks: Int get() = ticksOf(playoutDelay)
    internal val concealTicks: Int get() = ticksOf(maxConcealment)
    internal val speakingHangTicks: Int get() = maxOf(1, ticksOf(speakingHang))

    /**
     * Mutable builder for [ReceiveConfig]; see the properties there for meanings and defaults. Kotlin sets the
     * properties (`ReceiveConfig { ... }`); Java chains the methods of the same names, which take `java.time.Duration`
     * and [Executor], and calls [build]. Not thread-safe.
     */
    public class Builder internal constructor() {
        @set:JvmSynthetic @get:JvmSynthetic
        public var decode: PcmFormat? = PcmFormat.STEREO_48K
        @set:JvmSynthetic @get:JvmSynthetic
        public var playout: PlayoutDelay = PlayoutDelay.Adaptive()
        /** Shorthand for `playout = PlayoutDelay.Fixed(value)`; reads the current mode's initial delay. */
        @set:JvmSynthetic @get:JvmSynthetic
        public var playoutDelay: Duration
            get() = playout.initial
            set(value) {
                playout = PlayoutDelay.Fixed(value)
            }
        @set:JvmSynthetic @get:JvmSynthetic
        public var maxConcealment: Duration = 60.milliseconds
        @set:JvmSynthetic @get:JvmSynthetic
        public var jitterCapacity: Int = 256
        @set:JvmSynthetic @get:JvmSynthetic
        public var maxSsrcs: Int = 64
        @set:JvmSynthetic @get:JvmSynthetic
        public var unknownSsrcHold: Duration = 500.milliseconds
        @set:JvmSynthetic @get:JvmSynthetic
        public var holdPerSsrc: Int = 32
        @set:JvmSynthetic @get:JvmSynthetic
        public var maxHeldSsrcs: Int = 16
        @set:JvmSynthetic @get:JvmSynthetic
        public var speakingHang: Duration = 200.milliseconds
        @set:JvmSynthetic @get:JvmSynthetic
        public var stageQueueCapacity: Int = 256
        @set:JvmSynthetic @get:JvmSynthetic
        public var tickQueueCapacity: Int = 250
        @set:JvmSynthetic @get:JvmSynthetic
        public var decoderFactory: OpusDecoderFactory = OpusDecoders.automatic
        @set:JvmSynthetic @get:JvmSynthetic
        public var decodeThreads: Int = Runtime.getRuntime().availableProcessors()
        @set:JvmSynthetic @get:JvmSynthetic
        public var clock: NanoClock = NanoClock.SYSTEM
        @set:JvmSynthetic @get:JvmSynthetic
        public var readDispatcher: CoroutineDispatcher? = null
        @set:JvmSynthetic @get:JvmSynthetic
        public var pipelineDispatcher: CoroutineDispatcher? = null

        internal constructor(c: ReceiveConfig) : this() {
            decode = c.decode
            playout = c.playout
            maxConcealment = c.maxConcealment
            jitterCapacity = c.jitterCapacity
            maxSsrcs = c.maxSsrcs
            unknownSsrcHold = c.unknownSsrcHold
            holdPerSsrc = c.holdPerSsrc
            maxHeldSsrcs = c.maxHeldSsrcs
            speakingHang = c.speakingHang
            stageQueueCapacity = c.stageQueueCapacity
            tickQueueCapacity = c.tickQueueCapacity
            decoderFactory = c.decoderFactory
            decodeThreads = c.decodeThreads
            clock = c.clock
            readDispatcher = c.readDispatcher
            pipelineDispatcher = c.pipelineDispatcher
        }

        /** Sets [ReceiveConfig.decode]; null delivers Opus packets only. */
        public fun decode(value: PcmFormat?): Builder = apply { decode = value }

        /** Sets [ReceiveConfig.playout]: `PlayoutDelay.adaptive()` or `PlayoutDelay.fixed(delay)`. */
        public fun playout(value: PlayoutDelay): Builder = apply { playout = value }

        /** A fixed playout delay: `playout(PlayoutDelay.fixed(value))`. */
        public fun playoutDelay(value: java.time.Duration): Builder = apply { playoutDelay = value.toKotlinDuration() }

        /** Sets [ReceiveConfig.maxConcealment]. */
        public fun maxConcealment(value: java.time.Duration): Builder = apply { maxConcealment = value.toKotlinDuration() }

        /** Sets [ReceiveConfig.jitterCapacity]. */
        public fun jitterCapacity(value: Int): Builder = apply { jitterCapacity = value }

        /** Sets [ReceiveConfig.maxSsrcs]. */
        public fun maxSsrcs(value: Int): Builder = apply { maxSsrcs = value }

        /** Sets [ReceiveConfig.unknownSsrcHold]. */
        public fun unknownSsrcHold(value: java.time.Duration): Builder = apply { unknownSsrcHold = value.toKotlinDuration() }

        /** Sets [ReceiveConfig.holdPerSsrc]. */
        public fun holdPerSsrc(value: Int): Builder = apply { holdPerSsrc = value }

        /** Sets [ReceiveConfig.maxHeldSsrcs]. */
        public fun maxHeldSsrcs(value: Int): Builder = apply { maxHeldSsrcs = value }

        /** Sets [ReceiveConfig.speakingHang]. */
        public fun speakingHang(value: java.time.Duration): Builder = apply { speakingHang = value.toKotlinDuration() }

        /** Sets [ReceiveConfig.stageQueueCapacity]. */
        public fun stageQueueCapacity(value: Int): Builder = apply { stageQueueCapacity = value }

        /** Sets [ReceiveConfig.tickQueueCapacity]. */
        public fun tickQueueCapacity(value: Int): Builder = apply { tickQueueCapacity = value }

        /** Sets [ReceiveConfig.decoderFactory]. */
        public fun decoderFactory(value: OpusDecoderFactory): Builder = apply { decoderFactory = value }

        /** Sets [ReceiveConfig.decodeThreads]. */
        public fun decodeThreads(value: Int): Builder = apply { decodeThreads = value }

        /** Sets [ReceiveConfig.clock]. */
        public fun clock(value: NanoClock): Builder = apply { clock = value }

        /** Runs the socket reader on [value] (null: the default, `Dispatchers.IO`); Java's [readDispatcher]. */
        public fun readExecutor(value: Executor?): Builder = apply { readDispatcher = value?.asCoroutineDispatcher() }

        /** Runs the pipeline stages on [value] (null: the default, `Dispatchers.Default`); Java's [pipelineDispatcher]. */
        public fun pipelineExecutor(value: Executor?): Builder = apply { pipelineDispatcher = value?.asCoroutineDispatcher() }

        /** The settings; throws [IllegalArgumentException] when a value is out of range. */
        public fun build(): ReceiveConfig {
            require(!maxConcealment.isNegative()) { "maxConcealment must not be negative, was $maxConcealment" }
            require(!unknownSsrcHold.isNegative()) { "unknownSsrcHold must not be negative, was $unknownSsrcHold" }
            require(!speakingHang.isNegative()) { "speakingHang must not be negative, was $speakingHang" }
            require(jitterCapacity >= 4) { "jitterCapacity must be at least 4, was $jitterCapacity" }
            require(maxSsrcs >= 1) { "maxSsrcs must be at least 1, was $maxSsrcs" }
            require(holdPerSsrc >= 1) { "holdPerSsrc must be at least 1, was $holdPerSsrc" }
            require(maxHeldSsrcs >= 0) { "maxHeldSsrcs must not be negative, was $maxHeldSsrcs" }
            require(stageQueueCapacity >= 1) { "stageQueueCapacity must be at least 1, was $stageQueueCapacity" }
            require(tickQueueCapacity >= 1) { "tickQueueCapacity must be at least 1, was $tickQueueCapacity" }
            require(decodeThreads >= 1) { "decodeThreads must be at least 1, was $decodeThreads" }
            return ReceiveConfig(this)
        }
    }

    /** The defaults, and the builder for Java. */
    public companion object {
        /** The defaults. */
        @JvmField
        public val DEFAULT: ReceiveConfig = Builder().build()

        /** A builder with every setting at its default (Java; Kotlin uses `ReceiveConfig { ... }`). */
        @JvmStatic
        public fun builder(): Builder = Builder()

        private fun ticksOf(d: Duration): Int =
            ((d.inWholeMilliseconds + VoiceConstants.FRAME_MS - 1) / VoiceConstants.FRAME_MS).toInt()
    }
}

/** Builds a [ReceiveConfig]: `ReceiveConfig { decode = PcmFormat.MONO_16K }`. */
public fun ReceiveConfig(block: ReceiveConfig.Builder.() -> Unit = {}): ReceiveConfig =
    ReceiveConfig.Builder().apply(block).build()
