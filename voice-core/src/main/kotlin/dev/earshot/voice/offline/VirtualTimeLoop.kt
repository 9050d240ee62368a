package dev.earshot.voice.offline

import kotlinx.coroutines.CancellableContinuation
import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.Delay
import kotlinx.coroutines.DisposableHandle
import kotlinx.coroutines.InternalCoroutinesApi
import java.util.PriorityQueue
import java.util.concurrent.TimeUnit
import java.util.concurrent.locks.ReentrantLock
import kotlin.concurrent.withLock
import kotlin.coroutines.CoroutineContext
import kotlin.coroutines.resume

/**
 * A single-threaded event loop in virtual time: a coroutine dispatcher whose `delay` does not wait but moves the
 * loop's clock to the next due timer once nothing else is ready. Runs on the thread that calls [runUntil]. Tasks run
 * in the order they were dispatched; timers in order of due time, then of scheduling, so a run is deterministic.
 * Tasks dispatched from other threads (work a coroutine moved elsewhere) are accepted and wake the loop.
 */
@OptIn(InternalCoroutinesApi::class)
internal class VirtualTimeLoop : CoroutineDispatcher(), Delay {
    private class Timer(val dueNanos: Long, val order: Long, val task: Runnable) {
        @Volatile
        var cancelled = false
    }

    private val lock = ReentrantLock()
    private val wake = lock.newCondition()
    private val ready = ArrayDeque<Runnable>()
    private val timers = PriorityQueue<Timer>(compareBy<Timer>({ it.dueNanos }, { it.order }))
    private var order = 0L

    /** Virtual nanoseconds since the loop was made. */
    @Volatile
    var nanoTime: Long = 0
        private set

    override fun dispatch(context: CoroutineContext, block: Runnable) {
        lock.withLock {
            ready.addLast(block)
            wake.signalAll()
        }
    }

    override fun scheduleResumeAfterDelay(timeMillis: Long, continuation: CancellableContinuation<Unit>) {
        val timer = schedule(timeMillis) { continuation.resume(Unit) }
        continuation.invokeOnCancellation { timer.cancelled = true }
    }

    override fun invokeOnTimeout(timeMillis: Long, block: Runnable, context: CoroutineContext): DisposableHandle {
        val timer = schedule(timeMillis, block)
        return DisposableHandle { timer.cancelled = true }
    }

    private fun schedule(timeMillis: Long, task: Runnable): Timer = lock.withLock {
        val due = nanoTime + timeMillis.coerceIn(0L, Long.MAX_VALUE / 4_000_000) * 1_000_000L
        Timer(due, order++, task).also { timers += it; wake.signalAll() }
    }

    /**
     * Runs tasks, advancing virtual time whenever only timers are left, until [done] is true. Fails with
     * [IllegalStateException] if nothing is ready, no timer is pending and nothing was dispatched from another thread
     * for [stallMillis] of real time: the work it waits for can never come.
     */
    fun runUntil(stallMillis: Long = 60_000, done: () -> Boolean) {
        while (!done()) {
            val task = lock.withLock { next(stallMillis) }
            task.run()
        }
    }

    /** Runs everything that is ready now, without advancing time. */
    fun runReady() {
        while (true) {
            val task = lock.withLock { ready.removeFirstOrNull() } ?: return
            task.run()
        }
    }

    private fun next(stallMillis: Long): Runnable {
        while (true) {
            ready.removeFirstOrNull()?.let { return it }
            while (timers.peek()?.cancelled == true) timers.poll()
            val timer = timers.poll()
            if (timer != null) {
                if (timer.dueNanos > nanoTime) nanoTime = timer.dueNanos
                return timer.task
            }
            // Only work moved to another thread can still come; wait for it, but not for ever.
            if (!wake.await(stallMillis, TimeUnit.MILLISECONDS) && ready.isEmpty() && timers.isEmpty()) {
                throw IllegalStateException("the replay stalled: no work and no timer for $stallMillis ms")
            }
        }
    }
}
