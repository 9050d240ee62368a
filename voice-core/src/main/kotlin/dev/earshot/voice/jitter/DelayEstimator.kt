package dev.earshot.voice.jitter

import dev.earshot.voice.base.VoiceConstants.SAMPLES_PER_FRAME
import kotlin.math.abs
import kotlin.math.floor

/**
 * The arrival-jitter estimate of one speaker, from which its adaptive playout delay follows: a pure core (no clock,
 * no allocation after construction), modelled on WebRTC NetEq's delay manager.
 *
 * All times are in receive-clock ticks (20 ms) as doubles; arrival times come from the socket reader's stamps, not
 * from when the pipeline got round to the packet.
 *
 * ## Relative delay
 * A packet's *transit* is its arrival time minus its RTP timestamp (in ticks). Transit contains the unknown clock
 * offset between sender and receiver plus the network delay, so only differences mean something. The *baseline* is
 * the smallest transit of the last 2 s ([WINDOW_BUCKETS] buckets of [BUCKET_TICKS] ticks, so it follows clock drift
 * and path changes): the packet that came fastest. A packet's *relative delay* is how much later than that it came.
 * Unlike inter-arrival differences this sees reordering and bursts (a packet held up 150 ms and delivered together
 * with its successors has a relative delay of 150 ms), and it is what a playout delay has to cover: a packet plays
 * in time when its relative delay is below the delay applied from the baseline.
 *
 * ## Histogram and quantile
 * Relative delays go into a histogram of 5 ms buckets up to the maximum delay. The first ~333 packets weigh
 * equally; after that each new packet weighs [FORGET_FACTOR]⁻¹ times the previous one (exponential forgetting
 * with a memory of ~333 packets, ~7 s; implemented by growing the weight and renormalising now and then, so an
 * update costs O(1)). The [QUANTILE] (99 %) quantile, taken at the upper edge of its bucket, is the jitter the
 * delay must cover: about one packet in a hundred may come later than it, which the tick rounding of the delay
 * mostly absorbs.
 *
 * ## Peaks
 * The histogram reacts slowly by design. A packet that actually came late is a strong signal that it is wrong, so
 * [onLate] holds the target at least at that packet's relative delay for [PEAK_HOLD_TICKS] (5 s); by then the
 * histogram has learnt the new distribution.
 *
 * ## Target
 * [target] = the larger of quantile and held peak, clamped to [[minTicks], [maxTicks]]; during the first
 * [WARMUP_PACKETS] learnt packets it is at least [initialTicks], so a speaker is not cut to the minimum delay before
 * anything is known about its network (its first spurt boundary shrinks it by at most a tick anyway).
 *
 * ## Discontinuities
 * A talk spurt whose first packet seems later than [maxTicks] is taken as a sender whose RTP clock did not run
 * during the pause (no jitter looks like that): the baseline restarts from it instead of feeding the histogram a
 * delay no buffer could cover.
 *
 * [jitterTicks] is RFC 3550's interarrival jitter (the smoothed absolute difference of consecutive transits), kept
 * for reporting only: it measures how much consecutive packets differ, not how late the latest one is.
 */
