package dev.earshot.voice.pipeline

import dev.earshot.voice.internal.LongMap

/**
 * Pure core: a small bounded waiting room for packets whose SSRC has no user yet (op 5 not seen) or whose sender's
 * end-to-end key is not ready. At most [maxSsrcs] SSRCs with [perSsrc] packets each, so a flood of SSRCs costs a
 * bounded amount of memory; overflow evicts the oldest packet of that SSRC, and a new SSRC beyond the limit is
 * refused. Not thread-safe (owned by the resolve stage).
 */
internal class HoldQueue(
    private val maxSsrcs: Int,
    private val perSsrc: Int,
    private val holdNanos: Long,
) {
    private class Held(val since: Long) {
        val packets = ArrayDeque<ReceivedPacket>()
    }

    private val held = LongMap<Held>()

    val ssrcCount: Int get() = held.size

    fun isHolding(ssrc: Long): Boolean = held[ssrc] != null

    /**
     * Holds [p]. Returns the packet pushed out to make room (the caller drops it), [p] itself if a new SSRC cannot be
     * admitted, or null when nothing was displaced.
     */
    fun hold(p: ReceivedPacket, now: Long): ReceivedPacket? {
        var h = held[p.ssrc]
        if (h == null) {
            if (held.size >= maxSsrcs) return p
            h = Held(now)
            held[p.ssrc] = h
        }
        h.packets.addLast(p)
        return if (h.packets.size > perSsrc) h.packets.removeFirst() else null
    }

    /** Removes and returns the held packets of [ssrc], oldest first (empty if none). */
    fun take(ssrc: Long): List<ReceivedPacket> = held.remove(ssrc)?.packets ?: emptyList()

    /** SSRCs whose oldest held packet has waited longer than the hold time. */
    fun expired(now: Long): LongArray {
        var n = 0
        held.forEach { _, h -> if (now - h.since > holdNanos) n++ }
        if (n == 0) return EMPTY
        val out = LongArray(n)
        var i = 0
        held.forEach { ssrc, h -> if (now - h.since > holdNanos) out[i++] = ssrc }
        return out
    }

    /** Every held SSRC. */
    fun ssrcs(): LongArray {
        val out = LongArray(held.size)
        var i = 0
        held.forEach { ssrc, _ -> out[i++] = ssrc }
        return out
    }

    private companion object {
        val EMPTY = LongArray(0)
    }
}
