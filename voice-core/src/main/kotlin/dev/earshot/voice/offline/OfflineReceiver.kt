package dev.earshot.voice.offline

import dev.earshot.voice.base.NanoClock
import dev.earshot.voice.ReceiveConfig
import dev.earshot.voice.model.ReceiveStats
import dev.earshot.voice.model.ReceiveTimeline
import dev.earshot.voice.VoiceReceiver
import dev.earshot.voice.crypto.EncryptionMode
import dev.earshot.voice.e2ee.FrameDecryptor
import dev.earshot.voice.identity.SsrcDirectory
import dev.earshot.voice.sink.AudioSink
import dev.earshot.voice.sink.Listening
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Job
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.cancel
import kotlinx.coroutines.delay
import kotlinx.coroutines.launch
import java.time.Instant
import kotlin.time.Duration

/**
 * Runs a [VoiceReceiver] over recorded, timestamped datagrams in virtual time, with no test library: the receiver,
 * its sinks and flows run on the calling thread in a single-threaded event loop whose clock jumps from one due moment
 * to the next, so an hour of capture replays in the time its decoding takes, and the same input always gives the
 * same ticks and the same files, identical to what the live receiver made of it (same settings, same mappings).
 *
 * ```
 * CaptureReader(capture).use { cap ->
 *     OfflineReceiver.replay(cap, EncryptionMode.AEAD_AES256_GCM_RTPSIZE, key) {
 *         listen(RecordingSinks.perUserWav(dir))
 *         listen(RecordingSinks.mixedWav(dir.resolve("mixed.wav")))
 *     }
 * }
 * ```
 */
public object OfflineReceiver {
    /**
     * Replays [datagrams] (in arrival order) through a new receiver and returns once it has played out and every
     * sink has finished its files. Blocks the calling thread for the run; do not call it from a coroutine dispatcher
     * thread that others need.
     *
     * @param mode and [key] the transport encryption of the capture (the Session Description's mode and key).
     * @param start virtual time 0, when the receiver starts (its tick origin); default the first datagram's time.
     *   Give the capture's start ([CaptureReader.startedAt]) to reproduce a live run's ticks exactly.
     * @param ssrcs the SSRC-to-user map; mappings that came later in the live run can be made with [ReplayScope.at].
     * @param frameDecryptor the end-to-end step (default passthrough).
     * @param configure receiver settings (see [ReceiveConfig]); the clock and dispatchers are the replay's own.
     * @param setup runs before the first tick, on the replay's thread: listen sinks, collect flows, schedule actions.
     */
    public fun replay(
        datagrams: Sequence<TimedDatagram>,
        mode: EncryptionMode,
        key: ByteArray,
        start: Instant? = null,
        ssrcs: SsrcDirectory = SsrcDirectory(),
        frameDecryptor: FrameDecryptor = FrameDecryptor.PASSTHROUGH,
        configure: ReceiveConfig.Builder.() -> Unit = {},
        setup: ReplayScope.() -> Unit,
    ): ReplayResult = run(datagrams, mode, key, start, { null }, ssrcs, frameDecryptor, configure, setup)

    /**
     * Replays a capture file (see [CaptureWriter]) from its start to its recorded end, so that the receiver starts
     * and its source ends when the live ones did: the ticks, and so the files, are those of the live run. The other
     * parameters are those of the other [replay].
     */
    public fun replay(
        capture: CaptureReader,
        mode: EncryptionMode,
        key: ByteArray,
        ssrcs: SsrcDirectory = SsrcDirectory(),
        frameDecryptor: FrameDecryptor = FrameDecryptor.PASSTHROUGH,
        configure: ReceiveConfig.Builder.() -> Unit = {},
        setup: ReplayScope.() -> Unit,
    ): ReplayResult =
        run(capture.datagrams(), mode, key, capture.startedAt, { capture.endedAt }, ssrcs, frameDecryptor, configure, setup)

    private fun run(
        datagrams: Sequence<TimedDatagram>,
        mode: EncryptionMode,
        key: ByteArray,
        start: Instant?,
        end: () -> Instant?,
        ssrcs: SsrcDirectory,
        frameDecryptor: FrameDecryptor,
        configure: ReceiveConfig.Builder.() -> Unit,
        setup: ReplayScope.() -> Unit,
    ): ReplayResult {
        val iterator = datagrams.iterator()
        val first = if (start == null && iterator.hasNext()) iterator.next() else null
        val origin = start ?: first?.at ?: Instant.EPOCH
        val all = if (first == null) iterator else (sequenceOf(first) + iterator.asSequence()).iterator()
        val loop = VirtualTimeLoop()
        val virtualClock = NanoClock { loop.nanoTime }
        val config = ReceiveConfig {
            configure()
            clock = virtualClock
            readDispatcher = loop
            pipelineDispatcher = loop
        }
        val source = ReplaySource(all, origin, virtualClock, end)
        val receiver = VoiceReceiver(source, config, ssrcs, frameDecryptor)
        receiver.wallClock = { origin.plusNanos(loop.nanoTime) }
        receiver.setTransportKey(mode, key)
        val scope = CoroutineScope(loop + SupervisorJob())
        val userJob = SupervisorJob(scope.coroutineContext[Job])
        var cause: Throwable? = null
        try {
            receiver.start(scope)
            ReplayScope(receiver, CoroutineScope(loop + userJob)).setup()
            val finished = scope.launch {
                cause = receiver.awaitClose()
                receiver.awaitSinks()
                // What setup launched (collectors of flows, which complete with the receiver) finishes too.
                userJob.complete()
                userJob.join()
            }
            loop.runUntil { finished.isCompleted }
        } finally {
            scope.cancel()
            loop.runReady()
        }
        return ReplayResult(receiver.stats(), receiver.timeline, cause, source.replayed, loop.nanoTime)
    }
}

/**
 * What the `setup` of [OfflineReceiver.replay] works with: the [receiver] (listen sinks, collect flows) and a
 * [scope] on the replay's thread and virtual clock.
 */
public class ReplayScope internal constructor(
    /** The receiver being replayed into. */
    public val receiver: VoiceReceiver,
    /**
     * Runs on the replay's thread in virtual time. The replay waits for what is launched here after the receiver has
     * stopped (flows complete then), so do not launch anything that never ends.
     */
    public val scope: CoroutineScope,
) {
    /** Listens [sink] (see [VoiceReceiver.listen]); the replay waits for it to finish. */
    public fun listen(sink: AudioSink, after: (Throwable?) -> Unit = {}): Listening = receiver.listen(sink, after)

    /** Runs [action] at [offset] of virtual time after the start, e.g. an SSRC mapping that came late in the capture. */
    public fun at(offset: Duration, action: suspend () -> Unit) {
        scope.launch {
            delay(offset)
            action()
        }
    }
}

/**
 * The outcome of [OfflineReceiver.replay].
 *
 * @property stats the receiver's counters at the end.
 * @property timeline the replay's timeline: its origin is the replay's start, so ticks map to the capture's times.
 * @property failure what stopped the receiver, or null for a normal end.
 * @property datagrams datagrams replayed.
 * @property virtualNanos virtual time the replay covered, in nanoseconds.
 */
public class ReplayResult internal constructor(
    public val stats: ReceiveStats,
    public val timeline: ReceiveTimeline,
    public val failure: Throwable?,
    public val datagrams: Long,
    public val virtualNanos: Long,
) {
    override fun toString(): String = "ReplayResult(datagrams=$datagrams, virtualNanos=$virtualNanos, failure=$failure, stats=$stats)"
}
