package dev.earshot.voice.pipeline

import java.util.concurrent.Executor
import java.util.concurrent.Executors
import java.util.concurrent.ThreadFactory
import java.util.concurrent.atomic.AtomicInteger
import java.util.concurrent.atomic.AtomicReference
import java.util.concurrent.locks.LockSupport

/**
 * Runs `work(0 until n)` on the calling thread and up to [helpers] pool threads at once, and returns when every index
 * is done. This is how a tick decodes its speakers on more than one core: each speaker is independent (own jitter
 * buffer, own decoder), and the caller blocks until the round ends, so no speaker is touched by two threads at once and
 * everything written in the round is visible to the caller afterwards (the hand-off goes through atomics).
 *
 * Index i belongs to lane `i % (helpers + 1)`; the caller works lane 0 and each helper the lane it draws, so a speaker
 * is usually decoded by the same thread tick after tick and its decoder state stays in that core's cache. A thread
 * whose lane is done takes what is left of the others, so a helper the scheduler starts late delays nothing: the
 * caller does its items too. A helper that starts after the caller has finished finds the round closed and touches
 * nothing; the caller waits only for helpers that are mid-item.
 */
internal class ParallelRound(private val helpers: Int, private val executor: Executor = DecodePool) {
    init {
        require(helpers >= 0) { "helpers must not be negative" }
    }

    /** Calls [work] once for each index in `0 until n`; rethrows the first failure after the round has ended. */
    fun run(n: Int, work: (Int) -> Unit) {
        val useHelpers = minOf(helpers, n - 1)
        if (useHelpers <= 0) {
            for (i in 0 until n) work(i)
            return
        }
        val round = Round(n, useHelpers + 1, work)
        repeat(useHelpers) { executor.execute(round::help) }
        round.drain(0)
        round.close()
        round.failure.get()?.let { throw it }
    }

    private class Round(private val n: Int, private val lanes: Int, private val work: (Int) -> Unit) {
        // Next position in each lane: lane l holds indexes l, l + lanes, l + 2 * lanes...
        private val cursors = Array(lanes) { AtomicInteger() }
        private val nextLane = AtomicInteger(1)
        // Number of helpers inside the round; CLOSED set once the caller has stopped waiting for newcomers.
        private val state = AtomicInteger()
        val failure = AtomicReference<Throwable?>()
        @Volatile private var caller: Thread? = null

        /** Works lane [own], then whatever the other lanes still hold. */
        fun drain(own: Int) {
            for (k in 0 until lanes) {
                val lane = (own + k) % lanes
                val cursor = cursors[lane]
                while (true) {
                    val i = lane + cursor.getAndIncrement() * lanes
                    if (i >= n) break
                    try {
                        work(i)
                    } catch (t: Throwable) {
                        failure.compareAndSet(null, t)
                    }
                }
            }
        }

        fun help() {
            while (true) {
                val s = state.get()
                if (s and CLOSED != 0) return
                if (state.compareAndSet(s, s + 1)) break
            }
            try {
                drain(nextLane.getAndIncrement() % lanes)
            } finally {
                if (state.decrementAndGet() == CLOSED) caller?.let(LockSupport::unpark)
            }
        }

        /** Stops admitting helpers and waits for those inside to finish their last item. */
        fun close() {
            caller = Thread.currentThread()
            val s = state.getAndUpdate { it or CLOSED }
            if (s == 0) return
            // A helper inside is finishing one item: spin briefly (a park costs tens of microseconds on a VM) first.
            var spins = 0
            while (state.get() != CLOSED) {
                if (++spins < SPINS) Thread.onSpinWait() else LockSupport.parkNanos(this, PARK_NANOS)
            }
        }
    }

    private companion object {
        const val CLOSED = 1 shl 30
        const val SPINS = 2_000
        // A helper finishing can miss the unpark (it read `caller` before it was set), so the wait also polls.
        const val PARK_NANOS = 50_000L
    }
}

/**
 * The process-wide pool that decodes for receive clocks: one daemon thread per core, shared by every connection
 * (decoding is CPU-bound, so more threads than cores would only add switching). A receiver's [TickDecoder] drives its
 * ticks on one of these threads and [ParallelRound] takes helpers for a large tick from the others.
 */
internal object DecodePool : Executor {
    private val threads: Int = Runtime.getRuntime().availableProcessors().coerceAtLeast(1)

    /** Pool threads available to help one round besides the thread driving it; 0 on a single-core machine. */
    val size: Int = threads - 1

    private val executor by lazy {
        val count = AtomicInteger()
        Executors.newFixedThreadPool(threads, ThreadFactory { r ->
            Thread(r, "earshot-decode-${count.incrementAndGet()}").apply { isDaemon = true }
        })
    }

    override fun execute(command: Runnable) {
        executor.execute(command)
    }
}
