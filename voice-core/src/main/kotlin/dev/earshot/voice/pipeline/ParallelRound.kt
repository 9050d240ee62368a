package dev.earshot.voice.pipeline

import java.util.concurrent.Executor
import java.util.concurrent.Executors
import java.util.concurrent.ThreadFactory
import java.util.concurrent.atomic.AtomicInteger
import java.util.concurrent.atomic.AtomicReference
import java.util.concurrent.locks.LockSupport

/**
 * Runs `work(0 until n)` on the calling thread and up to [helpers] pool threads at once, and returns when every index
 * is done. Indexes are claimed one at a time from a shared counter, so a thread that drew cheap items (silent
 * speakers) takes more. This is how a tick decodes its speakers on every core: each speaker is independent (own jitter
 * buffer, own decoder), and the caller blocks until the round ends, so no speaker is touched by two threads at once and
 * everything written in the round is visible to the caller afterwards (the hand-off goes through atomics).
 *
 * A helper that the pool starts after the caller has already finished every item finds the round closed and returns
 * without touching anything; the caller waits only for helpers that are mid-item.
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
        val round = Round(n, work)
        repeat(useHelpers) { executor.execute(round::help) }
        round.drain()
        round.close()
        round.failure.get()?.let { throw it }
    }

    private class Round(private val n: Int, private val work: (Int) -> Unit) {
        private val next = AtomicInteger()
        // Number of helpers inside the round; CLOSED set once the caller has stopped waiting for newcomers.
        private val state = AtomicInteger()
        val failure = AtomicReference<Throwable?>()
        @Volatile private var caller: Thread? = null

        fun drain() {
            while (true) {
                val i = next.getAndIncrement()
                if (i >= n) return
                try {
                    work(i)
                } catch (t: Throwable) {
                    failure.compareAndSet(null, t)
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
                drain()
            } finally {
                if (state.decrementAndGet() == CLOSED) caller?.let(LockSupport::unpark)
            }
        }

        /** Stops admitting helpers and waits for those inside to finish their last item. */
        fun close() {
            caller = Thread.currentThread()
            val s = state.getAndUpdate { it or CLOSED }
            if (s == 0) return
            while (state.get() != CLOSED) LockSupport.parkNanos(this, PARK_NANOS)
        }
    }

    private companion object {
        const val CLOSED = 1 shl 30
        // A helper finishing can miss the unpark (it read `caller` before it was set), so the wait also polls.
        const val PARK_NANOS = 50_000L
    }
}

/**
 * The process-wide pool that helps receive clocks decode: one daemon thread per core beyond the first, shared by every
 * connection (decoding is CPU-bound, so more threads than cores would only add switching).
 */
internal object DecodePool : Executor {
    /** Pool threads available to help one round; 0 on a single-core machine. */
    val size: Int = (Runtime.getRuntime().availableProcessors() - 1).coerceAtLeast(0)

    private val executor by lazy {
        val count = AtomicInteger()
        Executors.newFixedThreadPool(size.coerceAtLeast(1), ThreadFactory { r ->
            Thread(r, "earshot-decode-${count.incrementAndGet()}").apply { isDaemon = true }
        })
    }

    override fun execute(command: Runnable) {
        executor.execute(command)
    }
}
