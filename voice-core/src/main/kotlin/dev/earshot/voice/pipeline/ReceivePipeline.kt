package dev.earshot.voice.pipeline

import dev.earshot.voice.Counter
import dev.earshot.voice.Counters
import dev.earshot.voice.ReceiveConfig
import dev.earshot.voice.SpeakerStats
import dev.earshot.voice.e2ee.FrameDecryptor
import dev.earshot.voice.identity.SsrcDirectory
import dev.earshot.voice.model.VoiceEvent
import dev.earshot.voice.model.VoiceOutput
import kotlinx.coroutines.CoroutineName
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext

/**
 * The only place that knows the receive topology: which stages exist, the channels between them, their capacities
 * and overflow policies, and which dispatcher each runs on.
 *
 * ```
 * DatagramSource ─read─► [datagrams: cap N, drop oldest] ─decrypt ─► resolve (+E2EE, hold queue) ─► Playout
 *                                                                                 clock (20 ms) ─┘─► ticks
 * ```
 * N = [ReceiveConfig.stageQueueCapacity]. The reader runs on the read dispatcher (IO) and never waits for the rest.
 * Decrypt, resolve and the jitter-buffer insert run as one loop, and the clock beside it, on one single-threaded view
 * of the pipeline dispatcher, so the playout state needs no locks and a packet crosses one queue, not three. The clock
 * shares each tick's decoding out to other cores for the duration of the tick ([ParallelRound]).
 */
internal class ReceivePipeline(
    private val config: ReceiveConfig,
    private val source: DatagramSource,
    private val directory: SsrcDirectory,
    private val frameDecryptor: FrameDecryptor,
    val counters: Counters,
    private val emit: (VoiceOutput) -> Unit,
    private val onClockStart: (originNanos: Long) -> Unit = {},
) {
    val opener = PacketOpener(counters)
    private val pool = PacketPool()
    private val serial = (config.pipelineDispatcher ?: Dispatchers.Default).limitedParallelism(1)
    private val readDispatcher = config.readDispatcher ?: Dispatchers.IO
    val playout = Playout(config, counters, pool)
    private val resolver = Resolver(
        directory, frameDecryptor,
        HoldQueue(config.maxHeldSsrcs, config.holdPerSsrc, config.unknownSsrcHold.inWholeNanoseconds),
        counters,
        release = pool::release,
        out = playout::insert,
    )

    @Volatile
    private var ingestDone = false

    private val datagrams = StageChannel(config.stageQueueCapacity) {
        counters.inc(Counter.DROPPED_DATAGRAMS)
        pool.release(it)
    }

    /** Runs every stage until the source ends and the last audio has played out, or until cancelled. */
    suspend fun run() {
        var wake: AutoCloseable? = null
        try {
            // The timeline's origin, fixed before any packet is stamped: tick n starts n * 20 ms after it, for every
            // flow and sink, and packets are placed by their arrival stamps against it.
            val origin = playout.epoch()
            onClockStart(origin)
            coroutineScope {
                // A new SSRC mapping releases held packets promptly, even if their speaker has stopped sending.
                wake = directory.onMapped {
                    launch(serial + CoroutineName("earshot-resolve-wake")) {
                        if (!ingestDone) resolver.retryAll(config.clock.nanoTime())
                    }
                }
                launch(readDispatcher + CoroutineName("earshot-read")) {
                    runReadStage(source, pool, datagrams, counters, config.clock)
                }
                launch(serial + CoroutineName("earshot-receive")) {
                    try {
                        runDecryptStage(
                            datagrams, { p -> resolver.offer(p, config.clock.nanoTime()) }, opener, pool,
                            { rtcp -> rtcp.forEach { emit(VoiceEvent.Rtcp(it)) } }, counters,
                        )
                        resolver.finish(config.clock.nanoTime())
                    } finally {
                        ingestDone = true
                    }
                }
                launch(serial + CoroutineName("earshot-clock")) {
                    runClockLoop(playout, config.clock, counters, { ingestDone }, emit, origin)
                }
            }
        } finally {
            // Every stage has stopped by now, so touching playout state off the serial dispatcher is safe.
            wake?.close()
            playout.close()
        }
    }

    /** Every speaker's figures, read on the pipeline's own thread. */
    suspend fun speakerStats(): List<SpeakerStats> = withContext(serial) { playout.speakerStats() }

    /** Forgets [ssrc] on the pipeline's own thread, now. */
    fun forget(scope: CoroutineScope, ssrc: Long) {
        scope.launch(serial) { playout.remove(ssrc) }
    }

    /** Retires [ssrc] on the pipeline's own thread (its member left): see [Playout.retire]. */
    fun retire(scope: CoroutineScope, ssrc: Long, gone: (Long) -> Unit) {
        scope.launch(serial) { playout.retire(ssrc, gone) }
    }
}
