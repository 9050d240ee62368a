package dev.earshot.voice.sink

import dev.earshot.voice.model.ReceiveTimeline
import dev.earshot.voice.audio.TickConverter
import dev.earshot.voice.codec.PcmFormat
import dev.earshot.voice.model.VoiceEvent
import dev.earshot.voice.model.VoiceOutput
import dev.earshot.voice.model.VoiceTick
import dev.earshot.voice.pipeline.Broadcaster
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.CoroutineName
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.Job
import kotlinx.coroutines.NonCancellable
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext
import org.slf4j.LoggerFactory
import java.util.concurrent.CopyOnWriteArrayList
import java.util.concurrent.atomic.AtomicBoolean
import java.util.concurrent.atomic.AtomicLong

/**
 * A sink that is listening: its place on the receiver's timeline (its [recording], the tick it was listened at, the
 * tick it ends with), its queue's drop count, and a way to stop it alone. Returned by `VoiceReceiver.listen` and
 * given to the sink (and its children) in [AudioSink.onStart] before anything else.
 */
public class Listening internal constructor(
    /** The sink. */
    public val sink: AudioSink,
    /** The recording this sink belongs to: its files start at the recording's t0. */
    public val recording: Recording,
    /** The first tick this sink receives: the receiver's next tick when `listen` was called. */
    public val listenTick: Long,
    private val droppedTicks: AtomicLong,
) {
    internal lateinit var job: Job
    internal val stoppedByUser = AtomicBoolean(false)

    @Volatile
    private var endTickValue = Recording.NOT_ENDED

    /** The last tick this sink handled; -1 before its first. */
    internal val lastTick = AtomicLong(-1)

    /** t0 of the [recording]: the first tick of every file this sink writes. */
    public val startTick: Long get() = recording.startTick

    /**
     * The tick this sink's files end with, once known: the tick at which it, its recording or every sink was stopped,
     * or the receiver's last tick when the receiver stopped. Null while listening, and after a failure (files then end
     * with the last tick the sink handled).
     */
    public val endTick: Long? get() = endTickValue.takeIf { it != Recording.NOT_ENDED }

    /** Whether the sink is still receiving. */
    public val isActive: Boolean get() = this::job.isInitialized && job.isActive

    /** Outputs dropped from this sink's queue because it fell behind. */
    public val dropped: Long get() = droppedTicks.get()

    /**
     * Stops this sink at the last tick the receiver has emitted: it first handles the ticks up to that one still in its
     * queue, then its cleanup runs (files end at that tick) and its `after` gets null. Waits until it has finished.
     */
    public suspend fun stop() {
        requestEnd(recording.timeline.lastTick, byUser = true)
        job.join()
    }

    /** Waits until this sink has ended (its cleanup has run and its files are closed), however it ended. */
    public suspend fun awaitFinished() {
        job.join()
    }

    /** Ends this sink after [tick] (at the first call; later calls keep the first end). */
    internal fun requestEnd(tick: Long, byUser: Boolean) {
        if (byUser) stoppedByUser.set(true)
        synchronized(this) {
            if (endTickValue == Recording.NOT_ENDED) endTickValue = tick
        }
        // Already past its end and waiting for more: nothing left to handle.
        if (lastTick.get() >= endTickValue && this::job.isInitialized) job.cancel()
    }

    override fun toString(): String = "Listening(sink=$sink, listenTick=$listenTick, endTick=$endTick)"
}

/**
 * Runs listened sinks: each in its own coroutine, fed from the receiver's output stream through its own bounded
 * queue, so a slow sink only delays itself and a failing one only ends itself. Places every sink on the receiver's
 * [timeline] in a [Recording], and converts PCM for sinks that want another format than the receiver decodes.
 */
