package dev.earshot.voice.model

import kotlin.time.Duration
import kotlin.time.toJavaDuration

/**
 * The playout figures of one speaker (SSRC) of a [dev.earshot.voice.VoiceReceiver], from [dev.earshot.voice.VoiceReceiver.speakerStats]. Counters run
 * since the speaker's first packet (a speaker evicted or forgotten starts again from zero); they are this speaker's
 * share of the receiver-wide [ReceiveStats] counters of the same names. Java reads the durations as
 * `java.time.Duration`s with the methods of the same names (`stats.jitter()`).
 *
 * @property ssrc the RTP SSRC.
 * @property userId the Discord user, or null while the SSRC is not mapped to one.
 * @property playoutDelay the delay playout applies now: from when a packet of the fastest recent transit arrives to
 *   the end of the tick it plays in (so between the target and one 20 ms tick more).
 * @property targetDelay the delay the speaker is steering towards: with [PlayoutDelay.Adaptive], what its jitter
 *   estimate asks for (reached at the next talk-spurt boundary, or earlier where the buffer runs dry); with
 *   [PlayoutDelay.Fixed], the fixed delay.
 * @property jitter the jitter estimate the adaptive delay follows: the 99th percentile of the relative arrival delay
 *   (how much later than the fastest recent packet a packet arrives), with exponential forgetting over ~7 s.
 * @property interarrivalJitter RFC 3550's interarrival jitter (the smoothed difference between consecutive packets'
 *   transit times), as RTCP receiver reports carry it; for comparison only.
 * @property received packets that reached the jitter buffer (duplicates and late ones included).
 * @property lost packets never played because they were missing at their slot.
 * @property late packets that arrived after their slot (refused, or dropped when playout reached them).
 * @property concealed 20 ms frames filled by packet-loss concealment (stretches included).
 * @property fecRecovered frames rebuilt from in-band FEC.
 * @property duplicates packets received twice.
 * @property stretches ticks concealed mid-spurt to grow the adaptive delay.
 */
public class SpeakerStats internal constructor(
    public val ssrc: Long,
    public val userId: Long?,
    @get:JvmSynthetic public val playoutDelay: Duration,
    @get:JvmSynthetic public val targetDelay: Duration,
    @get:JvmSynthetic public val jitter: Duration,
    @get:JvmSynthetic public val interarrivalJitter: Duration,
    public val received: Long,
    public val lost: Long,
    public val late: Long,
    public val concealed: Long,
    public val fecRecovered: Long,
    public val duplicates: Long,
    public val stretches: Long,
) {
    /** [playoutDelay] for Java. */
    public fun playoutDelay(): java.time.Duration = playoutDelay.toJavaDuration()

    /** [targetDelay] for Java. */
    public fun targetDelay(): java.time.Duration = targetDelay.toJavaDuration()

    /** [jitter] for Java. */
    public fun jitter(): java.time.Duration = jitter.toJavaDuration()

    /** [interarrivalJitter] for Java. */
    public fun interarrivalJitter(): java.time.Duration = interarrivalJitter.toJavaDuration()

    override fun toString(): String =
        "SpeakerStats(ssrc=$ssrc, userId=$userId, playoutDelay=$playoutDelay, targetDelay=$targetDelay, " +
            "jitter=$jitter, interarrivalJitter=$interarrivalJitter, received=$received, lost=$lost, late=$late, " +
            "concealed=$concealed, fecRecovered=$fecRecovered, duplicates=$duplicates, stretches=$stretches)"
}
