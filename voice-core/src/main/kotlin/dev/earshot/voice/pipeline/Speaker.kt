package dev.earshot.voice.pipeline

import dev.earshot.voice.base.Counter
import dev.earshot.voice.base.Counters
import dev.earshot.voice.identity.SsrcDirectory
import dev.earshot.voice.jitter.PlayoutDelay
import dev.earshot.voice.model.SpeakerStats
import dev.earshot.voice.base.VoiceConstants
import dev.earshot.voice.base.VoiceConstants.SAMPLES_PER_FRAME
import dev.earshot.voice.codec.OpusDecoderFactory
import dev.earshot.voice.codec.OpusFrameDecoder
import dev.earshot.voice.codec.OpusPacketInfo
import dev.earshot.voice.codec.PcmFormat
import dev.earshot.voice.jitter.DelayEstimator
import dev.earshot.voice.jitter.JitterBuffer
import dev.earshot.voice.jitter.PlayoutPlacer
import dev.earshot.voice.jitter.TickSplitter
import dev.earshot.voice.model.AudioFrame
import dev.earshot.voice.model.FrameKind
import dev.earshot.voice.rtp.SequenceUnwrapper
import dev.earshot.voice.rtp.TimestampUnwrapper
import kotlin.math.floor
import kotlin.time.Duration
import kotlin.time.Duration.Companion.milliseconds

/**
 * Pure core of playout for one SSRC: its jitter buffer and Opus decoder. [insert] takes packets in arrival order;
 * [produce] is called once per receive-clock tick and returns that tick's 20 ms of audio, or null when the speaker
 * is silent. Decoding happens here, in sequence order, so concealment (PLC) and FEC recovery run exactly where a
 * packet is missing. Not thread-safe: owned by the playout stage.
 *
 * It also keeps the speaker's [DelayEstimator] (fed with every packet's arrival stamp) and is the jitter buffer's
 * [PlayoutPlacer]: a spurt should play `target` after the time a packet of the fastest recent transit would have
 * arrived (see [desiredTick]). The target follows the estimate with [PlayoutDelay.Adaptive] and is constant with
 * [PlayoutDelay.Fixed]; only the adaptive delay grows mid-spurt.
 */
