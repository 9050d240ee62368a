package dev.earshot.voice.model

import dev.earshot.voice.ReceiveStats
import dev.earshot.voice.rtp.RtcpPacket

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

    /** An RTCP packet from the voice server. */
    public class Rtcp(public val packet: RtcpPacket) : VoiceEvent() {
        override fun toString(): String = "Rtcp($packet)"
    }

    /** The receiver's counters, published once a second. */
    public class Stats(public val stats: ReceiveStats) : VoiceEvent() {
        override fun toString(): String = "Stats($stats)"
    }
}
