package dev.earshot.voice.pipeline

import dev.earshot.voice.base.Counter
import dev.earshot.voice.base.Counters
import dev.earshot.voice.crypto.TransportCipher
import dev.earshot.voice.datagram.DatagramSource
import dev.earshot.voice.e2ee.FrameDecryptor
import dev.earshot.voice.identity.SsrcDirectory
import dev.earshot.voice.model.ReceiveTimeline
import dev.earshot.voice.model.SpeakerStats
import dev.earshot.voice.model.VoiceEvent
import dev.earshot.voice.model.VoiceOutput
import dev.earshot.voice.model.VoiceTick
import kotlinx.coroutines.CoroutineName
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext
import java.time.Instant

/**
 * The only place that knows the receive topology: which stages exist, the queue between them, its capacity and
 * overflow policy, which dispatcher each loop runs on, and the output side (the [Broadcaster] every flow and sink
 * subscribes to, the [SinkHost] that runs sinks, the [ReceiveTimeline] a tick reaches before anyone sees it).
 * `VoiceReceiver` is a front over it: it calls the methods below and never touches a stage.
 *
 * ```
 * DatagramSource ─read─► [DatagramQueue: cap N, drop oldest] ─receive: open ─► resolve (+E2EE, hold queue) ─► Playout
 *                                                                                   clock (20 ms) ─┘─► ticks
 *   ticks + events ─► timeline ─► Broadcaster ─► flows (cap tickQueueCapacity each) and SinkHost (a queue per sink)
 * ```
 * N = [PipelineSettings.stageQueueCapacity]. The reader runs on the read dispatcher (IO) and never waits for the
 * rest. Opening, resolving and the jitter-buffer insert run as one loop (`earshot-receive`), and the clock beside it,
 * on one single-threaded view of the pipeline dispatcher, so the playout state needs no locks and a packet crosses
 * one queue, not three. The clock only plans each tick there; the tick is decoded off that thread ([TickDecoder], on
 * every core from 16 speakers with [ParallelRound]) and sent out in order when it is back, so the receive loop never
 * waits for decoding (inline instead under a virtual clock, see [PipelineSettings.decodeExecutor]).
 */
