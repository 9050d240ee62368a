package dev.earshot.voice.pipeline

import dev.earshot.voice.base.Counter
import dev.earshot.voice.base.Counters
import dev.earshot.voice.identity.SsrcDirectory
import dev.earshot.voice.jitter.PlayoutDelay
import dev.earshot.voice.model.SpeakerStats
import dev.earshot.voice.base.VoiceConstants
import dev.earshot.voice.base.VoiceConstants.SAMPLES_PER_FRAME
import dev.earshot.voice.codec.OpusDecoderFactory
import dev.earshot.voice.codec.OpusPacketInfo
import dev.earshot.voice.codec.PcmFormat
import dev.earshot.voice.jitter.DelayEstimator
import dev.earshot.voice.jitter.JitterBuffer
import dev.earshot.voice.jitter.PlayoutPlacer
import dev.earshot.voice.jitter.TickSplitter
import dev.earshot.voice.rtp.SequenceUnwrapper
import dev.earshot.voice.rtp.TimestampUnwrapper
import kotlin.math.floor
import kotlin.time.Duration
import kotlin.time.Duration.Companion.milliseconds

/**
 * Pure core of playout for one SSRC: its jitter buffer, and its Opus decoder as a separate half ([decoder]).
 * [insert] takes packets in arrival order; [plan] is called once per receive-clock tick and decides that tick's 20 ms
 * of audio (which packet to decode, FEC from the next packet, concealment, silence, the split of 40/60 ms packets),
 * or returns null when the speaker is silent. The decoder then runs those decisions in sequence order, so concealment
 * (PLC) and FEC recovery happen exactly where a packet is missing, on whichever thread decodes the tick. Not
 * thread-safe: owned by the playout stage.
 *
 * It also keeps the speaker's [DelayEstimator] (fed with every packet's arrival stamp) and is the jitter buffer's
 * [PlayoutPlacer]: a spurt should play `target` after the time a packet of the fastest recent transit would have
 * arrived (see [desiredTick]). The target follows the estimate with [PlayoutDelay.Adaptive] and is constant with
 * [PlayoutDelay.Fixed]; only the adaptive delay grows mid-spurt.
 */
