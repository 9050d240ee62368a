package dev.earshot.samples

import dev.earshot.voice.model.VoiceEvent
import kotlinx.coroutines.CoroutineName
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.Job
import kotlinx.coroutines.cancelAndJoin
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.isActive
import kotlinx.coroutines.launch
import kotlin.time.Duration
import kotlin.time.Duration.Companion.milliseconds
import kotlin.time.TimeSource

/**
 * Who is speaking right now, from a receiver's `SpeakingStarted`/`SpeakingStopped` events, and the one-line view of
 * it. Users are listed in the order given to the constructor, then as they first speak. Thread-safe.
 */
class SpeakingBoard(initialUsers: List<Long>, private val nameOf: (Long) -> String?) {
    private val users = LinkedHashSet(initialUsers)
    private val speaking = HashSet<Long>()

    /** Applies a speaking event; other events and events without a user are ignored. */
    @Synchronized
    fun apply(event: VoiceEvent) {
        when (event) {
            is VoiceEvent.SpeakingStarted -> event.userId?.let { users += it; speaking += it }
            is VoiceEvent.SpeakingStopped -> event.userId?.let { speaking -= it }
            else -> {}
        }
    }

    /** Who is speaking now. */
    @Synchronized
    fun speakingNow(): Set<Long> = speaking.toSet()

    /** Each user and whether they speak: `alice [talking]  bob [       ]`. */
    @Synchronized
    fun render(): String = if (users.isEmpty()) "(nobody in the channel yet)" else users.joinToString("  ") { id ->
        "${nameOf(id) ?: id} [${if (id in speaking) "talking" else "       "}]"
    }

    companion object {
        /** The status line: elapsed seconds, then [board]'s view. */
        fun line(elapsed: Duration, board: String): String =
            "[%5.1f s] %s".format(java.util.Locale.ROOT, elapsed.inWholeMilliseconds / 1000.0, board)
    }
}

/**
 * The live speaking indicator: keeps a [SpeakingBoard] from [events] and shows its line every [period] (200 ms by
 * default), redrawn in place on a terminal, printed only when it changes elsewhere (so logs stay readable).
 */
class SpeakingIndicator(
    private val board: SpeakingBoard,
    private val console: DemoConsole,
    private val period: Duration = 200.milliseconds,
) {
    private var jobs: List<Job> = emptyList()

    /** Starts collecting [events] (subscribed before this returns) and showing the line, in [scope]. */
    fun start(scope: CoroutineScope, events: Flow<VoiceEvent>) {
        val started = TimeSource.Monotonic.markNow()
        val collector = scope.launch(CoroutineName("earshot-demo-speaking"), start = CoroutineStart.UNDISPATCHED) {
            events.collect(board::apply)
        }
        val painter = scope.launch(CoroutineName("earshot-demo-status")) {
            var last: String? = null
            while (isActive) {
                val view = board.render()
                if (console.interactive || view != last) console.status(SpeakingBoard.line(started.elapsedNow(), view))
                last = view
                delay(period)
            }
        }
        jobs = listOf(collector, painter)
    }

    /** Stops showing the line and waits until nothing more is printed. */
    suspend fun stop() {
        jobs.forEach { it.cancelAndJoin() }
        console.endStatus()
    }
}
