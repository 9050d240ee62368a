package dev.earshot.voice.offline

import dev.earshot.voice.base.NanoClock
import dev.earshot.voice.datagram.DatagramSource
import kotlinx.coroutines.delay
import java.time.Duration
import java.time.Instant

/**
 * A [DatagramSource] handing out recorded datagrams at their arrival times on a virtual [clock] whose 0 is [start]:
 * [poll] gives the next datagram once its time has come, [awaitReadable] sleeps (in virtual time) until then.
 * Datagrams stamped before [start], or before the one before them, are handed out without waiting. After the last
 * one the source ends at [end] (when it says, else at once), as the captured source did.
 */
internal class ReplaySource(
    private val datagrams: Iterator<TimedDatagram>,
    private val start: Instant,
    private val clock: NanoClock,
    private val end: () -> Instant?,
) : DatagramSource {
    private var next: TimedDatagram? = null
    private var nextNanos = 0L
    private var ended = false

    /** Datagrams handed out so far. */
    var replayed: Long = 0
        private set

    private fun peek(): TimedDatagram? {
        if (next == null && !ended) {
            if (datagrams.hasNext()) {
                val d = datagrams.next()
                next = d
                nextNanos = maxOf(nextNanos, Duration.between(start, d.at).toNanos())
            } else {
                ended = true
            }
        }
        return next
    }

    /** Nanoseconds until the source may end (after the last datagram), or 0. */
    private fun untilEnd(): Long {
        val e = end() ?: return 0
        return Duration.between(start, e).toNanos() - clock.nanoTime()
    }

    override fun poll(buffer: ByteArray): Int {
        val d = peek() ?: return if (untilEnd() > 0) DatagramSource.EMPTY else DatagramSource.CLOSED
        if (nextNanos > clock.nanoTime()) return DatagramSource.EMPTY
        next = null
        replayed++
        d.bytes.copyInto(buffer, 0, 0, minOf(d.bytes.size, buffer.size))
        return d.bytes.size
    }

    override suspend fun awaitReadable() {
        val wait = if (peek() == null) untilEnd() else nextNanos - clock.nanoTime()
        if (wait > 0) delay((wait + 999_999) / 1_000_000)
    }
}
