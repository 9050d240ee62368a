package dev.earshot.voice.pipeline

import dev.earshot.voice.Counter
import dev.earshot.voice.Counters
import dev.earshot.voice.ReceiveConfig
import dev.earshot.voice.e2ee.FrameDecryptor
import dev.earshot.voice.identity.SsrcDirectory
import dev.earshot.voice.model.VoiceEvent
import dev.earshot.voice.model.VoiceOutput
import kotlinx.coroutines.CoroutineName
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.launch

/**
 * The only place that knows the receive topology: which stages exist, the channels between them, their capacities
 * and overflow policies, and which dispatcher each runs on.
 *
 * ```
 * DatagramSource ─read─► [datagrams: cap N, drop oldest] ─decrypt─► [packets: cap N, drop oldest]
 *     ─resolve (+E2EE, hold queue)─► [frames: cap N, drop oldest] ─ingest─► Playout ◄─clock (20 ms)─► ticks
 * ```
 * N = [ReceiveConfig.stageQueueCapacity]. The reader runs on the read dispatcher (IO); every other stage shares one
 * single-threaded view of the pipeline dispatcher, so the playout state needs no locks.
 */
internal class ReceivePipeline(
    private val config: ReceiveConfig,
    private val source: DatagramSource,
    private val directory: SsrcDirectory,
    private val frameDecryptor: FrameDecryptor,
    val counters: Counters,
    private val emit: (VoiceOutput) -> Unit,
) {
    val opener = PacketOpener(counters)
    private val pool = PacketPool()
    private val serial = (config.pipelineDispatcher ?: Dispatchers.Default).limitedParallelism(1)
    private val readDispatcher = config.readDispatcher ?: Dispatchers.IO
    val playout = Playout(config, counters, pool)

    @Volatile
    private var ingestDone = false

    private val datagrams = stageChannel(Counter.DROPPED_DATAGRAMS)
    private val packets = stageChannel(Counter.DROPPED_PACKETS)
    private val frames = stageChannel(Counter.DROPPED_FRAMES)

    /** Runs every stage until the source ends and the last audio has played out, or until cancelled. */
    suspend fun run() {
        val wake = directory.onMapped { packets.offer(WAKE) }
        try {
            coroutineScope {
                launch(readDispatcher + CoroutineName("earshot-read")) {
                    runReadStage(source, pool, datagrams, counters, config.clock)
                }
                launch(serial + CoroutineName("earshot-decrypt")) {
                    runDecryptStage(datagrams, packets, opener, pool, { rtcp -> rtcp.forEach { emit(VoiceEvent.Rtcp(it)) } }, counters)
                }
                launch(serial + CoroutineName("earshot-resolve")) {
                    val hold = HoldQueue(config.maxHeldSsrcs, config.holdPerSsrc, config.unknownSsrcHold.inWholeNanoseconds)
                    val resolver = Resolver(
                        directory, frameDecryptor, hold, counters,
                        release = pool::release,
                        out = frames::offer,
                    )
                    runResolveStage(packets, frames, resolver, config.clock)
                }
                launch(serial + CoroutineName("earshot-ingest")) {
                    try {
                        runIngestLoop(frames, playout)
                    } finally {
                        ingestDone = true
                    }
                }
                launch(serial + CoroutineName("earshot-clock")) {
                    runClockLoop(playout, config.clock, counters, { ingestDone }, emit)
                }
            }
        } finally {
            // Every stage has stopped by now, so touching playout state off the serial dispatcher is safe.
            wake.close()
            playout.close()
        }
    }

    /** Forgets [ssrc] on the pipeline's own thread (a user left). */
    fun forget(scope: CoroutineScope, ssrc: Long) {
        scope.launch(serial) { playout.remove(ssrc) }
    }

    private fun stageChannel(dropCounter: Counter) = StageChannel(config.stageQueueCapacity) {
        if (it !== WAKE) {
            counters.inc(dropCounter)
            pool.release(it)
        }
    }
}
