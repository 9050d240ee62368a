package dev.earshot.voice.javaapi.internal

import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.CoroutineName
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.asCoroutineDispatcher
import kotlinx.coroutines.channels.BufferOverflow
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.flow
import kotlinx.coroutines.jdk9.asPublisher
import kotlinx.coroutines.launch
import java.util.concurrent.Executor
import java.util.concurrent.atomic.AtomicBoolean
import java.util.concurrent.atomic.LongAdder
import java.util.function.Function

/**
 * Not API: flows as Reactive Streams publishers (kotlinx-coroutines-jdk9's `asPublisher`, which implements the
 * protocol) behind a drop-oldest buffer that counts what it drops.
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
    ): java.util.concurrent.Flow.Publisher<T> {
        require(capacity >= 1) { "the buffer size must be at least 1, was $capacity" }
        val converted = flow {
            source.collect { item -> convert.apply(item)?.let { emit(it) } }
            endCause()?.let { throw it }
        }
        return converted.dropOldest(capacity, dropped).asPublisher(executor.asCoroutineDispatcher())
    }

    /**
     * The same publisher over [items], ending with [failure] (null completes), for the Reactive Streams TCK and the
     * buffer's tests: the source is produced as fast as it goes, whatever the demand.
     */
    @JvmStatic
    public fun <T : Any> bufferedPublisher(
        items: Iterable<T>, failure: Throwable?, executor: Executor, capacity: Int, dropped: LongAdder,
    ): java.util.concurrent.Flow.Publisher<T> =
        livePublisher(flow { for (item in items) emit(item) }, Function { it }, executor, capacity, dropped) { failure }

    /**
     * Collects this flow into a buffer of [capacity] on `Dispatchers.Default`, never waiting for the downstream: when
     * the buffer is full the oldest item is dropped and counted in [dropped]. Items still buffered when the downstream
     * cancels are not counted.
     */
    internal fun <T> Flow<T>.dropOldest(capacity: Int, dropped: LongAdder): Flow<T> = flow {
        coroutineScope {
            val counting = AtomicBoolean(true)
            val buffer = Channel<T>(capacity, BufferOverflow.DROP_OLDEST) { if (counting.get()) dropped.increment() }
            val producer = launch(Dispatchers.Default + CoroutineName("earshot-java-publisher"), start = CoroutineStart.UNDISPATCHED) {
                try {
                    this@dropOldest.collect { buffer.send(it) }
                    buffer.close()
                } catch (e: CancellationException) {
                    throw e
                } catch (e: Throwable) {
                    buffer.close(e)
                }
            }
            try {
                for (item in buffer) emit(item)
            } finally {
                counting.set(false)
                producer.cancel()
                buffer.cancel()
            }
        }
    }
}
