package dev.earshot.voice

import dev.earshot.voice.codec.ConcentusDecoderFactory
import dev.earshot.voice.codec.OpusDecoderFactory
import dev.earshot.voice.codec.OpusDecoders
import dev.earshot.voice.codec.PcmFormat
import kotlinx.coroutines.CoroutineDispatcher
import kotlin.time.Duration
import kotlin.time.Duration.Companion.milliseconds

/**
 * Immutable settings of a [VoiceReceiver]. Build one with `ReceiveConfig { decode = PcmFormat.MONO_16K }`;
 * every property states its default.
 */
public class ReceiveConfig private constructor(b: Builder) {
    /** PCM format to decode to, or null to skip decoding and deliver Opus packets only. Default [PcmFormat.STEREO_48K]. */
    public val decode: PcmFormat? = b.decode
    /**
     * How long audio waits in each speaker's jitter buffer: [PlayoutDelay.Adaptive] (follows each speaker's measured
     * jitter between 20 and 500 ms, starting at 60 ms) or [PlayoutDelay.Fixed]. Default `PlayoutDelay.Adaptive()`:
     * it starts where the fixed delay used to sit (60 ms), so a new speaker sounds the same, and then buys latency on
     * a clean network and robustness on a jittery one instead of concealing packets that did arrive.
     */
    public val playout: PlayoutDelay = b.playout
    /** The delay a new speaker starts with: [PlayoutDelay.Fixed.delay] or [PlayoutDelay.Adaptive.initial]. Default 60 ms. */
    public val playoutDelay: Duration get() = playout.initial
    /** How long to conceal when a speaker's packets stop without silence frames, before ending the spurt. Default 60 ms. */
    public val maxConcealment: Duration = b.maxConcealment
    /**
     * Jitter-buffer ring size per SSRC, in packets. Default 256 (5.12 s of 20 ms packets), so that packets piling up
     * during a stall of the machine are played late rather than flushed by a resync.
     */
    public val jitterCapacity: Int = b.jitterCapacity
    /** Most SSRCs tracked at once; a new one beyond it replaces the longest-idle one, or is dropped. Default 64. */
    public val maxSsrcs: Int = b.maxSsrcs
    /**
     * How long a packet waits for its sender's user (when the end-to-end decryptor needs it) or key before it is
     * dropped. Default 500 ms.
     */
    public val unknownSsrcHold: Duration = b.unknownSsrcHold
    /** Packets held per unknown SSRC. Default 32. */
    public val holdPerSsrc: Int = b.holdPerSsrc
    /** Unknown SSRCs held at once. Default 16. */
    public val maxHeldSsrcs: Int = b.maxHeldSsrcs
    /** How long a speaker must be without audio before a [dev.earshot.voice.model.VoiceEvent.SpeakingStopped]. Default 200 ms. */
    public val speakingHang: Duration = b.speakingHang
    /** Capacity of each queue between pipeline stages; overflow drops the oldest and is counted. Default 256. */
    public val stageQueueCapacity: Int = b.stageQueueCapacity
    /** Ticks buffered per tick subscriber before the oldest is dropped (and counted). Default 250 (5 s). */
    public val tickQueueCapacity: Int = b.tickQueueCapacity
    /**
     * Creates one Opus decoder per speaker. Default: native libopus when it loads (the system's, else the copy in
     * opus-java-natives), else [ConcentusDecoderFactory] (pure Java) with one logged warning, decided on the first
     * decoder created ([dev.earshot.voice.codec.OpusDecoders.nativeOrConcentus]). Set [ConcentusDecoderFactory] to
     * stay on the JVM.
     */
    public val decoderFactory: OpusDecoderFactory = b.decoderFactory
    /**
     * Threads that decode one tick's speakers once a call has 16 or more: the receive clock's own plus helpers from a
     * process-wide pool of one daemon thread per extra core (`earshot-decode-N`), so a large call uses every core.
     * 1 decodes on the clock's thread only. Default: the number of available processors.
     */
    public val decodeThreads: Int = b.decodeThreads
    /** Clock used for hold timeouts and tick deadlines. Default [NanoClock.SYSTEM]; tests inject virtual time. */
    public val clock: NanoClock = b.clock
    /** Dispatcher of the socket reader. Default `Dispatchers.IO`. */
    public val readDispatcher: CoroutineDispatcher? = b.readDispatcher
    /** Dispatcher of the pipeline stages (used with parallelism 1). Default `Dispatchers.Default`. */
    public val pipelineDispatcher: CoroutineDispatcher? = b.pipelineDispatcher

    /** Initial (or fixed) playout delay in whole ticks (rounded up). */
    internal val delayTicks: Int get() = ticksOf(playoutDelay)
    internal val concealTicks: Int get() = ticksOf(maxConcealment)
    internal val speakingHangTicks: Int get() = maxOf(1, ticksOf(speakingHang))

    /** Mutable builder for [ReceiveConfig]; see the properties there for meanings and defaults. */
    public class Builder internal constructor() {
        public var decode: PcmFormat? = PcmFormat.STEREO_48K
        public var playout: PlayoutDelay = PlayoutDelay.Adaptive()
        /** Shorthand for `playout = PlayoutDelay.Fixed(value)`; reads the current mode's initial delay. */
        public var playoutDelay: Duration
            get() = playout.initial
            set(value) {
                playout = PlayoutDelay.Fixed(value)
            }
        public var maxConcealment: Duration = 60.milliseconds
        public var jitterCapacity: Int = 256
        public var maxSsrcs: Int = 64
        public var unknownSsrcHold: Duration = 500.milliseconds
        public var holdPerSsrc: Int = 32
        public var maxHeldSsrcs: Int = 16
        public var speakingHang: Duration = 200.milliseconds
        public var stageQueueCapacity: Int = 256
        public var tickQueueCapacity: Int = 250
        public var decoderFactory: OpusDecoderFactory = OpusDecoders.automatic
        public var decodeThreads: Int = Runtime.getRuntime().availableProcessors()
        public var clock: NanoClock = NanoClock.SYSTEM
        public var readDispatcher: CoroutineDispatcher? = null
        public var pipelineDispatcher: CoroutineDispatcher? = null

        internal fun build(): ReceiveConfig {
            require(!maxConcealment.isNegative()) { "maxConcealment must not be negative" }
            require(jitterCapacity >= 4) { "jitterCapacity must be at least 4" }
            require(maxSsrcs >= 1 && holdPerSsrc >= 1 && maxHeldSsrcs >= 0) { "limits must be positive" }
            require(stageQueueCapacity >= 1 && tickQueueCapacity >= 1) { "queue capacities must be positive" }
            require(decodeThreads >= 1) { "decodeThreads must be at least 1" }
            return ReceiveConfig(this)
        }
    }

    public companion object {
        /** The defaults. */
        public val DEFAULT: ReceiveConfig = Builder().build()

        private fun ticksOf(d: Duration): Int =
            ((d.inWholeMilliseconds + VoiceConstants.FRAME_MS - 1) / VoiceConstants.FRAME_MS).toInt()
    }
}

/** Builds a [ReceiveConfig]: `ReceiveConfig { decode = PcmFormat.MONO_16K }`. */
public fun ReceiveConfig(block: ReceiveConfig.Builder.() -> Unit = {}): ReceiveConfig =
    ReceiveConfig.Builder().apply(block).build()