internal class SinkHost(
    private val outputs: Broadcaster<VoiceOutput>,
    private val timeline: ReceiveTimeline,
    private val decode: PcmFormat?,
    private val receiverFailure: () -> Throwable?,
) {
    private val active = CopyOnWriteArrayList<Listening>()
    private var current: Recording? = null
    private val lock = Any()

    @Volatile
    var paused: Boolean = false

    val isListening: Boolean get() = active.any { it.isActive }

    /** The default recording running now, if any. */
    val currentRecording: Recording? get() = synchronized(lock) { current?.takeIf { it.isActive } }

    /** A recording starting at the receiver's next tick, lasting until stopped or the receiver's end. */
    fun newRecording(): Recording = Recording(timeline.nextTick, timeline, endsWhenEmpty = false)

    fun listen(scope: CoroutineScope, sink: AudioSink, recording: Recording?, after: (Throwable?) -> Unit): Listening {
        val capacity = when (val o = sink.overflow) {
            is SinkOverflow.DropOldest -> o.capacity
            is SinkOverflow.Buffer -> o.capacity
        }
        require(capacity > 0) { "a sink queue needs a positive capacity" }
        val dropped = AtomicLong()
        // Subscribe before reading the next tick: every tick from the one read on is then in this sink's queue.
        val sub = outputs.subscribe(capacity, { dropped.incrementAndGet() })
        val listening = synchronized(lock) {
            val listenTick = timeline.nextTick
            val rec = recording ?: current?.takeIf { it.isActive } ?: Recording(listenTick, timeline, endsWhenEmpty = true).also { current = it }
            if (!rec.isActive) {
                sub.cancel()
                throw IllegalStateException("the recording has ended; start a new one")
            }
            Listening(sink, rec, maxOf(listenTick, rec.startTick), dropped).also {
                rec.members += it
                active += it
            }
        }
        val converter = (sink.wants as? AudioFormat.Pcm)?.format?.takeIf { decode != null && it != decode }?.let { TickConverter(decode!!, it) }
        listening.job = scope.launch(CoroutineName("earshot-sink"), start = CoroutineStart.UNDISPATCHED) {
            var error: Throwable? = null
            try {
                sink.onStart(listening)
                for (item in sub) {
                    if (item is VoiceTick && item.tick > (listening.endTick ?: Long.MAX_VALUE)) break
                    if (!paused) {
                        when (item) {
                            is VoiceTick -> sink.onTick(converter?.convert(item) ?: item)
                            is VoiceEvent -> sink.onEvent(item)
                        }
                    }
                    if (item is VoiceTick) {
                        listening.lastTick.set(item.tick)
                        if (item.tick >= (listening.endTick ?: Long.MAX_VALUE)) break
                    }
                }
                // The stream ended: normally, or because the receiver failed, which the sink should hear about.
                error = receiverFailure()
                if (listening.endTick == null) {
                    val last = timeline.lastTick
                    listening.requestEnd(last, byUser = false)
                    listening.recording.ended(last)
                }
            } catch (e: CancellationException) {
                if (!listening.stoppedByUser.get()) error = e
            } catch (e: SinkFinished) {
                log.debug("sink {} finished: {}", sink, e.message)
                listening.requestEnd(listening.lastTick.get(), byUser = false)
            } catch (e: Throwable) {
                log.warn("sink {} failed; it stops, the others go on", sink, e)
                error = e
            } finally {
                sub.cancel()
                withContext(NonCancellable) {
                    try {
                        sink.cleanup()
                    } catch (e: Throwable) {
                        error?.addSuppressed(e) ?: run { error = e }
                    }
                    active.remove(listening)
                    endRecordingIfEmpty(listening.recording)
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

    private fun endRecordingIfEmpty(recording: Recording) {
        synchronized(lock) {
            if (recording.endsWhenEmpty && recording.members.none { it in active }) {
                recording.ended(timeline.lastTick)
                if (current === recording) current = null
            }
        }
    }

    /** Ends every sink at the same tick (the last one emitted) and waits for their cleanup. */
    suspend fun stopAll() {
        val end = timeline.lastTick
        val recordings = synchronized(lock) {
            current = null
            active.map { it.recording }.distinct()
        }
        for (r in recordings) r.end(end)
        for (l in active) l.requestEnd(end, byUser = true)
        // Iterating the copy-on-write list itself walks a snapshot; toList() could race a sink ending.
        for (l in active) l.awaitFinished()
    }

    /** Waits until every sink has ended by itself (once the receiver has stopped: after draining its queue). */
    suspend fun awaitAll() {
        for (l in active) l.awaitFinished()
    }

    private companion object {
        private val log = LoggerFactory.getLogger(SinkHost::class.java)
    }
}
