package dev.earshot.voice.pipeline

import kotlinx.coroutines.channels.BufferOverflow
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.flow.Flow
import java.util.concurrent.CopyOnWriteArrayList

/**
 * Fans one hot stream out to any number of collectors, each with its own bounded queue that drops its oldest element
 * when the collector falls behind (counted through [onDrop]). [emit] never suspends, so a slow collector cannot slow
 * the receive clock or other collectors; cancelling a collector removes and frees its queue.
 */
internal class Broadcaster<T>(private val capacity: Int, private val onDrop: () -> Unit) {
    /** One subscriber's queue; iterate it to receive, [cancel] it to leave. */
    class Subscription<T>(capacity: Int, val accepts: (T) -> Boolean, onDrop: () -> Unit) {
        @Volatile
        var active = true
        val channel = Channel<T>(capacity, BufferOverflow.DROP_OLDEST) { if (active) onDrop() }
        internal var owner: Broadcaster<T>? = null

        operator fun iterator() = channel.iterator()

        fun cancel() {
            active = false
            owner?.subscriptions?.remove(this)
            channel.cancel()
        }
    }

    private val subscriptions = CopyOnWriteArrayList<Subscription<T>>()

    @Volatile
    private var closed = false

    val subscriberCount: Int get() = subscriptions.size

    fun emit(value: T) {
        for (s in subscriptions) if (s.accepts(value)) s.channel.trySend(value)
    }

    /**
     * A cold flow: each collection subscribes to the hot stream from that moment on, until [close], through its own
     * queue of [queueCapacity] elements; drops are reported to [dropped] as well as to the broadcaster's counter.
     * Only elements that [accepts] are queued, so that what a collector does not want (events, for a collector of
     * ticks) never takes the place of what it does: a burst of hundreds of speaking events in one tick must not push
     * ticks out of a tick collector's queue.
     */
    fun flow(queueCapacity: Int = capacity, dropped: () -> Unit = {}, accepts: (T) -> Boolean = { true }): Flow<T> = kotlinx.coroutines.flow.flow {
        val sub = subscribe(queueCapacity, dropped, accepts)
        try {
            for (v in sub) emit(v)
        } finally {
            sub.cancel()
        }
    }

    /**
     * Subscribes at once (unlike [flow], whose collection subscribes when it starts): everything emitted after this
     * call is queued for the returned subscription until it is cancelled. Its owner must [Subscription.cancel] it.
     */
    fun subscribe(queueCapacity: Int = capacity, dropped: () -> Unit = {}, accepts: (T) -> Boolean = { true }): Subscription<T> {
        val sub = Subscription(queueCapacity, accepts) { onDrop(); dropped() }
        sub.owner = this
        subscriptions += sub
        // close() may have run between the check and the add; closing twice is harmless.
        if (closed) sub.channel.close()
        return sub
    }

    /** Ends every current and future collection after what is already queued. */
    fun close() {
        closed = true
        for (s in subscriptions) s.channel.close()
    }
}
