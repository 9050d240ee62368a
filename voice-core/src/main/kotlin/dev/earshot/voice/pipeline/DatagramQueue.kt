package dev.earshot.voice.pipeline

import java.util.concurrent.atomic.AtomicReference
import kotlinx.coroutines.CancellableContinuation
import kotlinx.coroutines.suspendCancellableCoroutine
import kotlin.coroutines.resume

/**
 * The bounded queue between the socket reader and the receive loop: [offer] never suspends; when the queue is full the
 * oldest element is dropped and handed to [onDrop] (which counts it and returns its buffer to the pool).
 *
 * A ring under one lock rather than a coroutine channel: the consumer takes up to a batch in one lock acquisition
 * ([drainTo]), so a busy receive loop pays one lock per batch instead of a channel's per-element cell protocol, and
 * nothing is allocated per element (BENCHMARKS.md, "Hot-path changes"). The consumer suspends only when the ring is
 * empty ([awaitItems]); the producer resumes it after its next offer.
 */
internal class DatagramQueue(capacity: Int, private val onDrop: (ReceivedPacket) -> Unit) {
    init {
        require(capacity > 0) { "capacity must be positive, was $capacity" }
    }

    private val ring = arrayOfNulls<ReceivedPacket>(capacity)
    private val lock = Any()
    private var head = 0
    private var size = 0
    private var closed = false

    /** The consumer while it waits for an element; whoever swaps it out resumes it (exactly once). */
    private val waiter = AtomicReference<CancellableContinuation<Unit>?>(null)

    /**
     * Enqueues [p], dropping the oldest element if full; [p] itself is dropped only if the queue is closed. With
     * [wake] false a waiting consumer is not resumed: the producer calls [signal] once its burst is queued.
     */
    fun offer(p: ReceivedPacket, wake: Boolean = true) {
        var dropped: ReceivedPacket? = null
        val accepted = synchronized(lock) {
            if (closed) {
                false
            } else {
                if (size == ring.size) {
                    dropped = ring[head]
                    ring[head] = null
                    head = next(head)
                    size--
                }
                ring[(head + size) % ring.size] = p
                size++
                true
            }
        }
        dropped?.let(onDrop)
        if (!accepted) onDrop(p) else if (wake) wake()
    }

    /** Resumes a waiting consumer, if any: ends a burst of [offer]s made without waking it. */
    fun signal() {
        wake()
    }

    /** No more elements will be offered; the consumer still takes what is queued, then sees the end. */
    fun close() {
        synchronized(lock) { closed = true }
        wake()
    }

    /**
     * Moves up to `out.size` queued elements, oldest first, into [out] from index 0; returns how many, 0 if the queue is
     * empty but open, or [CLOSED] once it is closed and empty.
     */
    fun drainTo(out: Array<ReceivedPacket?>): Int = synchronized(lock) {
        if (size == 0) return if (closed) CLOSED else 0
        val n = minOf(size, out.size)
        for (i in 0 until n) {
            out[i] = ring[head]
            ring[head] = null
            head = next(head)
        }
        size -= n
        n
    }

    /** Suspends until an element is queued or the queue is closed (returns at once if either is already so). */
    suspend fun awaitItems() {
        if (hasItemsOrClosed()) return
        suspendCancellableCoroutine { cont ->
            waiter.set(cont)
            // An offer between the check above and publishing the waiter did not see it: check again, and resume
            // ourselves unless the producer has already taken the waiter to resume it.
            if (hasItemsOrClosed() && waiter.compareAndSet(cont, null)) cont.resume(Unit)
        }
    }

    private fun hasItemsOrClosed(): Boolean = synchronized(lock) { size > 0 || closed }

    private fun wake() {
        val w = waiter.get() ?: return
        if (waiter.compareAndSet(w, null)) w.resume(Unit)
    }

    private fun next(i: Int): Int = if (i + 1 == ring.size) 0 else i + 1

    companion object {
        /** [drainTo]'s answer once the queue is closed and empty. */
        const val CLOSED = -1
    }
}
