package dev.earshot.samples

import dev.earshot.voice.base.VoiceConstants
import dev.earshot.voice.model.FrameKind

/** What a user's slot in one tick held, as the timeline shows it. */
enum class Mark {
    /** No frame: the user was silent. */
    NONE,

    /** Decoded from a received packet. */
    DECODED,

    /** Rebuilt from the in-band FEC of the next packet. */
    FEC_RECOVERED,

    /** Filled by packet-loss concealment (or missing). */
    CONCEALED,
    ;

    companion object {
        /** The mark of a frame of [kind]. */
        fun of(kind: FrameKind): Mark = when (kind) {
            FrameKind.DECODED -> DECODED
            FrameKind.FEC_RECOVERED -> FEC_RECOVERED
            FrameKind.CONCEALED, FrameKind.MISSING, FrameKind.SILENCE -> CONCEALED
        }
    }
}

/**
 * Who had a frame in which tick of a recording: one [Mark] per user and tick, from the recording's first tick
 * ([startTick]) for [ticks] ticks of 20 ms. Immutable.
 *
 * @property users the users who had at least one frame, in display order.
 */
class Timeline(
    val startTick: Long,
    val ticks: Int,
    val users: List<Long>,
    private val marks: Map<Long, ByteArray>,
) {
    /** The recording's length in milliseconds. */
    val durationMillis: Long get() = ticks.toLong() * VoiceConstants.FRAME_MS

    /** The mark of [userId] in the tick [index] ticks after [startTick]. */
    fun mark(userId: Long, index: Int): Mark {
        val m = marks[userId] ?: return Mark.NONE
        return if (index in m.indices) Mark.entries[m[index].toInt()] else Mark.NONE
    }

    /** How many ticks of [userId] carry [mark]. */
    fun count(userId: Long, mark: Mark): Int = (0 until ticks).count { mark(userId, it) == mark }

    override fun toString(): String = "Timeline(startTick=$startTick, ticks=$ticks, users=$users)"
}
