package dev.earshot.voice.model


/** Something a receiver publishes in time order: a [VoiceTick] of audio, or a [VoiceEvent]. */
public sealed interface VoiceOutput

/**
 * Events beside the audio, delivered to sinks ([dev.earshot.voice.sink.AudioSink.onEvent]) and to the receiver's
 * `events` flow in order with the ticks around them.
 */
public sealed class VoiceEvent : VoiceOutput {
    /** A speaker started talking: the first tick with audio after at least the hang time without. */
    public class SpeakingStarted(public val userId: Long?, public val ssrc: Long, public val tick: Long) : VoiceEvent() {
        override fun toString(): String = "SpeakingStarted(user=$userId, ssrc=$ssrc, tick=$tick)"
    }

    /** A speaker stopped talking; [tick] is the last tick that had their audio. */
    public class SpeakingStopped(public val userId: Long?, public val ssrc: Long, public val tick: Long) : VoiceEvent() {
        override fun toString(): String = "SpeakingStopped(user=$userId, ssrc=$ssrc, tick=$tick)"
    }

    /** A member joined the channel (voice gateway op 11). */
    public class MemberConnected(public val userId: Long) : VoiceEvent() {
        override fun toString(): String = "MemberConnected(user=$userId)"
    }

    /** A member left the channel (voice gateway op 13). */
    public class MemberDisconnected(public val userId: Long) : VoiceEvent() {
        override fun toString(): String = "MemberDisconnected(user=$userId)"
    }

    /**
     * A member's speaking *mode* (voice gateway op 5): which SSRC is theirs and their flags (1 microphone,
     * 2 soundshare, 4 priority). Sent when you connect and when the mode changes, not for each utterance; for talk
     * spurts use [SpeakingStarted] and [SpeakingStopped].
     */
    public class SpeakingStateChanged(public val userId: Long, public val ssrc: Long, public val flags: Int) : VoiceEvent() {
        override fun toString(): String = "SpeakingStateChanged(user=$userId, ssrc=$ssrc, flags=$flags)"
    }

    /** A member's video state (voice gateway op 12): their audio and video SSRCs, 0 when none. */
    public class MemberVideo(public val userId: Long, public val audioSsrc: Long, public val videoSsrc: Long) : VoiceEvent() {
        override fun toString(): String = "MemberVideo(user=$userId, audioSsrc=$audioSsrc, videoSsrc=$videoSsrc)"
    }

    /**
     * A member's client flags (voice gateway op 18): bit 0 clips enabled, bit 1 allows voice recording, bit 2 allows
     * any viewer to clip. Undocumented by Discord; bots that record should honour bit 1.
     */
    public class MemberFlags(public val userId: Long, public val flags: Int) : VoiceEvent() {
        override fun toString(): String = "MemberFlags(user=$userId, flags=$flags)"
    }

    /** A member's platform (voice gateway op 20): 0 desktop, 1 mobile, 2 Xbox, 3 PlayStation. Undocumented by Discord. */
    public class MemberPlatform(public val userId: Long, public val platform: Int) : VoiceEvent() {
        override fun toString(): String = "MemberPlatform(user=$userId, platform=$platform)"
    }

    /** An RTCP packet from the voice server. */
    public class Rtcp(public val packet: RtcpPacket) : VoiceEvent() {
        override fun toString(): String = "Rtcp($packet)"
    }

    /** The receiver's counters, published once a second. */
    public class Stats(public val stats: ReceiveStats) : VoiceEvent() {
        override fun toString(): String = "Stats($stats)"
    }
}
