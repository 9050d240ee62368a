package dev.earshot.voice.sink

import dev.earshot.voice.model.VoiceEvent
import dev.earshot.voice.model.VoiceOutput
import dev.earshot.voice.model.VoiceTick
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.CoroutineName
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.Job
import kotlinx.coroutines.NonCancellable
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext
import org.slf4j.LoggerFactory
import java.util.concurrent.CopyOnWriteArrayList
import java.util.concurrent.atomic.AtomicBoolean
import java.util.concurrent.atomic.AtomicLong

/**
 * A sink that is listening: its coroutine, its queue's drop count, and a way to stop it alone.
 * Returned by `VoiceReceiver.listen`.
 */
public class Listening internal constructor(
    /** The sink. */
    public val sink: AudioSink,
    private val droppedTicks: AtomicLong,
) {
    internal lateinit var job: Job
    internal val stoppedByUser = AtomicBoolean(false)

    /** Whether the sink is still receiving. */
    public val isActive: Boolean get() = this::job.isInitialized && job.isActive

    /** Outputs dropped from this sink's queue because it fell behind. */
    public val dropped: Long get() = droppedTicks.get()

    /** Stops this sink (its cleanup runs and its `after` gets null) and waits until it has finished. */
    public suspend fun stop() {
        stoppedByUser.set(true)
        job.cancel()
        job.join()
    }
}

/**
 * Runs listened sinks: each in its own coroutine, fed from the receiver's output stream through its own bounded
 * queue, so a slow sink only delays itself and a failing one only ends itself.
 */
internal class SinkHost(
    private val outputs: (capacity: Int, dropped: () -> Unit) -> Flow<VoiceOutput>,
    private val receiverFailure: () -> Throwable?,
) {
    private val active = CopyOnWriteArrayList<Listening>()

    @Volatile
    var paused: Boolean = false

    val isListening: Boolean get() = active.any { it.isActive }

    fun listen(scope: CoroutineScope, sink: AudioSink, after: (Throwable?) -> Unit): Listening {
        val dropped = AtomicLong()
        val listening = Listening(sink, dropped)
        val capacity = when (val o = sink.overflow) {
            is SinkOverflow.DropOldest -> o.capacity
            is SinkOverflow.Buffer -> o.capacity
        }
        require(capacity > 0) { "a sink queue needs a positive capacity" }
        // Registered first: a sink that ends during its undispatched start must be able to remove itself.
        active += listening
        // Subscribe before returning, so that nothing published after listen() is missed.
        listening.job = scope.launch(CoroutineName("earshot-sink"), start = CoroutineStart.UNDISPATCHED) {
            var error: Throwable? = null
            try {
                outputs(capacity) { dropped.incrementAndGet() }.collect { item ->
                    if (paused) return@collect
                    when (item) {
                        is VoiceTick -> sink.onTick(item)
                        is VoiceEvent -> sink.onEvent(item)
                    }
                }
                // The stream ended: normally, or because the receiver failed, which the sink should hear about.
                error = receiverFailure()
            } catch (e: CancellationException) {
                if (!listening.stoppedByUser.get()) error = e
            } catch (e: SinkFinished) {
                log.debug("sink {} finished: {}", sink, e.message)
            } catch (e: Throwable) {
                log.warn("sink {} failed; it stops, the others go on", sink, e)
                error = e
            } finally {
                withContext(NonCancellable) {
                    try {
                        sink.cleanup()
                    } catch (e: Throwable) {
                        error?.addSuppressed(e) ?: run { error = e }
                    }
                    active.remove(listening)
                    try {
                        after(error)
                    } catch (e: Throwable) {
                        log.warn("the after callback of sink {} threw", sink, e)
                    }
                }
            }
            // A cancellation that did not come from stop() (the receiver's scope ending) still propagates.
            (error as? CancellationException)?.let { throw it }
        }
        return listening
    }

    /** Stops every sink and waits for their cleanup. */
    suspend fun stopAll() {
        // Iterating the copy-on-write list itself walks a snapshot; toList() could race a sink ending.
        for (l in active) l.stop()
    }

    /** Waits until every sink has ended by itself (once the receiver has stopped: after draining its queue). */
    suspend fun awaitAll() {
        for (l in active) l.job.join()
    }

    private companion object {
        private val log = LoggerFactory.getLogger(SinkHost::class.java)
    }
}
