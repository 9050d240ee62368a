package dev.earshot.voice.pipeline

import dev.earshot.voice.base.NanoClock
import dev.earshot.voice.codec.OpusDecoderFactory
import dev.earshot.voice.codec.PcmFormat
import dev.earshot.voice.jitter.PlayoutDelay
import kotlinx.coroutines.CoroutineDispatcher
import java.util.concurrent.Executor
import kotlin.time.Duration

/**
 * What the receive pipeline needs of the receiver's settings, with durations already in ticks where the stages count
 * ticks. The front builds it from the public `ReceiveConfig` (whose properties give the meanings and defaults), so
 * the pipeline never imports the package above it.
 */
internal class PipelineSettings(
    val decode: PcmFormat?,
    val playout: PlayoutDelay,
    val concealTicks: Int,
    val jitterCapacity: Int,
    val maxSsrcs: Int,
    val unknownSsrcHold: Duration,
    val holdPerSsrc: Int,
    val maxHeldSsrcs: Int,
    val speakingHangTicks: Int,
    val stageQueueCapacity: Int,
    val tickQueueCapacity: Int,
    val decoderFactory: OpusDecoderFactory,
    val decodeThreads: Int,
    val clock: NanoClock,
    val readDispatcher: CoroutineDispatcher?,
    val pipelineDispatcher: CoroutineDispatcher?,
    /**
     * Where ticks are decoded ([TickDecoder]): off the pipeline's thread on [DecodePool] when the clock is the system
     * clock, so the receive loop never waits for decoding; inline on the pipeline's thread (null) under a virtual
     * clock, so virtual-time tests and offline replays stay deterministic.
     */
    val decodeExecutor: Executor? = if (clock === NanoClock.SYSTEM) DecodePool else null,
)
