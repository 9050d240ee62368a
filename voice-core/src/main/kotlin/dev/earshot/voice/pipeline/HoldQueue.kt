package dev.earshot.voice.pipeline

import dev.earshot.voice.internal.LongMap

/**
 * Pure core: a small bounded waiting room for packets whose SSRC has no user yet (op 5 not seen) or that no
 * end-to-end key opens yet. At most [maxSsrcs] SSRCs with [perSsrc] packets each, so a flood of SSRCs costs a
 * bounded amount of memory; overflow evicts the oldest packet of that SSRC, and a new SSRC beyond the limit is
 * refused. Each packet keeps the time it was first held, so retrying it does not restart its hold: after [holdNanos]
 * it is [expired]. Not thread-safe (owned by the resolve stage).
 */
internal class HoldQueue(
    private val maxSsrcs: Int,
    private val perSsrc: Int,
    private val holdNanos: Long,
) {
    /** A held packet and when it was first held. */
    class Entry(val packet: ReceivedPacket, val since: Long)

    private val held = LongMap<ArrayDeque<Entry>>()

    val ssrcCount: Int get() = held.size

    fun isHolding(ssrc: Long): Boolean = held.size != 0 && held[ssrc] != null

    /**
     * Holds [p], first held at [since]. Returns the packet pushed out to make room (the caller drops it), [p] itself if
     * a new SSRC cannot be admitted, or null when nothing was displaced.
     */
    fun hold(p: ReceivedPacket, since: Long): ReceivedPacket? {
        var q = held[p.ssrc]
        if (q == null) {
            if (held.size >= maxSsrcs) return p
            q = ArrayDeque()
            held[p.ssrc] = q
        }
        q.addLast(Entry(p, since))
        return if (q.size > perSsrc) q.removeFirst().packet else null
    }

    /** Removes and returns the held packets of [ssrc], oldest first (empty if none). */
    fun take(ssrc: Long): List<Entry> = held.remove(ssrc) ?: emptyList()

    /** Whether [e] has waited longer than the hold time at [now]. */
    fun isExpired(e: Entry, now: Long): Boolean = now - e.since > holdNanos

    /** SSRCs whose oldest held packet has waited longer than the hold time. */
    fun expired(now: Long): LongArray {
        // Asked for every packet: nothing held is the common case, and a scan would walk the whole table.
        if (held.size == 0) return EMPTY
        var n = 0
        held.forEach { _, q -> if (isExpired(q.first(), now)) n++ }
        if (n == 0) return EMPTY
        val out = LongArray(n)
        var i = 0
        held.forEach { ssrc, q -> if (isExpired(q.first(), now)) out[i++] = ssrc }
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