internal class Speaker(
    val ssrc: Long,
    private val format: PcmFormat?,
    decoderFactory: OpusDecoderFactory,
    private val counters: Counters,
    private val pool: PacketPool,
    jitterCapacity: Int,
    playout: PlayoutDelay,
    concealTicks: Int,
) : PlayoutPlacer {
    private val adaptive = playout is PlayoutDelay.Adaptive
    private val estimator = when (playout) {
        is PlayoutDelay.Adaptive -> DelayEstimator(ticks(playout.min), ticks(playout.max), ticks(playout.initial))
        // Fixed: the estimate is only reported.
        is PlayoutDelay.Fixed -> ticks(playout.delay).let { DelayEstimator(0.0, maxOf(it, REPORT_MAX_TICKS), it) }
    }
    private val fixedTicks = kotlin.math.ceil(ticks(playout.initial)).toInt()
    private val jitter = JitterBuffer<ReceivedPacket>(
        capacity = jitterCapacity,
        delayTicks = fixedTicks,
        maxEarlyTicks = if (adaptive) ADAPTIVE_MAX_EARLY_TICKS else maxOf(fixedTicks, 1),
        maxUnderrunTicks = concealTicks,
        placer = this,
        stretch = adaptive,
        // Stretches only grow the delay towards the maximum, so a spurt never needs more than the maximum's worth.
        maxStretchTicks = if (playout is PlayoutDelay.Adaptive) kotlin.math.ceil(ticks(playout.max)).toInt() else 0,
        release = pool::release,
    )
    // The estimator's target in ticks, refreshed every few packets and on every late one (a quantile costs a scan).
    private var targetTicks = if (adaptive) estimator.initialTicks else fixedTicks.toDouble()
    private var sinceTarget = 0
    private var lastTimestamp = 0L

    // This speaker's own tallies for speakerStats(); written on the thread that owns the speaker.
    private var received = 0L
    private var duplicates = 0L
    private var lateOnInsert = 0L
    private val seqs = SequenceUnwrapper()
    private val timestamps = TimestampUnwrapper()

    /** The decoding half: runs the work [plan] returns, in tick order, possibly on another thread. */
    val decoder: SpeakerDecoder = SpeakerDecoder(format, decoderFactory, counters)

    // What is still to play of a 40/60 ms packet (its decoded samples wait in the decoder).
    private val split = TickSplitter()
    // Playout decided the decoder starts afresh (new spurt, resync, after silence); passed with its next operation.
    private var needsReset = false
    // The jitter buffer's own loss tallies already added to the receiver's counters.
    private var countedLost = 0L
    private var countedLateDrops = 0L

    var userId: Long = SsrcDirectory.UNKNOWN
        private set
    // userId as public values carry it (null for no user), boxed once per user change rather than once per frame:
    // Discord ids are far outside Long's box cache.
    private var userIdOrNull: Long? = null

    /**
     * The SSRC, boxed once for the tick's sets rather than once per tick (SSRCs are far outside Long's box cache).
     * Nullable only so that Kotlin stores the box: a non-null `Long` property would be a primitive, boxed at each use.
     */
    val boxedSsrc: Long? = ssrc
    /** Last tick a packet of this SSRC arrived in, for eviction. */
    var lastArrivalTick: Long = 0
        private set

    val isIdle: Boolean get() = jitter.state == JitterBuffer.State.IDLE && jitter.size == 0 && split.carry48 == 0

    /** Packets buffered and not played yet. */
    val buffered: Int get() = jitter.size

    /** The tick after which a departed member's speaker goes even if not played out; -1 while the member is here. */
    var leaveDeadline: Long = -1

    /** Runs with the SSRC when a departed member's speaker goes (see [Playout.retire]). */
    var onLeft: (Long) -> Unit = {}

    /**
     * Offers a decrypted packet; takes ownership of it. [arrival] is when the reader stamped it, in ticks of the
     * receive clock's schedule (tick k is produced at time k + 1); [learn] is false when that stamp says more about a
     * stall of this process than about the network; [nowTick] is the tick that will be produced next.
     */
    fun insert(p: ReceivedPacket, arrival: Double, learn: Boolean, nowTick: Long) {
        lastArrivalTick = nowTick
        received++
        if (p.userId != SsrcDirectory.UNKNOWN && p.userId != userId) {
            userId = p.userId
            userIdOrNull = p.userId
        }
        val buf = p.data
        val off = p.payloadOffset
        val len = p.payloadLength
        val silence = OpusPacketInfo.isSilenceFrame(buf, off, len)
        val samples = OpusPacketInfo.samplesPerChannel48k(buf, off, len)
        val ts = timestamps.unwrap(p.timestamp)
        val spurtStart = jitter.state == JitterBuffer.State.IDLE
        val relative = estimator.onArrival(ts, arrival, learn, spurtStart)
        // Already too late for its slot on arrival, though the buffer may still hold it for a while.
        var late = learn && jitter.state == JitterBuffer.State.PLAYING && arrival >= jitter.tickOf(ts) + 1
        val result = jitter.insert(
            seqs.unwrap(p.sequence), ts, if (samples > 0) samples else SAMPLES_PER_FRAME, silence, p,
            maxOf(floor(arrival).toLong(), nowTick),
        )
        when (result) {
            JitterBuffer.Insert.ACCEPTED -> lastTimestamp = ts
            JitterBuffer.Insert.RESYNC -> {
                counters.inc(Counter.RESYNCS); needsReset = true; split.clear()
                estimator.reset()
                estimator.onArrival(ts, arrival, learn, spurtStart = true)
                lastTimestamp = ts
                late = false
            }
            JitterBuffer.Insert.LATE -> { counters.inc(Counter.LATE); lateOnInsert++; pool.release(p); late = learn }
            JitterBuffer.Insert.DUPLICATE -> { counters.inc(Counter.DUPLICATES); duplicates++; pool.release(p) }
        }
        if (late) estimator.onLate(relative, arrival)
        if (adaptive && (late || ++sinceTarget >= TARGET_EVERY_PACKETS)) {
            sinceTarget = 0
            targetTicks = estimator.target(arrival)
        }
    }

    // RTP timestamps (32-bit) of this speaker's packets that arrived but wait for their end-to-end key (Resolver).
    private var awaitingKey: HashSet<Long>? = null

    /** [timestamp]'s packet waits for its end-to-end key ([waiting]), or no longer does. */
    fun awaitKey(timestamp: Long, waiting: Boolean) {
        if (waiting) {
            (awaitingKey ?: HashSet<Long>().also { awaitingKey = it }) += timestamp
        } else {
            awaitingKey?.let { it -= timestamp; if (it.isEmpty()) awaitingKey = null }
        }
    }

    /** The tick at which [timestamp] plays with the target delay after the baseline arrival; see [DelayEstimator]. */
    override fun desiredTick(timestamp: Long): Long {
        // Mid-spurt, the missing packet has arrived but waits for its key: play it later (stretch) rather than
        // conceal its slot. Stretches per spurt stay bounded by the jitter buffer's limit.
        if (awaitingKey?.contains(timestamp and 0xFFFF_FFFFL) == true && jitter.state == JitterBuffer.State.PLAYING) return Long.MAX_VALUE / 4
        val base = estimator.baseTransit
        if (base.isNaN()) return Long.MIN_VALUE
        // Tick k is produced at time k + 1: the first tick produced after baseline arrival + target.
        return floor(timestamp.toDouble() / SAMPLES_PER_FRAME + base + targetTicks).toLong()
    }

    /** The playout delay applied now, from the baseline arrival of a packet to the end of the tick it plays in. */
    private fun appliedDelayTicks(): Double {
        val base = estimator.baseTransit
        if (!jitter.anchored || base.isNaN()) return targetTicks
        return jitter.tickOf(lastTimestamp) + 1 - (lastTimestamp.toDouble() / SAMPLES_PER_FRAME + base)
    }

    /** This speaker's figures now. */
    fun stats(): SpeakerStats = SpeakerStats(
        ssrc = ssrc,
        userId = userIdOrNull,
        playoutDelay = millis(appliedDelayTicks()),
        targetDelay = millis(targetTicks),
        jitter = millis(estimator.quantileTicks()),
        interarrivalJitter = millis(estimator.jitterTicks),
        received = received,
        lost = jitter.lost,
        late = lateOnInsert + jitter.lateDrops,
        concealed = decoder.concealed,
        fecRecovered = decoder.fecRecovered,
        duplicates = duplicates,
        stretches = jitter.stretches,
    )

    /**
     * Decides this tick's playout (pulls the jitter buffer's decisions, copies the Opus bytes) and returns the work
     * that makes its frame, for [decoder] to run later, possibly on another thread; null when the speaker has nothing
     * to say in it. Releases the packets it played: the work holds copies only.
     */
    fun plan(tick: Long): FrameWork? {
        // Allocated on the first audible slice only: most known speakers are silent in most ticks.
        var work: FrameWork? = null
        var filled48 = 0
        var voiced = false
        var opus: ByteArray? = null
        var extraOpus: List<ByteArray> = emptyList()
        var sequence = -1L
        var timestamp = 0L
        var level = -1
        var flags = -1

        if (split.carry48 > 0) {
            val n48 = split.takeCarry()
            work = newWork(tick).also { it.carry48 = n48 }
            filled48 = n48
            voiced = true
            timestamp = jitter.playTimestamp - split.carry48 - n48
            sequence = jitter.nextSeq - 1
        }
        while (filled48 < SAMPLES_PER_FRAME) {
            val want = SAMPLES_PER_FRAME - filled48
            val step = jitter.next(tick, want)
            if (sequence < 0 && step in AUDIBLE) {
                sequence = jitter.stepSeq
                timestamp = jitter.stepTimestamp
            }
            when (step) {
                JitterBuffer.Step.IDLE, JitterBuffer.Step.FILLING -> break
                JitterBuffer.Step.SPURT_END -> {
                    needsReset = true
                    break
                }
                JitterBuffer.Step.GAP -> filled48 += jitter.duration // silence: the PCM stays zero
                JitterBuffer.Step.PACKET -> {
                    val p = jitter.item!!
                    val dur = jitter.duration
                    if (jitter.stepIsSilence) {
                        // Silence frames are always 20 ms; their slot stays zero and the speaker counts as silent.
                        counters.inc(Counter.SILENCE_FRAMES)
                        filled48 += minOf(dur, want)
                    } else {
                        val copy = p.data.copyOfRange(p.payloadOffset, p.payloadOffset + p.payloadLength)
                        if (opus == null) opus = copy else extraOpus = extraOpus + copy
                        if (p.audioLevel >= 0) level = p.audioLevel
                        if (p.speakerFlags >= 0) flags = p.speakerFlags
                        counters.incOwned(Counter.DECODED)
                        filled48 += place(work ?: newWork(tick).also { work = it }, FrameWork.DECODE, copy, filled48, dur, want)
                        voiced = true
                    }
                    pool.release(p)
                }
                JitterBuffer.Step.MISSING -> {
                    // FEC needs the next packet's bytes after this tick has released its buffer: copy them, only
                    // when there is LBRR data to decode.
                    val next = jitter.fecItem
                    val fec = if (format != null && next != null &&
                        OpusPacketInfo.hasLbrr(next.data, next.payloadOffset, next.payloadLength)
                    ) next.data.copyOfRange(next.payloadOffset, next.payloadOffset + next.payloadLength) else null
                    filled48 += place(work ?: newWork(tick).also { work = it }, FrameWork.RECOVER, fec, filled48, jitter.duration, want)
                    voiced = true
                }
                JitterBuffer.Step.UNDERRUN, JitterBuffer.Step.STRETCH -> {
                    if (step == JitterBuffer.Step.STRETCH) counters.inc(Counter.STRETCHES)
                    filled48 += place(work ?: newWork(tick).also { work = it }, FrameWork.CONCEAL, null, filled48, jitter.duration, want)
                    voiced = true
                }
            }
        }
        syncLossCounters()
        if (!voiced) {
            // A silent tick (silence frames, a gap, between spurts) ends the decoder's continuity: the next audio
            // starts on a fresh decoder, as a new talk spurt does, rather than on state from before the silence.
            needsReset = true
            return null
        }
        val w = work ?: newWork(tick)
        w.sequence = (sequence and 0xFFFF).toInt()
        w.rtpTimestamp = timestamp and 0xFFFF_FFFFL
        w.opus = opus
        w.extraOpus = extraOpus
        w.audioLevel = level
        w.speakerFlags = flags
        return w
    }

    // The works this speaker plans, reused in turn: at most TICKS_IN_FLIGHT ticks are planned and not yet sent, so a
    // work comes round again only after the tick it was planned for has gone out. One object per frame per tick less.
    private val works = Array(TICKS_IN_FLIGHT + 1) { FrameWork(decoder, ssrc) }
    private var nextWork = 0

    private fun newWork(tick: Long): FrameWork {
        val w = works[nextWork]
        nextWork = if (nextWork + 1 == works.size) 0 else nextWork + 1
        w.reset(tick, userIdOrNull)
        return w
    }

    /**
     * Plans one decoder operation for a slice of [dur48] samples at [at48] in a tick that still needs [want]: what does
     * not fit is carried into the next tick. The decoder is reset first when playout decided so since its last use.
     * Returns the 48 kHz samples placed in this tick.
     */
    private fun place(w: FrameWork, code: Int, data: ByteArray?, at48: Int, dur48: Int, want: Int): Int {
        val n48 = split.place(dur48, want)
        // Without a format nothing is decoded, so the decoder is never used and a pending reset stays pending.
        val reset = format != null && needsReset
        if (reset) needsReset = false
        w.add(code, data, dur48, at48, n48, reset)
        return n48
    }

    /**
     * Adds what the jitter buffer decided during this tick to the receiver's counters: packets skipped as lost, and
     * packets that arrived but whose slot had already been concealed (late, like those refused on insert).
     */
    private fun syncLossCounters() {
        if (jitter.lost != countedLost) {
            counters.add(Counter.LOST, jitter.lost - countedLost)
            countedLost = jitter.lost
        }
        if (jitter.lateDrops != countedLateDrops) {
            counters.add(Counter.LATE, jitter.lateDrops - countedLateDrops)
            countedLateDrops = jitter.lateDrops
        }
    }

    /** Frees every buffered packet and hands the decoder to [closeDecoder], which closes it once its work is done. */
    fun close(closeDecoder: (SpeakerDecoder) -> Unit = SpeakerDecoder::close) {
        jitter.flush()
        closeDecoder(decoder)
    }

    private companion object {
        /** Steps that put audio (decoded, concealed or silence) into the tick and so define its sequence and timestamp. */
        val AUDIBLE: Set<JitterBuffer.Step> = java.util.EnumSet.of(
            JitterBuffer.Step.PACKET, JitterBuffer.Step.MISSING, JitterBuffer.Step.UNDERRUN, JitterBuffer.Step.GAP,
            JitterBuffer.Step.STRETCH,
        )

        /** With an adaptive delay a spurt more than this many ticks later than wanted is re-anchored at once. */
        const val ADAPTIVE_MAX_EARLY_TICKS = 5

        /** Packets between two refreshes of the cached target (a late packet refreshes it at once). */
        const val TARGET_EVERY_PACKETS = 8

        /** Histogram range of the report-only estimator of a fixed-delay speaker: 500 ms. */
        const val REPORT_MAX_TICKS = 25.0

        fun ticks(d: Duration): Double = d.inWholeMicroseconds / (VoiceConstants.FRAME_MS * 1000.0)

        fun millis(ticks: Double): Duration = (ticks * VoiceConstants.FRAME_MS).milliseconds
    }
}
