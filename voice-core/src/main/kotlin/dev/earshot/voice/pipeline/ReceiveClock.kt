package dev.earshot.voice.pipeline

import dev.earshot.voice.base.Counter
import dev.earshot.voice.base.Counters
import dev.earshot.voice.base.NanoClock
import dev.earshot.voice.base.VoiceConstants.FRAME_MS
import dev.earshot.voice.model.VoiceEvent
import dev.earshot.voice.model.VoiceOutput
import dev.earshot.voice.model.VoiceTick
import dev.earshot.voice.model.snapshot
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.delay
import kotlinx.coroutines.withTimeoutOrNull
import kotlinx.coroutines.yield

/**
 * The receive clock: one [VoiceTick] every 20 ms, deadline-based so it does not drift. When it falls behind (a GC
 * pause, an overloaded machine, a slow start-up) it catches up without sleeping, so the tick count always matches
 * elapsed time, and counts each late tick. A late tick is still the tick of its scheduled time: playout decides by
 * tick number, and packets are placed by their arrival stamps against the schedule ([Playout.epoch]), so a late
 * clock changes when ticks are delivered, never where audio lands in them. A [VoiceEvent.Stats] follows every 50th
 * tick. After [ingestDone] reports true and every speaker has played out, it stops. Tick `n` is due at
 * [start] + (n + 1) * 20 ms: [start] is the timeline's origin, the playout's epoch.
 *
 * At each deadline the clock only plans the tick ([Playout.planTick]) and returns to its dispatcher, which it shares
 * with the receive loop; the tick is decoded off this thread and sent out, in order, as soon as it is back (the clock
 * wakes for it). A tick is counted late when the clock plans it a tick or more behind its deadline (as before), or
 * when it goes out two ticks or more after its deadline (decoding lagged). At most [TICKS_IN_FLIGHT] ticks are
 * planned and not yet sent; a deadline that finds that many waits for decoding rather than queueing more (the oldest
 * of them is then over two ticks late, and counted). Without a decode executor (virtual time) the tick is decoded
 * inside [Playout.planTick] and sent at once, so only the first rule applies, as before.
 */
internal suspend fun runClockLoop(
    playout: Playout,
    clock: NanoClock,
    counters: Counters,
    ingestDone: () -> Boolean,
    emit: (VoiceOutput) -> Unit,
    start: Long = playout.epoch(),
) {
    // Wakes the clock when a tick decoded off this thread is ready to go out (conflated: one wake-up covers all).
    val decoded = Channel<Unit>(Channel.CONFLATED)
    playout.onDecoded = { decoded.trySend(Unit) }
    var planningDone = false
    var lateAtPlanning = false
    while (true) {
        emitDecoded(playout, clock, start, counters, emit)
        if (planningDone) {
            if (playout.ticksInFlight == 0) {
                playout.finishSpeaking(emit)
                return
            }
            decoded.receive()
            continue
        }
        val deadline = start + (playout.nextTick + 1) * TICK_NANOS
        val wait = deadline - clock.nanoTime()
        if (wait > 0) {
            val millis = (wait + 999_999) / 1_000_000
            if (playout.ticksInFlight == 0) {
                delay(millis)
            } else {
                // A tick is being decoded: wake for it (to send it out at once) or for the deadline, then look again.
                withTimeoutOrNull(millis) { decoded.receive() }
                continue
            }
        } else {
            if (!playout.canPlan) {
                // Decoding is as many ticks behind as may be in flight: do not queue more. The oldest of them is by
                // now over two ticks late and is counted so when it goes out.
                decoded.receive()
                continue
            }
            if (-wait >= TICK_NANOS) {
                counters.inc(Counter.LATE_TICKS)
                lateAtPlanning = true
            }
            // Catching up: let the stages sharing this dispatcher move the packets that arrived during the stall into
            // the jitter buffers first, or the catch-up ticks would conceal audio that is already here, and the
            // packets, inserted while the clock is still behind, would teach the jitter estimate the stall. One
            // yield is not enough: the reader runs, then the receive loop it hands the batch to.
            repeat(CATCH_UP_YIELDS) { yield() }
        }
        val finishing = ingestDone()
        playout.planTick().countedLate = lateAtPlanning
        lateAtPlanning = false
        emitDecoded(playout, clock, start, counters, emit)
        if (finishing && playout.drained()) planningDone = true
    }
}

/**
 * Sends out every decoded tick that is next in order: its speaking events, the tick, and every 50th a stats event. A
 * tick not counted late when planned is counted late here if it goes out two ticks or more after its deadline: its
 * decoding lagged by more than the tick of slack a tick decoded on the clock's thread had before the next deadline.
 */
private fun emitDecoded(playout: Playout, clock: NanoClock, start: Long, counters: Counters, emit: (VoiceOutput) -> Unit) {
    while (true) {
        val t = playout.takeDecoded() ?: return
        t.failure?.let { throw it }
        if (!t.countedLate && clock.nanoTime() - (start + (t.tick + 1) * TICK_NANOS) >= 2 * TICK_NANOS) {
            counters.inc(Counter.LATE_TICKS)
        }
        for (e in t.events) emit(e)
        emit(t.voiceTick!!)
        if (t.tick % STATS_EVERY_TICKS == STATS_EVERY_TICKS - 1) emit(VoiceEvent.Stats(counters.snapshot()))
    }
}

internal const val TICK_NANOS: Long = FRAME_MS * 1_000_000L

/** Rounds the clock gives the other stages on its dispatcher before each catch-up tick (reader, receive loop, spare). */
private const val CATCH_UP_YIELDS = 3

/** Stats are published once a second. */
private const val STATS_EVERY_TICKS = 50L
