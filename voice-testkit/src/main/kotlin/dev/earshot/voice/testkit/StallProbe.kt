package dev.earshot.voice.testkit

import java.util.concurrent.atomic.AtomicLong
import java.util.concurrent.locks.LockSupport

/**
 * Measures how long this machine kept a thread from running, so that a test on a shared machine can tell late ticks
 * the machine caused from late ticks the code under test caused.
 *
 * A daemon thread sleeps a short period (default 1 ms) at a time and notes each wake-up that comes a threshold
 * (default 10 ms) or more after it was due: a garbage-collection pause, other processes holding the cores, a thread
 * starved by this JVM's own load. A receiver's clock stalled that long produces its ticks late too.
 * [stalledTicks] is what those stalls may have cost a 20 ms clock; compare it with the receiver's late ticks over the
 * same interval. Start the probe before the interval and [close] it after.
 */
public class StallProbe private constructor(
    private val periodNanos: Long,
    private val thresholdNanos: Long,
) : AutoCloseable {
    private val stalls = AtomicLong()
    private val ticks = AtomicLong()
    private val longest = AtomicLong()
    @Volatile private var running = true

    private val thread = Thread({ run() }, "earshot-stall-probe").apply {
        isDaemon = true
        start()
    }

    private fun run() {
        var due = System.nanoTime() + periodNanos
        while (running) {
            LockSupport.parkNanos(due - System.nanoTime())
            val now = System.nanoTime()
            record(now - due)
            // The next wake-up is due one period after this one, so one stall is counted once.
            due = now + periodNanos
        }
    }

    /** Counts a wake-up [lateNanos] behind its due time. */
    internal fun record(lateNanos: Long) {
        if (lateNanos < thresholdNanos) return
        stalls.incrementAndGet()
        // Every 20 ms tick the stall began can have been produced late: a 10 ms stall may straddle a deadline.
        ticks.addAndGet((lateNanos + TICK_NANOS - 1) / TICK_NANOS)
        longest.accumulateAndGet(lateNanos, ::maxOf)
    }

    /** Stalls of the threshold or more seen so far. */
    public fun stalls(): Long = stalls.get()

    /** The 20 ms ticks the stalls seen so far may have made late: each stall counts every tick it began. */
    public fun stalledTicks(): Long = ticks.get()

    /** The longest stall seen so far, in milliseconds (0 if none). */
    public fun longestStallMillis(): Long = longest.get() / 1_000_000

    /** Stops the probe's thread; the counts stay readable. */
    override fun close() {
        running = false
        LockSupport.unpark(thread)
        thread.join(1_000)
    }

    override fun toString(): String = "${stalls()} stalls (longest ${longestStallMillis()} ms), ${stalledTicks()} ticks"

    public companion object {
        private const val TICK_NANOS = 20_000_000L

        /**
         * Starts a probe that wakes every [periodMillis] milliseconds (default 1) and counts wake-ups [thresholdMillis]
         * (default 10) or more behind.
         */
        @JvmStatic
        @JvmOverloads
        public fun start(periodMillis: Long = 1, thresholdMillis: Long = 10): StallProbe {
            require(periodMillis > 0 && thresholdMillis > 0) { "period and threshold must be positive" }
            return StallProbe(periodMillis * 1_000_000, thresholdMillis * 1_000_000)
        }
    }
}
