package dev.earshot.voice.javaapi;

import dev.earshot.voice.model.ReceiveStats;

import java.time.Instant;

/**
 * Something that happened in the voice channel besides audio, delivered in order with the audio around it. User ids
 * are {@code long}s, {@link UserIds#UNKNOWN} where the speaker's SSRC has no known user. RTCP packets are not
 * delivered to Java (use voice-core for them).
 */
public sealed interface ChannelEvent {
    /**
     * A speaker started talking: {@code tick} is the first tick with their audio after at least the speaking hang
     * without, {@code time} the wall-clock start of that tick.
     */
    record SpeakingStarted(long userId, long ssrc, long tick, Instant time) implements ChannelEvent {
    }

    /** A speaker stopped talking: {@code tick} is the last tick with their audio, {@code time} the wall-clock end of it. */
    record SpeakingStopped(long userId, long ssrc, long tick, Instant time) implements ChannelEvent {
    }

    /** A member joined the channel (voice gateway op 11). */
    record MemberJoined(long userId) implements ChannelEvent {
    }

    /** A member left the channel (voice gateway op 13). */
    record MemberLeft(long userId) implements ChannelEvent {
    }

    /** A member's speaking mode and SSRC (op 5): flags 1 microphone, 2 soundshare, 4 priority. */
    record SpeakingMode(long userId, long ssrc, int flags) implements ChannelEvent {
    }

    /** A member's audio and video SSRCs (op 12), 0 when none. */
    record MemberVideo(long userId, long audioSsrc, long videoSsrc) implements ChannelEvent {
    }

    /** A member's client flags (op 18): bit 0 clips, bit 1 allows voice recording, bit 2 any viewer may clip. */
    record MemberFlags(long userId, int flags) implements ChannelEvent {
    }

    /** A member's platform (op 20): 0 desktop, 1 mobile, 2 Xbox, 3 PlayStation. */
    record MemberPlatform(long userId, int platform) implements ChannelEvent {
    }

    /** The receiver's counters, published once a second. */
    record Stats(ReceiveStats stats) implements ChannelEvent {
    }
}
