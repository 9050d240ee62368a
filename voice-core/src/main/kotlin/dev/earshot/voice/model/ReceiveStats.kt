package dev.earshot.voice.model

import dev.earshot.voice.base.Counter
import dev.earshot.voice.base.Counters

/**
 * A snapshot of a receiver's counters since it started. Every packet that enters is counted exactly once in one of
 * the "fate" counters, so problems show up as numbers rather than exceptions.
 *
 * Datagram fates: [datagrams] = [rtpAudio] + [rtcp] + [discovery] + [keepalive] + [otherPayload] + [malformed]
 * + [droppedDatagrams] (read queue overflow).
 * Audio fates: [rtpAudio] = [decrypted] + [authFailures] + [noKey] + [malformedAudio].
 *
 * @property datagrams datagrams read from the socket.
 * @property rtpAudio RTP datagrams with payload type 120 (Opus) that reached decryption.
 * @property rtcp RTCP datagrams.
 * @property discovery IP-discovery replies seen on the audio socket.
 * @property keepalive keepalive or ping datagrams.
 * @property otherPayload RTP datagrams of another payload type (video, probes): ignored.
 * @property malformed datagrams that are not valid RTP/RTCP/discovery/keepalive, or have a broken RTP header.
 * @property noKey audio packets that arrived before any transport key was set.
 * @property authFailures audio packets that failed transport authentication (tampered, wrong key, garbage).
 * @property malformedAudio decrypted packets whose padding or extension lengths do not fit.
 * @property decrypted audio packets that decrypted and parsed.
 * @property rtcpAuthFailures RTCP datagrams that failed transport authentication (or came before any key).
 * @property rtcpMalformed RTCP datagrams that authenticated but did not parse (their well-formed packets are dropped too).
 * @property heldUnknownSsrc packets held because their sender's user or end-to-end key was not known yet.
 * @property droppedUnknownSsrc held packets dropped (hold queue full, or still unresolved after the hold time).
 * @property e2eeFailures frames the end-to-end decryptor rejected.
 * @property ssrcLimitDrops packets dropped because the tracked-SSRC limit was reached.
 * @property late packets that arrived after their playout slot.
 * @property duplicates packets received twice.
 * @property lost packets never played because they were missing at their slot.
 * @property concealed 20 ms frames filled by packet-loss concealment.
 * @property fecRecovered frames rebuilt from in-band FEC.
 * @property decoded packets decoded (or passed through when decoding is off).
 * @property decodeErrors packets the Opus decoder rejected (then concealed).
 * @property silenceFrames Opus silence frames (`F8 FF FE`) played.
 * @property resyncs times a speaker's sequence jumped and playout restarted.
 * @property stretches ticks concealed mid-spurt to grow an adaptive playout delay (also counted in [concealed] when decoding).
 * @property ticks receive-clock ticks produced.
 * @property lateTicks ticks that were produced late (the clock had fallen behind by a tick or more).
 * @property droppedDatagrams read-queue overflow drops (oldest first).
 * @property droppedTicks ticks and events dropped by slow collectors and sinks, summed over all of them.
 * @property droppedAtLeave packets still buffered for a speaker whose playout state went: [VoiceReceiver.forgetSsrc]
 *   drops them at once; after a member's leave (op 13) its buffered audio first plays out, and only what is still
 *   there after the grace (the member kept sending) is dropped.
 */
public class ReceiveStats internal constructor(values: LongArray) {
    public val datagrams: Long = values[Counter.DATAGRAMS.ordinal]
    public val rtpAudio: Long = values[Counter.RTP_AUDIO.ordinal]
    public val rtcp: Long = values[Counter.RTCP.ordinal]
    public val discovery: Long = values[Counter.DISCOVERY.ordinal]
    public val keepalive: Long = values[Counter.KEEPALIVE.ordinal]
    public val otherPayload: Long = values[Counter.OTHER_PAYLOAD.ordinal]
    public val malformed: Long = values[Counter.MALFORMED.ordinal]
    public val noKey: Long = values[Counter.NO_KEY.ordinal]
    public val authFailures: Long = values[Counter.AUTH_FAILURES.ordinal]
    public val malformedAudio: Long = values[Counter.MALFORMED_AUDIO.ordinal]
    public val decrypted: Long = values[Counter.DECRYPTED.ordinal]
    public val rtcpAuthFailures: Long = values[Counter.RTCP_AUTH_FAILURES.ordinal]
    public val rtcpMalformed: Long = values[Counter.RTCP_MALFORMED.ordinal]
    public val heldUnknownSsrc: Long = values[Counter.HELD_UNKNOWN_SSRC.ordinal]
    public val droppedUnknownSsrc: Long = values[Counter.DROPPED_UNKNOWN_SSRC.ordinal]
    public val e2eeFailures: Long = values[Counter.E2EE_FAILURES.ordinal]
    public val ssrcLimitDrops: Long = values[Counter.SSRC_LIMIT_DROPS.ordinal]
    public val late: Long = values[Counter.LATE.ordinal]
    public val duplicates: Long = values[Counter.DUPLICATES.ordinal]
    public val lost: Long = values[Counter.LOST.ordinal]
    public val concealed: Long = values[Counter.CONCEALED.ordinal]
    public val fecRecovered: Long = values[Counter.FEC_RECOVERED.ordinal]
    public val decoded: Long = values[Counter.DECODED.ordinal]
    public val decodeErrors: Long = values[Counter.DECODE_ERRORS.ordinal]
    public val silenceFrames: Long = values[Counter.SILENCE_FRAMES.ordinal]
    public val resyncs: Long = values[Counter.RESYNCS.ordinal]
    public val stretches: Long = values[Counter.STRETCHES.ordinal]
    public val ticks: Long = values[Counter.TICKS.ordinal]
    public val lateTicks: Long = values[Counter.LATE_TICKS.ordinal]
    public val droppedDatagrams: Long = values[Counter.DROPPED_DATAGRAMS.ordinal]
    public val droppedTicks: Long = values[Counter.DROPPED_TICKS.ordinal]
    public val droppedAtLeave: Long = values[Counter.DROPPED_AT_LEAVE.ordinal]

    override fun toString(): String = Counter.entries.zip(fields()).joinToString(", ", "ReceiveStats(", ")") { (c, v) ->
        "${c.name.lowercase()}=$v"
    }

    private fun fields(): List<Long> = listOf(
        datagrams, rtpAudio, rtcp, discovery, keepalive, otherPayload, malformed, noKey, authFailures, malformedAudio,
        decrypted, rtcpAuthFailures, rtcpMalformed, heldUnknownSsrc, droppedUnknownSsrc, e2eeFailures, ssrcLimitDrops, late,
        duplicates, lost, concealed, fecRecovered, decoded, decodeErrors, silenceFrames, resyncs, stretches, ticks,
        lateTicks, droppedDatagrams, droppedTicks, droppedAtLeave,
    )
}

/** A snapshot of the live [Counters] as the public [ReceiveStats]. */
internal fun Counters.snapshot(): ReceiveStats = ReceiveStats(values())
