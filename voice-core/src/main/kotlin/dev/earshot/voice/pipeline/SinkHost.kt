package dev.earshot.voice.pipeline

import dev.earshot.voice.model.ReceiveTimeline
import dev.earshot.voice.audio.TickConverter
import dev.earshot.voice.codec.PcmFormat
import dev.earshot.voice.model.VoiceEvent
import dev.earshot.voice.model.VoiceOutput
import dev.earshot.voice.model.VoiceTick
import dev.earshot.voice.sink.AudioFormat
import dev.earshot.voice.sink.AudioSink
import dev.earshot.voice.sink.Listening
import dev.earshot.voice.sink.Recording
import dev.earshot.voice.sink.SinkFinished
import dev.earshot.voice.sink.SinkOverflow
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
                if (!rec.join(it)) {
                    sub.cancel()
                    throw IllegalStateException("the recording has ended; start a new one")
                }
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
        val recordings = synchronized(lock) {
            current = null
            active.map { it.recording }.distinct()
        }
        timeline.atLastTick { end ->
            for (r in recordings) r.fixEnd(end)
            for (l in active) l.fixEnd(end, byUser = true)
        }
        for (l in active) l.cancelIfPastEnd()
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
