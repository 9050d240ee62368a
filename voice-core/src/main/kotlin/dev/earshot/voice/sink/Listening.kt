package dev.earshot.voice.sink

import kotlinx.coroutines.Job
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
        recording.timeline.atLastTick { fixEnd(it, byUser = true) }
        cancelIfPastEnd()
        job.join()
    }

    /** Waits until this sink has ended (its cleanup has run and its files are closed), however it ended. */
    public suspend fun awaitFinished() {
        job.join()
    }

    /** Ends this sink after [tick] (at the first call; later calls keep the first end). */
    internal fun requestEnd(tick: Long, byUser: Boolean) {
        fixEnd(tick, byUser)
        cancelIfPastEnd()
    }

    /** Fixes the end tick (at the first call; later calls keep the first end) without touching the sink's job. */
    internal fun fixEnd(tick: Long, byUser: Boolean) {
        if (byUser) stoppedByUser.set(true)
        synchronized(this) {
            if (endTickValue == Recording.NOT_ENDED) endTickValue = tick
        }
    }

    /** Stops the sink when it has already handled its end tick and is waiting for more: nothing is left to handle. */
    internal fun cancelIfPastEnd() {
        if (lastTick.get() >= endTickValue && this::job.isInitialized) job.cancel()
    }

    override fun toString(): String = "Listening(sink=$sink, listenTick=$listenTick, endTick=$endTick)"
}
