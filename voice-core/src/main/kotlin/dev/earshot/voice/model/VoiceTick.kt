package dev.earshot.voice.model

/**
 * Everything the receive clock produced for one 20 ms tick: a frame for every speaker in a talk spurt, and the set of
 * known speakers who are silent. Ticks are numbered from 0 at the receiver's start and none is skipped, so
 * `tick * 20 ms` is a sample-exact timeline for aligning tracks.
 *
 * @property tick tick index (20 ms each).
 * @property speaking one frame per speaking SSRC (at most one per SSRC), in no particular order.
 * @property silent SSRCs heard before that produced no audio in this tick (idle, between spurts, or silence frames).
 */
public class VoiceTick(
    public val tick: Long,
    public val speaking: List<AudioFrame>,
    public val silent: Set<Long>,
) : VoiceOutput {
    /** The frame of [ssrc] in this tick, if it is speaking. */
    public fun frameOfSsrc(ssrc: Long): AudioFrame? {
        for (i in speaking.indices) if (speaking[i].ssrc == ssrc) return speaking[i]
        return null
    }

    /** The frame of the user [userId] in this tick, if that user is speaking. */
    public fun frameOf(userId: Long): AudioFrame? {
        for (i in speaking.indices) if (speaking[i].userId == userId) return speaking[i]
        return null
    }

    override fun toString(): String = "VoiceTick(tick=$tick, speaking=${speaking.map { it.ssrc }}, silent=$silent)"
}
