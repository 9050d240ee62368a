package dev.earshot.voice.base

import java.util.concurrent.atomic.AtomicLongArray

/** Counter slots, in the same order as `ReceiveStats`'s properties. */
internal enum class Counter {
    DATAGRAMS, RTP_AUDIO, RTCP, DISCOVERY, KEEPALIVE, OTHER_PAYLOAD, MALFORMED, NO_KEY, AUTH_FAILURES, MALFORMED_AUDIO,
    DECRYPTED, RTCP_AUTH_FAILURES, RTCP_MALFORMED, HELD_UNKNOWN_SSRC, DROPPED_UNKNOWN_SSRC, E2EE_FAILURES, SSRC_LIMIT_DROPS, LATE,
    DUPLICATES, LOST, CONCEALED, FEC_RECOVERED, DECODED, DECODE_ERRORS, SILENCE_FRAMES, RESYNCS, STRETCHES, TICKS,
    LATE_TICKS, DROPPED_DATAGRAMS, DROPPED_TICKS, DROPPED_AT_LEAVE,
}

/** Live counters shared by the stages; increments are atomic because stages run on different threads. */
internal class Counters {
    private val values = AtomicLongArray(Counter.entries.size)

    fun inc(counter: Counter) {
        values.incrementAndGet(counter.ordinal)
    }

    fun add(counter: Counter, delta: Long) {
        if (delta != 0L) values.addAndGet(counter.ordinal, delta)
    }

    operator fun get(counter: Counter): Long = values.get(counter.ordinal)

    /** A copy of every counter, indexed by [Counter.ordinal]. */
    fun values(): LongArray = LongArray(values.length()) { values.get(it) }
}