internal class Speaker(
    val ssrc: Long,
    private val format: PcmFormat?,
    private val decoderFactory: OpusDecoderFactory,
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
    private var concealed = 0L
    private var fecRecovered = 0L
    private val seqs = SequenceUnwrapper()
    private val timestamps = TimestampUnwrapper()
    private var decoder: OpusFrameDecoder? = null

    // 48 kHz samples per output sample: 1 for 48 kHz, 3 for 16 kHz.
    private val ratio = if (format == null) 1 else VoiceConstants.SAMPLE_RATE / format.sampleRate
    private val channels = format?.channels ?: 0
    private val decoded = ShortArray(format?.maxBufferSize ?: 0)
    // Decoded audio not yet played (the rest of a 40/60 ms packet): split.carry48 samples at 48 kHz from decoded[carryFrom].
    private var carryFrom = 0
    private var carryKind = FrameKind.DECODED
    private val split = TickSplitter()
    private var needsReset = false
    // The jitter buffer's own loss tallies already added to the receiver's counters.
    private var countedLost = 0L
    private var countedLateDrops = 0L
    // The PCM of the tick being produced; see out().
    private var pcm: ShortArray? = null

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
        concealed = concealed,
        fecRecovered = fecRecovered,
        duplicates = duplicates,
        stretches = jitter.stretches,
    )

    /** This tick's frame, or null when the speaker has nothing to say in it. */
    fun produce(tick: Long): AudioFrame? {
        // Allocated on the first audible slice only: most known speakers are silent in most ticks.
        pcm = null
        var filled48 = 0
        var kind = FrameKind.DECODED
        var voiced = false
        var opus: ByteArray? = null
        var extraOpus: List<ByteArray> = emptyList()
        var sequence = -1L
        var timestamp = 0L
        var level = -1
        var flags = -1

        if (split.carry48 > 0) {
            val n48 = split.takeCarry()
            if (format != null) copyCarry(out(), 0, n48 / ratio)
            filled48 = n48
            kind = carryKind
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
                JitterBuffer.Step.GAP -> filled48 += jitter.duration // silence: pcm is already zero
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
                        val got = decodePacket(p, dur)
                        counters.inc(Counter.DECODED)
                        if (got == DECODE_FAILED) kind = worse(kind, FrameKind.CONCEALED)
                        filled48 += place(filled48, dur, want, if (got == DECODE_FAILED) FrameKind.CONCEALED else FrameKind.DECODED)
                        voiced = true
                    }
                    pool.release(p)
                }
                JitterBuffer.Step.MISSING -> {
                    val dur = jitter.duration
                    val k = recover(jitter.fecItem, dur)
                    kind = worse(kind, k)
                    filled48 += place(filled48, dur, want, k)
                    voiced = true
                }
                JitterBuffer.Step.UNDERRUN, JitterBuffer.Step.STRETCH -> {
                    val dur = jitter.duration
                    val k = if (format == null) FrameKind.MISSING else concealInto(dur)
                    if (k == FrameKind.CONCEALED) { counters.inc(Counter.CONCEALED); concealed++ }
                    if (step == JitterBuffer.Step.STRETCH) counters.inc(Counter.STRETCHES)
                    kind = worse(kind, k)
                    filled48 += place(filled48, dur, want, k)
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
        val audio = if (format == null) null else out()
        pcm = null
        return AudioFrame(
            ssrc = ssrc,
            userId = userIdOrNull,
            tick = tick,
            sequence = (sequence and 0xFFFF).toInt(),
            rtpTimestamp = timestamp and 0xFFFF_FFFFL,
            pcm = audio,
            opus = opus,
            kind = kind,
            audioLevel = level,
            speakerFlags = flags,
            extraOpus = extraOpus,
        )
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

    /** Frees the decoder and every buffered packet. */
    fun close() {
        jitter.flush()
        decoder?.close()
        decoder = null
    }

    /** Decodes [p] into [decoded]; returns samples per channel, or [DECODE_FAILED] after concealing instead. */
    private fun decodePacket(p: ReceivedPacket, dur48: Int): Int {
        if (format == null) return dur48
        val d = decoder()
        val n = d.decode(p.data, p.payloadOffset, p.payloadLength, decoded)
        if (n > 0) return n
        counters.inc(Counter.DECODE_ERRORS)
        d.conceal(dur48, decoded)
        counters.inc(Counter.CONCEALED)
        concealed++
        return DECODE_FAILED
    }

    /** Fills [decoded] for a lost packet: FEC from the following packet when it carries LBRR data, else PLC. */
    private fun recover(next: ReceivedPacket?, dur48: Int): FrameKind {
        if (format == null) return FrameKind.MISSING
        if (next != null && OpusPacketInfo.hasLbrr(next.data, next.payloadOffset, next.payloadLength)) {
            val n = decoder().decodeFec(next.data, next.payloadOffset, next.payloadLength, dur48, decoded)
            if (n > 0) {
                counters.inc(Counter.FEC_RECOVERED)
                fecRecovered++
                return FrameKind.FEC_RECOVERED
            }
        }
        val k = concealInto(dur48)
        counters.inc(Counter.CONCEALED)
        concealed++
        return k
    }

    private fun concealInto(dur48: Int): FrameKind {
        decoder().conceal(dur48, decoded)
        return FrameKind.CONCEALED
    }

    /**
     * Copies the first [want] 48 kHz samples of what was just decoded (in [decoded], [dur48] long) into the tick's PCM at
     * [at48]; keeps the rest as carry for the next tick. Returns the 48 kHz samples placed.
     */
    private fun place(at48: Int, dur48: Int, want: Int, kind: FrameKind): Int {
        val n48 = split.place(dur48, want)
        if (format != null) System.arraycopy(decoded, 0, out(), at48 / ratio * channels, n48 / ratio * channels)
        if (dur48 > want) {
            carryFrom = n48 / ratio
            carryKind = kind
        }
        return n48
    }

    private fun copyCarry(pcm: ShortArray, at: Int, samples: Int) {
        System.arraycopy(decoded, carryFrom * channels, pcm, at * channels, samples * channels)
        carryFrom += samples
    }

    /** The PCM array of the tick being produced, allocated on first use (all zeros = silence until written). */
    private fun out(): ShortArray = pcm ?: ShortArray(format!!.samplesPerFrame * channels).also { pcm = it }

    private fun decoder(): OpusFrameDecoder {
        val d = decoder ?: decoderFactory.create(format!!).also { decoder = it }
        if (needsReset) {
            d.reset()
            needsReset = false
        }
        return d
    }

    private companion object {
        const val DECODE_FAILED = -1

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

        /** The more degraded of two kinds, so a tick that mixes decoded and concealed audio reports the concealment. */
        fun worse(a: FrameKind, b: FrameKind): FrameKind = if (severity(b) > severity(a)) b else a

        private fun severity(k: FrameKind): Int = when (k) {
            FrameKind.DECODED -> 0
            FrameKind.FEC_RECOVERED -> 1
            FrameKind.CONCEALED -> 2
            FrameKind.MISSING, FrameKind.SILENCE -> 3
        }
    }
}
