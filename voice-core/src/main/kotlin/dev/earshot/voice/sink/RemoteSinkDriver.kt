package dev.earshot.voice.sink

import dev.earshot.voice.model.ReceiveTimeline
import dev.earshot.voice.audio.TickConverter
import dev.earshot.voice.codec.PcmFormat
import dev.earshot.voice.model.VoiceEvent
import dev.earshot.voice.model.VoiceTick
import kotlinx.coroutines.Job
import java.time.Instant
import java.util.concurrent.atomic.AtomicLong

/**
 * Runs one [AudioSink] (a tree) outside a `VoiceReceiver`, from ticks and events that a receiver produced elsewhere
 * (another process or machine, e.g. records read from Kafka): the sink sees the same calls as when listened locally,
 * so a recording made here is the same file as the local one. Calls come from the caller, in order, one at a time.
 *
 * The sink is placed in a [Recording] starting at [startTick] on a timeline whose tick 0 began at [origin] (the
 * remote receiver's `ReceiveTimeline.origin`). PCM is converted when the sink wants another format than [pcmFormat]
 * (the format of the PCM in the ticks given, null when they carry Opus only), as a receiver does.
 *
 * @property sink the sink being run.
 */
public class RemoteSinkDriver(
    public val sink: AudioSink,
    startTick: Long,
    origin: Instant,
    pcmFormat: PcmFormat?,
    listenTick: Long = startTick,
) {
    private val timeline = ReceiveTimeline().also { it.start(0L, origin) }
    private val recording = Recording(startTick, timeline, endsWhenEmpty = false)
    private val done = Job()
    private val converter = (sink.wants as? AudioFormat.Pcm)?.format
        ?.takeIf { pcmFormat != null && it != pcmFormat }?.let { TickConverter(pcmFormat!!, it) }
    private var started = false
    private var finished = false

    /** The sink's place on the timeline, as given to [AudioSink.onStart]. */
    public val listening: Listening = Listening(sink, recording, maxOf(listenTick, startTick), AtomicLong()).also {
        it.job = done
        recording.members += it
    }

    /** The last tick given to the sink, or -1. */
    public val lastTick: Long get() = timeline.lastTick

    /** Calls [AudioSink.onStart] (once; [tick] and [event] do it when not yet done). */
    public suspend fun start() {
        if (started) return
        started = true
        sink.onStart(listening)
    }

    /** Gives the sink one tick (ticks must come in increasing order; older ones are ignored). */
    public suspend fun tick(tick: VoiceTick) {
        check(!finished) { "the sink has finished" }
        start()
        if (tick.tick <= timeline.lastTick) return
        timeline.onTick(tick)
        listening.lastTick.set(tick.tick)
        sink.onTick(converter?.convert(tick) ?: tick)
    }

    /** Gives the sink one event, in order with the ticks. */
    public suspend fun event(event: VoiceEvent) {
        check(!finished) { "the sink has finished" }
        start()
        sink.onEvent(event)
    }

    /**
     * Ends the sink with its files ending at [endTick] (the remote recording's end tick, or the last tick given): runs
     * [AudioSink.cleanup] once. Later calls do nothing.
     */
    public suspend fun finish(endTick: Long = timeline.lastTick) {
        if (finished) return
        finished = true
        start()
        listening.requestEnd(endTick, byUser = true)
        recording.ended(endTick)
        try {
            sink.cleanup()
        } finally {
            done.complete()
        }
    }
}
