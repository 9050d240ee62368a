package dev.earshot.voice.javaapi.internal

import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.CoroutineName
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.Job
import kotlinx.coroutines.asCoroutineDispatcher
import kotlinx.coroutines.channels.BufferOverflow
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.flow
import kotlinx.coroutines.jdk9.asPublisher
import kotlinx.coroutines.launch
import java.util.concurrent.Executor
import java.util.concurrent.atomic.AtomicBoolean
import java.util.concurrent.atomic.LongAdder
import java.util.function.Function
import java.util.concurrent.Flow as JdkFlow

/**
 * Not API: flows as Reactive Streams publishers. kotlinx-coroutines-jdk9's `asPublisher` implements the protocol
 * (demand, cancellation, serial signals on the caller's executor); in front of it each subscriber gets a drop-oldest
 * buffer that counts what it drops, filled from the moment of `subscribe` (so a live stream loses nothing between
 * subscribing and the first request). Two gaps of `asPublisher` are closed here: it ignores a `request` of zero or
 * less, where rule 3.9 wants `onError(IllegalArgumentException)`, and it starts only on the first request, so a
 * stream that has already ended (or failed) would not say so to a subscriber that has not requested yet (rule 1.9).
 */
public object Publishers {
    /**
     * [source] converted (null results skipped), buffered up to [capacity] items per subscriber (the oldest dropped and
     * added to [dropped] when the subscriber falls behind), as a publisher whose `onNext`/`onError`/`onComplete` run on
     * [executor]. After [source] completes, [endCause] says how: null completes the stream, an error fails it.
     */
    internal fun <S, T : Any> livePublisher(
        source: Flow<S>,
        convert: Function<in S, out T?>,
        executor: Executor,
        capacity: Int,
        dropped: LongAdder,
        endCause: suspend () -> Throwable?,
    ): JdkFlow.Publisher<T> {
        require(capacity >= 1) { "the buffer size must be at least 1, was $capacity" }
        val converted = flow {
            source.collect { item -> convert.apply(item)?.let { emit(it) } }
            endCause()?.let { throw it }
        }
        val context = executor.asCoroutineDispatcher()
        return JdkFlow.Publisher { subscriber ->
            val buffer = LiveBuffer(converted, capacity, dropped)
            val guard = Guard(subscriber, buffer)
            buffer.start(guard::sourceEnded)
            buffer.flow().asPublisher(context).subscribe(guard)
        }
    }

    /**
     * The same publisher over [items], ending with [failure] (null completes), for the Reactive Streams TCK and the
     * buffer's tests: the source is produced as fast as it goes, whatever the demand.
     */
    @JvmStatic
    public fun <T : Any> bufferedPublisher(
        items: Iterable<T>, failure: Throwable?, executor: Executor, capacity: Int, dropped: LongAdder,
    ): JdkFlow.Publisher<T> =
        livePublisher(flow { for (item in items) emit(item) }, Function { it }, executor, capacity, dropped) { failure }

    /**
     * One subscriber's buffer: [start] collects the source on `Dispatchers.Default` (subscribed before it returns),
     * never waiting for the subscriber: when the buffer is full the oldest item is dropped and counted. Items still
     * buffered when the subscriber cancels are not counted.
     */
    private class LiveBuffer<T>(private val source: Flow<T>, capacity: Int, private val dropped: LongAdder) {
        private val counting = AtomicBoolean(true)
        private val channel = Channel<T>(capacity, BufferOverflow.DROP_OLDEST) { if (counting.get()) dropped.increment() }
        @Volatile private var sentAny = false
        @Volatile private var job: Job? = null

        /** Starts collecting; [ended] learns when the source has ended, and whether it had sent nothing. */
        fun start(ended: (Boolean) -> Unit) {
            val scope = CoroutineScope(Dispatchers.Default + CoroutineName("earshot-java-publisher"))
            val j = scope.launch(start = CoroutineStart.UNDISPATCHED) {
                try {
                    source.collect {
                        sentAny = true
                        channel.send(it)
                    }
                    channel.close()
                } catch (e: CancellationException) {
                    throw e
                } catch (e: Throwable) {
                    channel.close(e)
                }
            }
            job = j
            j.invokeOnCompletion { ended(!sentAny) }
        }

        /** What the subscriber reads: the buffer, then the source's end. */
        fun flow(): Flow<T> = flow {
            try {
                for (item in channel) emit(item)
            } finally {
                close()
            }
        }

        fun close() {
            counting.set(false)
            job?.cancel()
            channel.cancel()
        }
    }

    /**
     * Between `asPublisher` and the subscriber: a `request(n)` with `n <= 0` cancels and signals
     * `onError(IllegalArgumentException)`; a source that ended without an item is reported at once, even before a
     * request. Downstream signals go through one lock, so the error never overlaps an `onNext` in flight; requested
     * from within `onSubscribe` or `onNext`, it follows when that returns.
     */
    private class Guard<T>(private val downstream: JdkFlow.Subscriber<in T>, private val buffer: LiveBuffer<*>) :
        JdkFlow.Subscriber<T>, JdkFlow.Subscription {
        private val lock = Object()
        private var done = false // guarded by lock
        private var pending: IllegalArgumentException? = null // guarded by lock
        private val requested = AtomicBoolean()
        private val endedIdle = AtomicBoolean()
        @Volatile private var subscription: JdkFlow.Subscription? = null

        /** The source has ended; with nothing sent, `asPublisher` is started to deliver that end without a request. */
        fun sourceEnded(idle: Boolean) {
            if (idle) {
                endedIdle.set(true)
                kick()
            }
        }

        private fun kick() {
            val s = subscription ?: return
            // The buffer is empty and closed, so this request delivers nothing but the end.
            if (endedIdle.get() && requested.compareAndSet(false, true)) s.request(1)
        }

        override fun onSubscribe(s: JdkFlow.Subscription) {
            subscription = s
            synchronized(lock) {
                if (done) return
                downstream.onSubscribe(this)
                pending?.let { fail(it) }
            }
            kick()
        }

        override fun onNext(item: T) {
            synchronized(lock) {
                if (done) return
                downstream.onNext(item)
                pending?.let { fail(it) }
            }
        }

        override fun onError(t: Throwable) {
            synchronized(lock) {
                if (done) return
                done = true
                downstream.onError(t)
            }
        }

        override fun onComplete() {
            synchronized(lock) {
                if (done) return
                done = true
                downstream.onComplete()
            }
        }

        override fun request(n: Long) {
            if (n > 0) {
                requested.set(true)
                subscription?.request(n)
                return
            }
            cancel()
            val error = IllegalArgumentException("request($n): demand must be positive (Reactive Streams rule 3.9)")
            if (Thread.holdsLock(lock)) {
                pending = error // called from within onSubscribe or onNext: signalled when it returns
            } else {
                synchronized(lock) { fail(error) }
            }
        }

        override fun cancel() {
            subscription?.cancel()
            buffer.close()
        }

        /** Under [lock]. */
        private fun fail(error: IllegalArgumentException) {
            if (done) return
            done = true
            pending = null
            downstream.onError(error)
        }
    }
}
