package dev.earshot.voice.pipeline

import dev.earshot.voice.base.Counter
import dev.earshot.voice.base.Counters
import dev.earshot.voice.identity.SsrcDirectory
import dev.earshot.voice.model.SpeakerStats
import dev.earshot.voice.audio.SpeakingChange
import dev.earshot.voice.audio.SpeakingDetector
import dev.earshot.voice.internal.LongMap
import dev.earshot.voice.model.VoiceEvent
import dev.earshot.voice.model.VoiceOutput
import dev.earshot.voice.model.VoiceTick
import dev.earshot.voice.model.snapshot

/**
 * Pure core of the playout stage: the table of [Speaker]s (one per SSRC, capped at [PipelineSettings.maxSsrcs]) and the
 * planning of one [VoiceTick] per 20 ms. Not thread-safe: the ingest loop and the clock loop that use it run on the
 * same single-threaded dispatcher, so they never interleave except at suspension points. [planTick] makes the
 * playout decisions here and hands only the decoding to other threads ([TickDecoder]): the work it hands over holds
 * copies, never the speakers' state, so the receive loop goes on inserting while a tick decodes.
 */
internal class Playout(
    private val config: PipelineSettings,
    private val counters: Counters,
    private val pool: PacketPool,
) {
    private val speakers = LongMap<Speaker>()
    private val speaking = SpeakingDetector(config.speakingHangTicks)
    private val speakingKeys = ArrayList<Long>()
    private val order = ArrayList<Speaker>()

    // A planned tick's speaker and work arrays, reused in turn like each speaker's works: at most TICKS_IN_FLIGHT
    // ticks are planned and not yet taken, so a pair comes round again only after its tick has been decoded and taken.
    private val tickSsrcs = arrayOfNulls<Array<Long?>>(TICK_ARRAYS)
    private val tickWorks = arrayOfNulls<Array<FrameWork?>>(TICK_ARRAYS)

    /** The tick that will be produced next. */
    var nextTick: Long = 0L
        private set

    private var epochSet = false
    private var epochNanos = 0L

    /**
     * The clock time at which the tick schedule starts: tick k is due at `epoch + (k + 1) * 20 ms`. Fixed by the
     * first caller (the clock loop as it starts, or a packet inserted before it).
     */
    fun epoch(): Long {
        if (!epochSet) {
            epochNanos = config.clock.nanoTime()
            epochSet = true
        }
        return epochNanos
    }

    val speakerCount: Int get() = speakers.size

    /**
     * Inserts a packet into its speaker. Its arrival is taken from the reader's stamp against the tick schedule, not
     * from [nextTick]: when the clock runs late (start-up, a stall) [nextTick] lags behind real time, and a spurt
     * anchored on it would be placed too early and every later one measured against that.
     */
    fun insert(p: ReceivedPacket) {
        val speaker = speakers[p.ssrc] ?: admit(p.ssrc)
        if (speaker == null) {
            counters.inc(Counter.SSRC_LIMIT_DROPS)
            pool.release(p)
            return
        }
        val sinceEpoch = p.arrivalNanos - epoch()
        // Stamped more than a tick after the due time of the tick still to be produced: the clock is behind, so this
        // process stalled and the stamp measures the stall, not the network. Place it, but do not learn from it.
        val learn = sinceEpoch <= (nextTick + 2) * TICK_NANOS
        speaker.insert(p, sinceEpoch.toDouble() / TICK_NANOS, learn, nextTick)
    }

    /** [ssrc]'s packet stamped [timestamp] waits for its end-to-end key, or no longer does (see [Speaker.awaitKey]). */
    fun awaitKey(ssrc: Long, timestamp: Long, waiting: Boolean) {
        speakers[ssrc]?.awaitKey(timestamp, waiting)
    }

    /** A snapshot of every speaker's figures, in no particular order. */
    fun speakerStats(): List<SpeakerStats> {
        val out = ArrayList<SpeakerStats>(speakers.size)
        speakers.forEach { _, s -> out += s.stats() }
        return out
    }

    // Decoding runs across cores only when there is decoding to do and more than one speaker to share out.
    private val round = ParallelRound(if (config.decode == null) 0 else minOf(config.decodeThreads - 1, DecodePool.size))
    // Without decoding there is nothing to take off this thread.
    private val decodes = TickDecoder(if (config.decode == null) null else config.decodeExecutor, round) { onDecoded() }

    /** Called on the decoding thread after each tick decoded off this thread; the clock sets it to wake itself. */
    @Volatile var onDecoded: () -> Unit = {}

    /** Ticks planned and not yet taken by [takeDecoded]. */
    val ticksInFlight: Int get() = decodes.inFlight

    /** Whether another tick may be planned now, or as many as [TICKS_IN_FLIGHT] are still being decoded. */
    val canPlan: Boolean get() = decodes.inFlight < decodes.capacity

    /**
     * Plans the next tick: every speaker's playout decisions, made here, and the speaking events its audio starts or
     * stops; then hands it to decoding (at once on this thread with no decode executor, else off it, see
     * [TickDecoder]). The tick comes back from [takeDecoded]; it is returned for the clock to mark. Call only when
     * [canPlan].
     */
    fun planTick(): PlannedTick {
        val tick = nextTick++
        order.clear()
        speakers.forEach { _, speaker -> order += speaker }
        // Before planning, so a departed speaker's state goes in a tick where it has no frame (the timeline would
        // otherwise anchor its SSRC again right after forgetting it).
        sweepLeaving(tick)
        val n = order.size
        // Every slot is written below, so a reused pair needs no clearing.
        val slot = (tick % TICK_ARRAYS).toInt()
        val ssrcs = tickSsrcs[slot]?.takeIf { it.size == n } ?: arrayOfNulls<Long>(n).also { tickSsrcs[slot] = it }
        val works = tickWorks[slot]?.takeIf { it.size == n } ?: arrayOfNulls<FrameWork>(n).also { tickWorks[slot] = it }
        speakingKeys.clear()
        for (i in 0 until n) {
            val s = order[i]
            val w = s.plan(tick)
            works[i] = w
            // The boxed SSRC the speaker keeps: SSRCs are far outside Long's box cache.
            ssrcs[i] = s.boxedSsrc
            if (w != null) speakingKeys.add(s.boxedSsrc!!)
        }
        counters.incOwned(Counter.TICKS)
        // Speaking is decided here, where the speakers are, from which of them have a frame (which decoding cannot
        // change), so its events see the speaker table as it is at this tick.
        var events: ArrayList<VoiceEvent>? = null
        speaking.onTick(tick, speakingKeys) { change ->
            (events ?: ArrayList<VoiceEvent>(2).also { events = it }) += change.toEvent()
        }
        return PlannedTick(tick, ssrcs, works, events ?: emptyList()).also { decodes.submit(it) }
    }

    /** The oldest planned tick once decoded, in planning order; null while it is still being decoded (or none is). */
    fun takeDecoded(): PlannedTick? = decodes.poll()

    /** Ends every speaker's talking at the end of the stream. */
    fun finishSpeaking(emit: (VoiceOutput) -> Unit) {
        speaking.finish { change -> emit(change.toEvent()) }
    }

    private fun SpeakingChange.toEvent(): VoiceEvent {
        val user = speakers[key]?.userId?.takeIf { it != SsrcDirectory.UNKNOWN }
        return if (started) VoiceEvent.SpeakingStarted(user, key, tick) else VoiceEvent.SpeakingStopped(user, key, tick)
    }

    /** Whether every speaker has played out everything it holds. */
    fun drained(): Boolean {
        var idle = true
        speakers.forEach { _, s -> if (!s.isIdle) idle = false }
        return idle
    }

    /** Forgets [ssrc] now: frees its buffer and decoder; packets it still held are dropped and counted. */
    fun remove(ssrc: Long) {
        speakers.remove(ssrc)?.let { s ->
            counters.add(Counter.DROPPED_AT_LEAVE, s.buffered.toLong())
            // Its work of ticks still being decoded stays valid: the decoder closes after them.
            s.close(decodes::closeAfter)
            if (s.leaveDeadline >= 0) {
                leaving--
                s.onLeft(ssrc)
            }
        }
        speaking.forget(ssrc)
    }

    // Speakers whose member left and that still play out.
    private var leaving = 0

    /**
     * [ssrc]'s member left (op 13): its buffered audio still plays out, at its place, and the speaker goes once idle
     * (or after [LEAVE_GRACE_TICKS], dropping and counting what it still holds); then [gone] runs with the SSRC. A
     * speaker with nothing buffered goes at once. Packets that arrive meanwhile (in flight at the leave) still play.
     */
    fun retire(ssrc: Long, gone: (Long) -> Unit) {
        val s = speakers[ssrc]
        if (s == null || s.isIdle) {
            remove(ssrc)
            gone(ssrc)
            return
        }
        if (s.leaveDeadline < 0) leaving++
        s.leaveDeadline = nextTick + LEAVE_GRACE_TICKS
        s.onLeft = gone
    }

    /** Lets departed members' speakers in [order] go once played out or past their grace, and takes them out of it. */
    private fun sweepLeaving(tick: Long) {
        if (leaving == 0) return
        var kept = 0
        for (i in order.indices) {
            val s = order[i]
            if (s.leaveDeadline >= 0 && (s.isIdle || tick >= s.leaveDeadline)) remove(s.ssrc) else order[kept++] = s
        }
        while (order.size > kept) order.removeAt(order.size - 1)
    }

    /** Frees every speaker once the pipeline has ended; decoders close after any tick still being decoded. */
    fun close() {
        decodes.stop()
        speakers.forEach { _, s -> s.close(decodes::closeAfter) }
    }

    /** A speaker for a new SSRC, evicting the longest-idle one at the limit; null if all are busy. */
    private fun admit(ssrc: Long): Speaker? {
        if (speakers.size >= config.maxSsrcs) {
            var victim = 0L
            var oldest = Long.MAX_VALUE
            speakers.forEach { s, speaker ->
                if (speaker.isIdle && speaker.lastArrivalTick < oldest) {
                    oldest = speaker.lastArrivalTick
                    victim = s
                }
            }
            if (oldest == Long.MAX_VALUE) return null
            remove(victim)
        }
        val speaker = Speaker(
            ssrc = ssrc,
            format = config.decode,
            decoderFactory = config.decoderFactory,
            counters = counters,
            pool = pool,
            jitterCapacity = config.jitterCapacity,
            playout = config.playout,
            concealTicks = config.concealTicks,
        )
        speakers[ssrc] = speaker
        return speaker
    }
}

/**
 * How long a departed member's speaker may keep playing out (2 s): more than a full jitter buffer (1.28 s by default)
 * after the longest adaptive delay's worth of waiting, and a bound for a member that keeps sending after its leave.
 */
internal const val LEAVE_GRACE_TICKS: Long = 100

/**
 * Below this many speakers a tick decodes on the clock's thread alone: waking a helper and waiting for it costs more
 * than it saves (measured in `ReceiveBenchmark`, BENCHMARKS.md).
 */
internal const val PARALLEL_FROM_SPEAKERS = 16

private const val TICK_ARRAYS = TICKS_IN_FLIGHT + 1
