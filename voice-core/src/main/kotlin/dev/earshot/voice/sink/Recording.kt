package dev.earshot.voice.sink

import dev.earshot.voice.model.ReceiveTimeline
import java.time.Instant
import java.util.concurrent.CopyOnWriteArrayList

/**
 * A recording: sinks that share one start tick (t0) and one end tick on the receiver's [timeline], so that every file
 * they write starts at t0 and ends at the same final tick, aligned to the sample, however many `listen` calls made
 * them and whenever those calls were made. A sink joining a running recording writes silence from t0 up to the tick it
 * was listened at (it did not hear what came before).
 *
 * `VoiceReceiver.listen(sink)` puts a sink in the receiver's current default recording, which starts at the tick of
 * the first `listen` that finds none running and ends when [stop] or `stopListening` is called, the receiver stops,
 * or its last sink ends; the next `listen` then starts a new one at its own tick. `VoiceReceiver.newRecording()`
 * makes one explicitly (it starts at the tick of that call and lasts until [stop] or the receiver's end).
 *
 * @property startTick t0: the first tick of every file of this recording.
 * @property timeline the receiver's timeline, to turn ticks into [Instant]s.
 */
public class Recording internal constructor(
    public val startTick: Long,
    public val timeline: ReceiveTimeline,
    internal val endsWhenEmpty: Boolean,
) {
    internal val members = CopyOnWriteArrayList<Listening>()

    @Volatile
    private var endTickValue = NOT_ENDED

    /** The last tick of every file of this recording, once [stop] was called or the receiver stopped; else null. */
    public val endTick: Long? get() = endTickValue.takeIf { it != NOT_ENDED }

    /** Whether sinks may still join (it has not been stopped or ended). */
    public val isActive: Boolean get() = endTickValue == NOT_ENDED

    /** The sinks that joined this recording (those still listening and those that ended). */
    public val listenings: List<Listening> get() = members.toList()

    /** Wall-clock time of t0 (needs the receive clock to have started, see [ReceiveTimeline.origin]). */
    public val startInstant: Instant get() = timeline.instantOf(startTick)

    /**
     * Ends the recording at the last tick the receiver has emitted: every sink of it receives the ticks up to that one,
     * then finishes its files there (all ending together) and stops; waits for all of them.
     */
    public suspend fun stop() {
        endAtLastTick()
        awaitFinished()
    }

    /** Waits until every sink of this recording has finished (cleanup done, files closed). */
    public suspend fun awaitFinished() {
        for (l in members) l.awaitFinished()
    }

    /**
     * Fixes the end tick (once) at the last tick emitted and gives it to every member before another tick is emitted,
     * so every member's files end with the same tick; then stops the members already waiting past it.
     */
    internal fun endAtLastTick() {
        val ending = timeline.atLastTick { last -> fixEnd(last) }
        for (l in ending) l.cancelIfPastEnd()
    }

    /**
     * Fixes the end tick (once) at [last] and gives it to every member; returns the members. Call it inside
     * [ReceiveTimeline.atLastTick] with the tick given there, then [Listening.cancelIfPastEnd] each member.
     */
    internal fun fixEnd(last: Long): List<Listening> = synchronized(this) {
        if (endTickValue == NOT_ENDED) endTickValue = last
        for (l in members) l.fixEnd(endTickValue, byUser = true)
        members.toList()
    }

    /** Adds [listening] unless the recording has ended; false when it has (under the lock [endAtLastTick] takes). */
    internal fun join(listening: Listening): Boolean = synchronized(this) {
        if (endTickValue != NOT_ENDED) return false
        members += listening
        true
    }

    /** Marks the recording ended without asking sinks to stop (the receiver's stream ended at [tick]). */
    internal fun ended(tick: Long) {
        synchronized(this) {
            if (endTickValue == NOT_ENDED) endTickValue = tick
        }
    }

    override fun toString(): String = "Recording(startTick=$startTick, endTick=$endTick, sinks=${members.size})"

    internal companion object {
        const val NOT_ENDED = Long.MIN_VALUE
    }
}
