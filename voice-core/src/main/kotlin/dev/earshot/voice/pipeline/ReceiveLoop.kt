package dev.earshot.voice.pipeline

import dev.earshot.voice.base.Counter
import dev.earshot.voice.base.Counters
import dev.earshot.voice.model.RtcpPacket
import dev.earshot.voice.rtp.RtcpParseResult
import dev.earshot.voice.rtp.RtcpParser
import kotlinx.coroutines.yield

/**
 * The decrypt stage loop: datagrams in; each decrypted audio packet goes straight on to [deliver] (the resolver, then
 * the speaker's jitter buffer) on this same coroutine, without another queue hop, since every later stage shares this
 * single-threaded dispatcher anyway; RTCP reports go to [onRtcp]. Returns when [input] is closed and drained.
 */
internal suspend fun runReceiveLoop(
    input: DatagramQueue,
    deliver: (ReceivedPacket) -> Unit,
    opener: PacketOpener,
    pool: PacketPool,
    onRtcp: (List<RtcpPacket>) -> Unit,
    counters: Counters,
) {
    val batch = arrayOfNulls<ReceivedPacket>(BATCH)
    var sinceYield = 0
    while (true) {
        val n = input.drainTo(batch)
        if (n == DatagramQueue.CLOSED) return
        if (n == 0) {
            sinceYield = 0
            input.awaitItems()
            continue
        }
        for (i in 0 until n) {
            val p = batch[i]!!
            batch[i] = null
            when (val opened = opener.open(p)) {
                PacketOpener.AUDIO -> deliver(p)
                PacketOpener.DROPPED -> pool.release(p)
                else -> {
                    // RTCP: opened is the length of the decrypted compound packet.
                    when (val r = RtcpParser.parse(p.data, 0, opened)) {
                        is RtcpParseResult.Ok -> onRtcp(r.packets)
                        is RtcpParseResult.Malformed -> counters.inc(Counter.RTCP_MALFORMED)
                    }
                    pool.release(p)
                }
            }
        }
        // A flood never empties the queue, so the loop would never suspend: let the clock tick in between.
        sinceYield += n
        if (sinceYield >= YIELD_EVERY) {
            sinceYield = 0
            yield()
        }
    }
}

/** The receive loop takes at most this many datagrams per lock of the queue, and yields to the clock after as many. */
private const val BATCH = 64
private const val YIELD_EVERY = 64
