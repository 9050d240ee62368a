package dev.earshot.voice.pipeline

import dev.earshot.voice.Counter
import dev.earshot.voice.Counters
import dev.earshot.voice.NanoClock
import kotlinx.coroutines.channels.SendChannel

/**
 * The socket reader: the only coroutine that touches the [DatagramSource]. It never waits for the pipeline: its
 * output channel drops the oldest datagram on overflow (counted by the channel's undelivered-element hook), so a
 * slow consumer costs packets, never socket stalls. Ends when the source closes (-1); I/O errors propagate and close
 * the receiver with that cause.
 */
internal suspend fun runReadStage(
    source: DatagramSource,
    pool: PacketPool,
    output: SendChannel<ReceivedPacket>,
    counters: Counters,
    clock: NanoClock,
) {
    try {
        while (true) {
            val packet = pool.acquire()
            val n = try {
                source.receive(packet.data)
            } catch (e: Throwable) {
                pool.release(packet)
                throw e
            }
            if (n < 0) {
                pool.release(packet)
                return
            }
            counters.inc(Counter.DATAGRAMS)
            if (n > packet.data.size) {
                counters.inc(Counter.MALFORMED)
                pool.release(packet)
                continue
            }
            packet.length = n
            packet.arrivalNanos = clock.nanoTime()
            if (output.trySend(packet).isFailure) pool.release(packet)
        }
    } finally {
        output.close()
    }
}
