package dev.earshot.voice.pipeline

import java.util.concurrent.Executor

/**
 * The decode stage: decodes the ticks [Playout] planned, off the pipeline's thread, and hands them back in order.
 * The pipeline's thread only plans a tick (cheap: jitter-buffer decisions and copies of the Opus bytes) and
 * [submit]s it; one drive task at a time, run on [executor], decodes the submitted ticks oldest first, each shared out
 * over [round]'s threads, so a speaker's decoder is only ever used by one job at a time and in tick order. [poll]
 * returns the oldest tick once it is decoded, so ticks leave in the order they were planned; [onDecoded] is called
 * (on the decoding thread) after each tick, to wake the receive clock that emits them.
 *
 * Bounded: at most [capacity] ticks are in flight (submitted and not yet polled); the clock checks [inFlight] and
 * does not plan more (the oldest tick is then over two ticks late, and counted so when it goes out). With a null
 * [executor] ticks are decoded inside [submit] on the calling thread, as virtual-time tests and offline replays need
 * to stay deterministic.
 *
 * A tick with nothing to decode (no speaker has audio in it) is assembled in [submit] when every earlier tick is
 * decoded, as on a connection where nobody speaks.
 *
 * A speaker that goes while its work is still pending has its decoder closed only after that work ([closeAfter]).
 */
internal class TickDecoder(
    private val executor: Executor?,
    private val round: ParallelRound,
    val capacity: Int = TICKS_IN_FLIGHT,
    private val onDecoded: () -> Unit = {},
) {
    init {
        // At most TICKS_IN_FLIGHT: each speaker reuses its works in a ring one longer than that.
        require(capacity in 1..TICKS_IN_FLIGHT) { "capacity must be 1 to $TICKS_IN_FLIGHT" }
    }

    private val lock = Any()
    // Guarded by lock: submitted and not yet decoded (oldest first), decoded and not yet polled, the newest submitted.
    private val waiting = ArrayDeque<PlannedTick>()
    private val decoded = ArrayDeque<PlannedTick>()
    private var newest: PlannedTick? = null
    private var driving = false
    private var stopped = false

    /** Ticks submitted and not yet polled; only the pipeline's thread changes it. */
    var inFlight: Int = 0
        private set

    /** Hands [t] over for decoding; the caller keeps [inFlight] below [capacity]. */
    fun submit(t: PlannedTick) {
        check(inFlight < capacity) { "more than $capacity ticks in flight" }
        inFlight++
        if (executor == null) {
            t.decode(round)
            t.decoded = true
            decoded.addLast(t)
            return
        }
        // Nothing to decode and every earlier tick decoded: assembled here. Handing it over would cost two thread
        // wake-ups for nothing, 50 times a second on every connection where nobody speaks.
        if (!t.hasWork && synchronized(lock) { newest?.decoded != false }) {
            t.decode(round)
            synchronized(lock) {
                t.decoded = true
                newest = t
                decoded.addLast(t)
            }
            return
        }
        val start = synchronized(lock) {
            waiting.addLast(t)
            newest = t
            // One drive task at a time: a running one takes this tick in turn.
            (!driving).also { driving = true }
        }
        if (start) executor.execute(::drive)
    }

    /** The oldest tick if it is decoded (its [PlannedTick.voiceTick] or [PlannedTick.failure] set), else null. */
    fun poll(): PlannedTick? {
        val t = synchronized(lock) { decoded.removeFirstOrNull() } ?: return null
        inFlight--
        return t
    }

    /**
     * Closes [d] once every tick submitted so far is decoded (at once when none is pending). Its speaker has gone
     * from playout, so it gets no new work.
     */
    fun closeAfter(d: SpeakerDecoder) {
        val now = synchronized(lock) {
            val last = newest
            // Ticks are decoded in order: once the newest is done, so is every tick that could hold work of d.
            if (last == null || last.decoded) {
                true
            } else {
                (last.closeAfter ?: ArrayList<SpeakerDecoder>(1).also { last.closeAfter = it }) += d
                false
            }
        }
        if (now) d.close()
    }

    /** Stops decoding what is still waiting (the pipeline has ended); decoders handed to [closeAfter] still close. */
    fun stop() {
        synchronized(lock) { stopped = true }
    }

    private fun drive() {
        while (true) {
            val t: PlannedTick
            val skip: Boolean
            synchronized(lock) {
                val next = waiting.removeFirstOrNull()
                if (next == null) {
                    driving = false
                    return
                }
                t = next
                skip = stopped
            }
            if (skip) {
                t.failure = IllegalStateException("the receive pipeline stopped before tick ${t.tick} was decoded")
            } else {
                t.decode(round)
            }
            val close = synchronized(lock) {
                t.decoded = true
                decoded.addLast(t)
                t.closeAfter.also { t.closeAfter = null }
            }
            close?.forEach { it.close() }
            onDecoded()
        }
    }
}

/**
 * Ticks that may be planned and not yet emitted: enough that one slow decode (a GC pause, a descheduled thread) does
 * not hold the clock back, few enough that a decoder that cannot keep up shows as late ticks within 60 ms, not as a
 * growing queue and latency.
 */
internal const val TICKS_IN_FLIGHT = 3
