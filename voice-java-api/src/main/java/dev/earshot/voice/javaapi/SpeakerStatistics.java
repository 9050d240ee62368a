package dev.earshot.voice.javaapi;

import dev.earshot.voice.model.SpeakerStats;

import java.time.Duration;

/**
 * The playout figures of one speaker (SSRC), from {@link JavaVoiceConnection#speakerStats()}. Counters run since the
 * speaker's first packet; they are this speaker's share of the connection's {@code ReceiveStats} counters of the
 * same names.
 *
 * @param ssrc               the RTP SSRC
 * @param userId             the Discord user, or {@link UserIds#UNKNOWN} while the SSRC has no known user
 * @param playoutDelay       the delay playout applies now (from the arrival of the fastest recent packet to the end
 *                           of the tick it plays in)
 * @param targetDelay        the delay the speaker is steering towards (adaptive playout), or the fixed delay
 * @param jitter             the jitter estimate the adaptive delay follows (99th percentile of the relative arrival delay)
 * @param interarrivalJitter RFC 3550's interarrival jitter, as RTCP receiver reports carry it
 * @param received           packets that reached the jitter buffer (duplicates and late ones included)
 * @param lost               packets never played because they were missing at their slot
 * @param late               packets that arrived after their slot
 * @param concealed          20 ms frames filled by packet-loss concealment
 * @param fecRecovered       frames rebuilt from in-band FEC
 * @param duplicates         packets received twice
 * @param stretches          ticks concealed mid-spurt to grow the adaptive delay
 */
public record SpeakerStatistics(
        long ssrc, long userId, Duration playoutDelay, Duration targetDelay, Duration jitter, Duration interarrivalJitter,
        long received, long lost, long late, long concealed, long fecRecovered, long duplicates, long stretches) {

    static SpeakerStatistics of(SpeakerStats s) {
        return new SpeakerStatistics(s.getSsrc(), UserIds.of(s.getUserId()), s.playoutDelay(), s.targetDelay(), s.jitter(),
                s.interarrivalJitter(), s.getReceived(), s.getLost(), s.getLate(), s.getConcealed(), s.getFecRecovered(),
                s.getDuplicates(), s.getStretches());
    }
}