public class DelayEstimator(
    public val minTicks: Double,
    public val maxTicks: Double,
    public val initialTicks: Double,
) {
    init {
        require(minTicks >= 0 && maxTicks >= minTicks && initialTicks in minTicks..maxTicks) { "need 0 <= min <= initial <= max" }
    }

    private val windowMin = DoubleArray(WINDOW_BUCKETS)
    private val windowBucket = LongArray(WINDOW_BUCKETS) { Long.MIN_VALUE }

    /** Smallest transit (arrival minus timestamp, in ticks) of the last 2 s; NaN before the first packet. */
    public var baseTransit: Double = Double.NaN
        private set

    private val histogram = DoubleArray((maxTicks / HISTOGRAM_STEP).toInt() + 2)
    private var total = 0.0
    private var weight = 1.0

    /** Packets learnt into the histogram. */
    public var learned: Long = 0
        private set

    private var peak = 0.0
    private var peakUntil = Double.NEGATIVE_INFINITY
    private var lastTransit = Double.NaN

    /** RFC 3550 interarrival jitter in ticks (reporting only). */
    public var jitterTicks: Double = 0.0
        private set

    /** Relative delay of the last packet seen by [onArrival], in ticks. */
    public var lastRelativeDelay: Double = 0.0
        private set

    /**
     * Records a packet stamped [timestamp] (unwrapped RTP) arriving at [arrival] (ticks). [learn] false keeps it out
     * of the histogram (its arrival stamp is not a network measurement, e.g. it was read after a stall of the
     * receiver); [spurtStart] marks the first packet of a talk spurt. Returns its relative delay in ticks.
     */
    public fun onArrival(timestamp: Long, arrival: Double, learn: Boolean, spurtStart: Boolean): Double {
        val transit = arrival - timestamp.toDouble() / SAMPLES_PER_FRAME
        val bucket = floor(arrival / BUCKET_TICKS).toLong()
        if (spurtStart && !baseTransit.isNaN() && transit - baseTransit > maxTicks) clearWindow()
        val slot = Math.floorMod(bucket, WINDOW_BUCKETS.toLong()).toInt()
        if (windowBucket[slot] != bucket) {
            windowBucket[slot] = bucket
            windowMin[slot] = transit
        } else if (transit < windowMin[slot]) {
            windowMin[slot] = transit
        }
        var base = Double.POSITIVE_INFINITY
        for (i in 0 until WINDOW_BUCKETS) {
            val b = windowBucket[i]
            if (b > bucket - WINDOW_BUCKETS && b <= bucket && windowMin[i] < base) base = windowMin[i]
        }
        baseTransit = base
        val relative = transit - base
        lastRelativeDelay = relative
        if (learn) {
            if (!lastTransit.isNaN()) jitterTicks += (abs(transit - lastTransit) - jitterTicks) / 16
            learn(relative)
        }
        lastTransit = transit
        return relative
    }

    /** A packet with relative delay [relative] came too late to play (at arrival time [arrival], ticks). */
    public fun onLate(relative: Double, arrival: Double) {
        if (arrival >= peakUntil || relative > peak) peak = minOf(relative, maxTicks)
        peakUntil = arrival + PEAK_HOLD_TICKS
    }

    /** The [QUANTILE] of the learnt relative delays (upper bucket edge), in ticks; 0 before any. */
    public fun quantileTicks(): Double {
        if (total <= 0.0) return 0.0
        val wanted = total * QUANTILE
        var sum = 0.0
        for (i in histogram.indices) {
            sum += histogram[i]
            if (sum >= wanted) return (i + 1) * HISTOGRAM_STEP
        }
        return histogram.size * HISTOGRAM_STEP
    }

    /** The delay the playout should apply at time [now] (ticks), in ticks: see the class description. */
    public fun target(now: Double): Double {
        var t = quantileTicks()
        if (now < peakUntil && peak > t) t = peak
        if (learned < WARMUP_PACKETS && initialTicks > t) t = initialTicks
        return t.coerceIn(minTicks, maxTicks)
    }

    /** Forgets everything (the stream restarted). */
    public fun reset() {
        clearWindow()
        baseTransit = Double.NaN
        histogram.fill(0.0)
        total = 0.0
        weight = 1.0
        learned = 0
        peak = 0.0
        peakUntil = Double.NEGATIVE_INFINITY
        lastTransit = Double.NaN
        jitterTicks = 0.0
    }

    private fun clearWindow() {
        windowBucket.fill(Long.MIN_VALUE)
        lastTransit = Double.NaN
    }

    private fun learn(relative: Double) {
        learned++
        // Equal weights until the forgetting memory is reached, then each packet weighs 1/FORGET_FACTOR more.
        if (learned > MEMORY_PACKETS) weight /= FORGET_FACTOR
        val i = (relative / HISTOGRAM_STEP).toInt().coerceIn(0, histogram.size - 1)
        histogram[i] += weight
        total += weight
        if (weight > RENORMALISE_ABOVE) {
            for (k in histogram.indices) histogram[k] /= weight
            total /= weight
            weight = 1.0
        }
    }

    public companion object {
        /** Width of a baseline bucket in ticks (200 ms). */
        public const val BUCKET_TICKS: Double = 10.0
        /** Baseline buckets kept: the baseline covers the last 2 s. */
        public const val WINDOW_BUCKETS: Int = 10
        /** Histogram resolution in ticks (5 ms). */
        public const val HISTOGRAM_STEP: Double = 0.25
        /** The share of relative delays the target covers. */
        public const val QUANTILE: Double = 0.99
        /** Per-packet forgetting factor of the histogram. */
        public const val FORGET_FACTOR: Double = 0.997
        /** How long a late packet's relative delay holds the target up, in ticks (5 s). */
        public const val PEAK_HOLD_TICKS: Double = 250.0
        /** Learnt packets before the target may fall below the initial delay (0.5 s of 20 ms packets). */
        public const val WARMUP_PACKETS: Long = 25
        /** Packets weighed equally before forgetting starts: 1 / (1 - [FORGET_FACTOR]). */
        private const val MEMORY_PACKETS = 333L
        private const val RENORMALISE_ABOVE = 1e100
    }
}
