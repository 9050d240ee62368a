package dev.earshot.voice.udp

import dev.earshot.voice.datagram.DatagramSink
import kotlinx.coroutines.delay
import kotlin.time.Duration
import kotlin.time.Duration.Companion.seconds

/** Length of a keepalive datagram, in bytes. */
public const val KEEPALIVE_LENGTH: Int = 8

/**
 * Sends UDP keepalives to [sink] until cancelled, so the NAT mapping stays open while nothing else is sent: one at
 * once, then one every [interval]. Each is 8 bytes, a uint32 little-endian counter (0, 1, 2, ..., wrapping after
 * 2^32 - 1) in bytes 0-3 and zeros after, as discord.js sends them (docs/protocol.md section 3.2); Discord echoes them
 * back, and [dev.earshot.voice.rtp.PacketDemux] classifies the echo as a keepalive. A keepalive the sink drops is not
 * retried (the counter moves on). Uses [delay], so it runs in virtual time under `runTest`.
 *
 * @param interval time between keepalives; default 5 s (discord.js's `KEEP_ALIVE_INTERVAL`).
 * @throws IllegalArgumentException if [interval] is not positive.
 */
public suspend fun runKeepalive(sink: DatagramSink, interval: Duration = 5.seconds): Nothing =
    runKeepalive(sink, interval, 0L)

/** [runKeepalive] starting from counter [first] (tests use it to see the wrap). */
internal suspend fun runKeepalive(sink: DatagramSink, interval: Duration, first: Long): Nothing {
    require(interval.isPositive()) { "interval must be positive, was $interval" }
    val datagram = ByteArray(KEEPALIVE_LENGTH)
    var counter = first and 0xFFFF_FFFFL
    while (true) {
        datagram[0] = counter.toByte()
        datagram[1] = (counter ushr 8).toByte()
        datagram[2] = (counter ushr 16).toByte()
        datagram[3] = (counter ushr 24).toByte()
        sink.send(datagram, 0, KEEPALIVE_LENGTH)
        counter = (counter + 1) and 0xFFFF_FFFFL
        delay(interval)
    }
}
