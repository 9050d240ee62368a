package dev.earshot.voice.jitter

import dev.earshot.voice.base.VoiceConstants.SAMPLES_PER_FRAME

/**
 * Where a [JitterBuffer]'s talk spurts play: the anchor, an RTP timestamp paired with a tick, by which every spurt is
 * placed relative to earlier ones ([tickOf]), and the rule that keeps, shrinks or re-sets it when a new spurt is
 * placed ([place]; the buffer's description says why). The buffer decides when a spurt needs placing.
 */
internal class SpurtAnchor(private val delayTicks: Int, private val maxEarlyTicks: Int, private val placer: PlayoutPlacer?) {
    var hasAnchor = false
    var anchorTs = 0L
    var anchorTick = 0L
    // The spurt waiting in FILLING has not been placed yet (the anchor is chosen at the first next()).
    var placed = false
    var spurtArrivalTick = 0L

    /** Chooses the anchor of the spurt whose first packet (in sequence) is stamped [ts]; see [JitterBuffer]'s description. */
    fun place(ts: Long, nowTick: Long) {
        placed = true
        val p = placer
        val desired = maxOf(p?.desiredTick(ts) ?: (spurtArrivalTick + delayTicks), nowTick)
        if (hasAnchor) {
            val tick = tickOf(ts)
            if (p == null) {
                if (tick >= nowTick && tick <= desired + maxEarlyTicks) return
            } else if (tick >= desired && tick <= desired + maxEarlyTicks) {
                // Shrink gently: one tick per spurt boundary keeps every pause within a tick of its real length.
                if (tick > desired) anchorTick--
                return
            }
        }
        hasAnchor = true
        anchorTs = ts
        anchorTick = desired
    }

    /** The tick at which RTP timestamp [ts] plays under the current anchor. */
    fun tickOf(ts: Long): Long = anchorTick + Math.floorDiv(ts - anchorTs, SAMPLES_PER_FRAME.toLong())
}