internal class ReceivePipeline(
    private val config: PipelineSettings,
    private val source: DatagramSource,
    private val directory: SsrcDirectory,
    private val frameDecryptor: FrameDecryptor,
    val counters: Counters,
    private val wallClock: () -> Instant,
) {
    /** The receiver's one timeline; its origin is fixed as the clock starts. */
    val timeline: ReceiveTimeline = ReceiveTimeline()

    // Ticks and events in one stream, so every consumer sees them in the order they happened.
    private val broadcaster = Broadcaster<VoiceOutput>(config.tickQueueCapacity) { counters.inc(Counter.DROPPED_TICKS) }

    @Volatile
    private var failure: Throwable? = null

    /** Runs listened sinks, each fed from the broadcaster through its own queue. */
    val sinks: SinkHost = SinkHost(broadcaster, timeline, config.decode) { failure }

    private val opener = PacketOpener(counters)
    private val pool = PacketPool()
    private val serial = (config.pipelineDispatcher ?: Dispatchers.Default).limitedParallelism(1)
    private val readDispatcher = config.readDispatcher ?: Dispatchers.IO
    private val playout = Playout(config, counters, pool)
    private val resolver = Resolver(
        directory, frameDecryptor,
        HoldQueue(config.maxHeldSsrcs, config.holdPerSsrc, config.unknownSsrcHold.inWholeNanoseconds),
        counters,
        release = pool::release,
        out = playout::insert,
        awaitKey = playout::awaitKey,
    )

    @Volatile
    private var ingestDone = false

    private val datagrams = DatagramQueue(config.stageQueueCapacity) {
        counters.inc(Counter.DROPPED_DATAGRAMS)
        pool.release(it)
    }

    /** Runs every stage until the source ends and the last audio has played out, or until cancelled. */
    suspend fun run() {
        var wake: AutoCloseable? = null
        var keyWake: AutoCloseable? = null
        try {
            // The timeline's origin, fixed before any packet is stamped: tick n starts n * 20 ms after it, for every
            // flow and sink, and packets are placed by their arrival stamps against it.
            val origin = playout.epoch()
            timeline.start(origin, wallClock().minusNanos(config.clock.nanoTime() - origin))
            coroutineScope {
                // A new SSRC mapping releases held packets promptly, even if their speaker has stopped sending.
                wake = directory.onMapped {
                    launch(serial + CoroutineName("earshot-resolve-wake")) {
                        if (!ingestDone) resolver.retryAll(config.clock.nanoTime())
                    }
                }
                // So do new end-to-end keys: frames that came before their key play as soon as it is there. A decryptor
                // that cannot say when its keys change has its held frames retried with each new frame instead.
                keyWake = frameDecryptor.onKeysChanged {
                    launch(serial + CoroutineName("earshot-resolve-wake")) {
                        if (!ingestDone) resolver.retryAll(config.clock.nanoTime())
                    }
                }
                resolver.retryOnArrival = keyWake == null
                launch(readDispatcher + CoroutineName("earshot-read")) {
                    runReadStage(source, pool, datagrams, counters, config.clock)
                }
                launch(serial + CoroutineName("earshot-receive")) {
                    try {
                        runReceiveLoop(
                            datagrams, { p -> resolver.offer(p, config.clock.nanoTime()) }, opener, pool,
                            { rtcp -> rtcp.forEach { emit(VoiceEvent.Rtcp(it)) } }, counters,
                        )
                        resolver.finish(config.clock.nanoTime())
                    } finally {
                        ingestDone = true
                    }
                }
                launch(serial + CoroutineName("earshot-clock")) {
                    runClockLoop(playout, config.clock, counters, { ingestDone }, ::emit, origin)
                }
            }
        } finally {
            // Every stage has stopped by now, so touching playout state off the serial dispatcher is safe.
            wake?.close()
            keyWake?.close()
            playout.close()
        }
    }

    /** Installs a new transport key (any thread); the previous one keeps opening packets for a grace period. */
    fun setCipher(cipher: TransportCipher) {
        opener.setCipher(cipher)
    }

    /** The outputs (ticks and events in order) that [accepts] lets through, from the moment of collection. */
    fun outputs(accepts: (VoiceOutput) -> Boolean = { true }): Flow<VoiceOutput> = broadcaster.flow(accepts = accepts)

    /** Publishes an event from outside the stages (the voice gateway's) in order with the stages' outputs. */
    fun publish(event: VoiceEvent) {
        broadcaster.emit(event)
    }

    /**
     * Ends the output stream after [run] has returned (or without it ever running): every flow completes, and sinks
     * end after their queues, learning [cause] (null for a normal end) first.
     */
    fun closeOutputs(cause: Throwable?) {
        failure = cause
        broadcaster.close()
    }

    /** Speakers (SSRCs) with playout state right now. */
    val speakerCount: Int get() = playout.speakerCount

    /** Every speaker's figures, read on the pipeline's own thread. */
    suspend fun speakerStats(): List<SpeakerStats> = withContext(serial) { playout.speakerStats() }

    /** Forgets [ssrc]: its timeline anchor at once, its playout state on the pipeline's own thread once [scope] runs. */
    fun forget(scope: CoroutineScope?, ssrc: Long) {
        timeline.forget(ssrc)
        scope?.launch(serial) { playout.remove(ssrc) }
    }

    // The timeline learns of a tick before anyone sees it, so a sink listened now knows its first tick.
    private fun emit(out: VoiceOutput) {
        if (out is VoiceTick) timeline.onTick(out)
        broadcaster.emit(out)
    }

    /** Retires [ssrc] on the pipeline's own thread (its member left): see [Playout.retire]. */
    fun retire(scope: CoroutineScope, ssrc: Long, gone: (Long) -> Unit) {
        scope.launch(serial) { playout.retire(ssrc, gone) }
    }
}
