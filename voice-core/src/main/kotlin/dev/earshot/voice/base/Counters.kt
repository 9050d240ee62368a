package dev.earshot.voice.base

import java.util.concurrent.atomic.AtomicLongArray

/** Counter slots, in the same order as `ReceiveStats`'s properties. */
internal enum class Counter {
    DATAGRAMS, RTP_AUDIO, RTCP, DISCOVERY, KEEPALIVE, OTHER_PAYLOAD, MALFORMED, NO_KEY, AUTH_FAILURES, MALFORMED_AUDIO,
    DECRYPTED, RTCP_AUTH_FAILURES, RTCP_MALFORMED, HELD_UNKNOWN_SSRC, DROPPED_UNKNOWN_SSRC, E2EE_FAILURES, SSRC_LIMIT_DROPS, LATE,
    DUPLICATES, LOST, CONCEALED, FEC_RECOVERED, DECODED, DECODE_ERRORS, SILENCE_FRAMES, RESYNCS, STRETCHES, TICKS,
    LATE_TICKS, DROPPED_DATAGRAMS, DROPPED_TICKS, DROPPED_AT_LEAVE,
}

/**
 * Live counters shared by the stages, which run on different threads. Each counter has a cache line of its own, so
 * the read stage counting datagrams and the receive loop counting packets do not pass one line back and forth.
 * [inc] and [add] are atomic; [incOwned] is for the counters that a single stage's coroutine alone writes.
 */
internal class Counters {
    private val values = AtomicLongArray(Counter.entries.size * STRIDE)

    fun inc(counter: Counter) {
        values.incrementAndGet(counter.ordinal * STRIDE)
    }

    /**
     * Increments a counter that only one coroutine ever writes (its stage's): a plain read and an ordered store, without
     * the locked instruction of [inc]. A second writer would lose counts, so each counter written so has one call site.
     */
    fun incOwned(counter: Counter) {
        val i = counter.ordinal * STRIDE
        values.lazySet(i, values.get(i) + 1)
    }

    fun add(counter: Counter, delta: Long) {
        if (delta != 0L) values.addAndGet(counter.ordinal * STRIDE, delta)
    }

    operator fun get(counter: Counter): Long = values.get(counter.ordinal * STRIDE)

    /** A copy of every counter, indexed by [Counter.ordinal]. */
    fun values(): LongArray = LongArray(Counter.entries.size) { values.get(it * STRIDE) }

    private companion object {
        // Longs per counter: one 64-byte cache line each.
        const val STRIDE = 8
    }
}
