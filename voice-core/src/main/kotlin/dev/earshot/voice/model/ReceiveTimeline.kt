package dev.earshot.voice.model

import dev.earshot.voice.base.VoiceConstants
import dev.earshot.voice.internal.LongMap
import java.time.Duration
import java.time.Instant
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.atomic.AtomicInteger

/**
 * The one timeline of a [dev.earshot.voice.VoiceReceiver], shared by every flow and sink: tick `n` covers the 20 ms that start
 * `n * 20 ms` after the [origin], whoever looks at it and whenever they started looking. Maps ticks to wall-clock
 * time ([instantOf]), to the receiver's monotonic clock ([nanosOf]) and, per speaker, to RTP timestamps
 * ([rtpTimestampAt], [tickOfRtpTimestamp]), so transcripts and external tools can carry true times.
 *
 * The origin is fixed when the receive clock starts (shortly after `VoiceReceiver.start`); before that [isStarted]
 * is false and the origin-based functions throw [IllegalStateException]. Thread-safe: read from any thread.
 */
public class ReceiveTimeline internal constructor() {
    private val tickLock = Any()

    @Volatile
    private var originNanosValue = 0L

    @Volatile
    private var originValue: Instant? = null

    @Volatile
    private var lastTickValue = -1L

    // Written by the clock thread only when a speaker's RTP/tick relation changes (a new spurt, a resync).
    private val anchors = ConcurrentHashMap<Long, RtpAnchor>()

    // The clock thread's own copy of [anchors], checked for every frame without boxing its SSRC; a [forget] (from any
    // thread) makes it start over at the next tick.
    private val clockAnchors = LongMap<RtpAnchor>()
    private val forgets = AtomicInteger()
    private var forgetsSeen = 0

    /** Whether the receive clock has started, so that [origin] and [originNanos] are known. */
    public val isStarted: Boolean get() = originValue != null

    /** Wall-clock time of the start of tick 0. */
    public val origin: Instant get() = checkNotNull(originValue) { "the receive clock has not started yet" }

    /** The receiver's [NanoClock] reading at the start of tick 0 (`ReceiveConfig.clock`; monotonic nanoseconds). */
    public val originNanos: Long
        get() {
            check(isStarted) { "the receive clock has not started yet" }
            return originNanosValue
        }

    /** The index of the last tick the receiver has emitted, or -1 before the first. */
    public val lastTick: Long get() = lastTickValue

    /** The index of the next tick the receiver will emit: a sink listened now receives this tick first. */
    public val nextTick: Long get() = lastTickValue + 1

    /** Wall-clock time of the start of [tick]. */
    public fun instantOf(tick: Long): Instant = origin.plusNanos(tick * TICK_NANOS)

    /** Wall-clock time of the start of [frame]'s tick (where it sits in every recording of this receiver). */
    public fun instantOf(frame: AudioFrame): Instant = instantOf(frame.tick)

    /** The [NanoClock] reading at the start of [tick]. */
    public fun nanosOf(tick: Long): Long = originNanos + tick * TICK_NANOS

    /** The tick containing [instant] (ticks before the origin are negative). */
    public fun tickAt(instant: Instant): Long = Math.floorDiv(Duration.between(origin, instant).toNanos(), TICK_NANOS)

    /**
     * The latest relation between [ssrc]'s RTP timestamps and ticks seen in emitted frames, or null if that SSRC has
     * not been heard. It changes when the jitter buffer re-anchors the speaker (a new talk spurt placed by its
     * arrival, a resync).
     */
    public fun rtpAnchor(ssrc: Long): RtpAnchor? = anchors[ssrc]

    /** The RTP timestamp (32-bit, 48 kHz) that [ssrc]'s audio at the start of [tick] has, by its latest anchor. */
    public fun rtpTimestampAt(ssrc: Long, tick: Long): Long? {
        val a = anchors[ssrc] ?: return null
        return (a.rtpTimestamp + (tick - a.tick) * SAMPLES_PER_TICK) and RTP_MASK
    }

    /**
     * The tick in which [ssrc]'s sample with RTP timestamp [rtpTimestamp] plays, by its latest anchor (timestamps
     * within 2^31 samples, about 12 h, of the anchor are placed correctly across the 32-bit wrap).
     */
    public fun tickOfRtpTimestamp(ssrc: Long, rtpTimestamp: Long): Long? {
        val a = anchors[ssrc] ?: return null
        val delta = ((rtpTimestamp - a.rtpTimestamp) and RTP_MASK).toInt().toLong()
        return a.tick + Math.floorDiv(delta, SAMPLES_PER_TICK)
    }

    internal fun start(originNanos: Long, origin: Instant) {
        originNanosValue = originNanos
        originValue = origin
    }

    /** Called by the receiver for every tick before any collector sees it. */
    internal fun onTick(tick: VoiceTick) {
        val frames = tick.speaking
        val forgot = forgets.get()
        if (forgot != forgetsSeen) {
            clockAnchors.clear()
            forgetsSeen = forgot
        }
        for (i in frames.indices) {
            val f = frames[i]
            if (f.opus == null) continue
            val a = clockAnchors[f.ssrc]
            if (a == null || ((a.rtpTimestamp + (f.tick - a.tick) * SAMPLES_PER_TICK) and RTP_MASK) != f.rtpTimestamp) {
                val anchor = RtpAnchor(f.ssrc, f.tick, f.rtpTimestamp)
                anchors[f.ssrc] = anchor
                clockAnchors[f.ssrc] = anchor
            }
        }
        synchronized(tickLock) { lastTickValue = tick.tick }
    }

    /**
     * Runs [fix] with the last tick while no tick can advance it. The pipeline emits a tick only after [onTick], so an
     * end fixed inside [fix] is seen by every collector before the next tick reaches it: no sink handles a tick past
     * an end chosen as "the last tick" (without the lock, a tick emitted between reading it and fixing the end could).
     */
    internal fun <T> atLastTick(fix: (Long) -> T): T = synchronized(tickLock) { fix(lastTickValue) }

    internal fun forget(ssrc: Long) {
        anchors.remove(ssrc)
        forgets.incrementAndGet()
    }

    override fun toString(): String = "ReceiveTimeline(origin=$originValue, lastTick=$lastTickValue)"

    private companion object {
        const val TICK_NANOS = VoiceConstants.FRAME_MS * 1_000_000L
        const val SAMPLES_PER_TICK = VoiceConstants.SAMPLES_PER_FRAME.toLong()
        const val RTP_MASK = 0xFFFF_FFFFL
    }
}

/**
 * One point of the relation between a speaker's RTP timestamps and the receiver's ticks: the frame of [ssrc] played
 * in [tick] starts with the sample stamped [rtpTimestamp] (32-bit, 48 kHz).
 */
public class RtpAnchor(public val ssrc: Long, public val tick: Long, public val rtpTimestamp: Long) {
    override fun toString(): String = "RtpAnchor(ssrc=$ssrc, tick=$tick, rtpTimestamp=$rtpTimestamp)"
}
