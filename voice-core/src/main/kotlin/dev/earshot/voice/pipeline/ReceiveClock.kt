package dev.earshot.voice.pipeline

import dev.earshot.voice.base.Counter
import dev.earshot.voice.base.Counters
import dev.earshot.voice.base.NanoClock
import dev.earshot.voice.base.VoiceConstants.FRAME_MS
import dev.earshot.voice.model.VoiceEvent
import dev.earshot.voice.model.VoiceOutput
import dev.earshot.voice.model.VoiceTick
import dev.earshot.voice.model.snapshot
import kotlinx.coroutines.delay
import kotlinx.coroutines.yield

/**
 * The receive clock: one [VoiceTick] every 20 ms, deadline-based so it does not drift. When it falls behind (a GC
 * pause, an overloaded machine, a slow start-up) it catches up without sleeping, so the tick count always matches
 * elapsed time, and counts each late tick. A late tick is still the tick of its scheduled time: playout decides by
 * tick number, and packets are placed by their arrival stamps against the schedule ([Playout.epoch]), so a late
 * clock changes when ticks are delivered, never where audio lands in them. A [VoiceEvent.Stats] follows every 50th
 * tick. After [ingestDone] reports true and every speaker has played out, it stops. Tick `n` is due at
 * [start] + (n + 1) * 20 ms: [start] is the timeline's origin, the playout's epoch.
 */
internal suspend fun runClockLoop(
    playout: Playout,
    clock: NanoClock,
    counters: Counters,
    ingestDone: () -> Boolean,
    emit: (VoiceOutput) -> Unit,
    start: Long = playout.epoch(),
) {
    while (true) {
        val deadline = start + (playout.nextTick + 1) * TICK_NANOS
        val wait = deadline - clock.nanoTime()
        if (wait > 0) {
            delay((wait + 999_999) / 1_000_000)
        } else {
            if (-wait >= TICK_NANOS) counters.inc(Counter.LATE_TICKS)
            // Catching up: let the stages sharing this dispatcher move the packets that arrived during the stall into
            // the jitter buffers first, or the catch-up ticks would conceal audio that is already here, and the
            // packets, inserted while the clock is still behind, would teach the jitter estimate the stall. One
            // yield is not enough: the reader runs, then the receive loop it hands the batch to.
            repeat(CATCH_UP_YIELDS) { yield() }
        }
        val finishing = ingestDone()
        val tick = playout.tick()
        playout.detectSpeaking(tick, emit)
        emit(tick)
        if (tick.tick % STATS_EVERY_TICKS == STATS_EVERY_TICKS - 1) emit(VoiceEvent.Stats(counters.snapshot()))
        if (finishing && playout.drained()) {
            playout.finishSpeaking(emit)
            return
        }
    }
}

internal const val TICK_NANOS: Long = FRAME_MS * 1_000_000L

/** Rounds the clock gives the other stages on its dispatcher before each catch-up tick (reader, receive loop, spare). */
private const val CATCH_UP_YIELDS = 3

/** Stats are published once a second. */
private const val STATS_EVERY_TICKS = 50L
