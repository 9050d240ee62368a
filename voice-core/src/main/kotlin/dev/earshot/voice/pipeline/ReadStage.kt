package dev.earshot.voice.pipeline

import dev.earshot.voice.base.Counter
import dev.earshot.voice.base.Counters
import dev.earshot.voice.base.NanoClock
import dev.earshot.voice.datagram.DatagramSource

/**
 * The socket reader: the only coroutine that touches the [DatagramSource]. It never waits for the pipeline: its
 * output channel drops the oldest datagram on overflow (counted by the channel's undelivered-element hook), so a
 * slow consumer costs packets, never socket stalls. It drains what is waiting without suspending and suspends only
 * when the source is idle. Ends when the source closes; I/O errors propagate and close the receiver with that cause.
 *
 * The consumer is woken once per burst (when the source has nothing more, or every [WAKE_EVERY] datagrams), not per
 * datagram: a wake-up resumes the receive loop on another thread, and waking it for the first datagram of a burst
 * only had it take one or two, suspend, and be woken again for the next.
 */
internal suspend fun runReadStage(
    source: DatagramSource,
    pool: PacketPool,
    output: DatagramQueue,
    counters: Counters,
    clock: NanoClock,
) {
    var unsignalled = 0
    try {
        while (true) {
            val packet = pool.acquire()
            var n: Int
            try {
                n = source.poll(packet.data)
                while (n == DatagramSource.EMPTY) {
                    if (unsignalled > 0) {
                        output.signal()
                        unsignalled = 0
                    }
                    source.awaitReadable()
                    n = source.poll(packet.data)
                }
            } catch (e: Throwable) {
                pool.release(packet)
                throw e
            }
            if (n < 0) {
                pool.release(packet)
                return
            }
            counters.incOwned(Counter.DATAGRAMS)
            if (n > packet.data.size) {
                counters.inc(Counter.MALFORMED)
                pool.release(packet)
                continue
            }
            packet.length = n
            packet.arrivalNanos = clock.nanoTime()
            output.offer(packet, wake = false)
            if (++unsignalled == WAKE_EVERY) {
                output.signal()
                unsignalled = 0
            }
        }
    } finally {
        output.close()
    }
}

/** Datagrams queued at most before the receive loop is woken, when a burst goes on (a busy socket never runs dry). */
private const val WAKE_EVERY = 32
