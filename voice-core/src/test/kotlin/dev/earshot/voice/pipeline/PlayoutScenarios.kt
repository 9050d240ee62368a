package dev.earshot.voice.pipeline

import dev.earshot.voice.model.SpeakerStats
import dev.earshot.voice.model.AudioFrame
import dev.earshot.voice.model.FrameKind
import dev.earshot.voice.model.VoiceTick
import dev.earshot.voice.testing.FakeSpeaker
import dev.earshot.voice.testing.ReceiverHarness
import dev.earshot.voice.testing.Speech
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.delay
import kotlinx.coroutines.launch
import kotlin.math.log10

/**
 * Building blocks of the playout scenario specs: a sender's talk pattern (speech from the stored fixture in talk
 * spurts, each closed by the five silence frames a Discord client sends, then a pause the RTP timestamp skips), a
 * network that delays each packet, and the figures taken from what came out.
 */
internal class SentPacket(
    val datagram: ByteArray,
    /** RTP sequence number (16 bits). */
    val sequence: Int,
    /** The Opus packet, or null for a silence frame. */
    val opus: ByteArray?,
    /** When the sender's encoder produced it (ms); the sender may send it later. */
    val nominalMs: Long,
    val spurt: Int,
)

/**
 * [spurts] talk spurts of [spurtPackets] speech packets (the first one [firstSpurtPackets] long), each followed by
 * five silence frames and [pauseMs] of silence, starting at [startMs]. Packet k of the fixture follows k - 1, cycling.
 */
internal fun talkPattern(
    speaker: FakeSpeaker,
    spurts: Int,
    spurtPackets: Int,
    pauseMs: Int,
    startMs: Long = 0,
    firstSpurtPackets: Int = spurtPackets,
    fixtureOffset: Int = 0,
): List<SentPacket> {
    val out = ArrayList<SentPacket>()
    var t = startMs
    var k = fixtureOffset
    for (s in 0 until spurts) {
        repeat(if (s == 0) firstSpurtPackets else spurtPackets) {
            val opus = Speech.packets[k++ % Speech.packets.size]
            out += SentPacket(speaker.datagram(opus), speaker.sequence.minus(1) and 0xFFFF, opus, t, s)
            t += 20
        }
        repeat(5) {
            out += SentPacket(speaker.datagram(FakeSpeaker.SILENCE), speaker.sequence.minus(1) and 0xFFFF, null, t, s)
            t += 20
        }
        speaker.pause(pauseMs * 48)
        t += pauseMs
    }
    return out
}

/** Offers each datagram at its arrival time (virtual ms), in arrival order; ends the source [tailMs] after the last. */
internal fun CoroutineScope.deliver(h: ReceiverHarness, arrivals: List<Pair<Long, ByteArray>>, tailMs: Long = 1000) = launch {
    var now = 0L
    for ((at, d) in arrivals.sortedBy { it.first }) {
        if (at > now) delay(at - now)
        now = maxOf(now, at)
        h.source.offer(d)
    }
    delay(tailMs)
    h.source.close()
}

/** Per talk spurt of [sent]: its first packet's send time (ms) and the tick it played in minus its send tick (its delay). */
internal fun placements(ticks: List<VoiceTick>, ssrc: Long, sent: List<SentPacket>): List<Pair<Long, Long>> {
    val played = ticks.mapNotNull { it.frameOfSsrc(ssrc) }.associate { it.sequence to it.tick }
    return sent.groupBy { it.spurt }.values.map { spurt ->
        val first = spurt.first()
        first.nominalMs to played.getValue(first.sequence) - first.nominalMs / 20
    }
}

/** How far each spurt after a pause moved against the one before it, relative to RTP time (ms). */
internal fun pauseErrors(vararg speakers: List<Pair<Long, Long>>): List<Long> =
    speakers.flatMap { it.zipWithNext() }.map { (x, y) -> (y.second - x.second) * 20 }

/** Each of [b]'s spurts against [a]'s latest spurt started before it: the error of the speakers' offset (ms). */
internal fun offsetErrors(a: List<Pair<Long, Long>>, b: List<Pair<Long, Long>>): List<Long> =
    b.map { (sentAt, delay) -> (delay - a.last { it.first <= sentAt }.second) * 20 }

/**
 * How faithfully the delivered frames reproduce the stream: every frame played from its own packet (kind DECODED) is
 * compared with a reference decode of the same Opus packets in order by a fresh decoder per talk spurt (the receiver
 * also starts each spurt on a fresh decoder). Frames after a concealment may differ (the decoder state differs), so
 * both the bit-exact share and the SNR of the others are reported.
 */
internal class Fidelity(val delivered: Int, val exact: Int, val snrMedian: Double, val snrP5: Double) {
    override fun toString(): String =
        "delivered %d, bit-exact %d (%.1f %%), others: median SNR %s dB, p5 %s dB".format(
            delivered, exact, 100.0 * exact / maxOf(delivered, 1),
            if (snrMedian.isNaN()) "-" else "%.1f".format(snrMedian), if (snrP5.isNaN()) "-" else "%.1f".format(snrP5),
        )
}

internal fun fidelity(sent: List<SentPacket>, frames: List<AudioFrame>): Fidelity {
    val reference = HashMap<Int, ShortArray>()
    for ((_, spurt) in sent.filter { it.opus != null }.groupBy { it.spurt }) {
        Speech.decodeAll(spurt.map { it.opus!! }).forEachIndexed { i, pcm -> reference[spurt[i].sequence] = pcm }
    }
    var delivered = 0
    var exact = 0
    val snrs = ArrayList<Double>()
    for (f in frames) {
        if (f.kind != FrameKind.DECODED || f.opus == null) continue
        val ref = reference[f.sequence] ?: continue
        delivered++
        if (f.pcm!!.contentEquals(ref)) exact++ else snrs += snrDb(ref, f.pcm!!)
    }
    snrs.sort()
    return Fidelity(
        delivered, exact,
        if (snrs.isEmpty()) Double.NaN else snrs[snrs.size / 2],
        if (snrs.isEmpty()) Double.NaN else snrs[snrs.size / 20],
    )
}

private fun snrDb(ref: ShortArray, test: ShortArray): Double {
    var signal = 0.0
    var noise = 0.0
    for (i in ref.indices) {
        val r = ref[i].toDouble()
        val d = r - test[i]
        signal += r * r
        noise += d * d
    }
    return 10 * log10(maxOf(signal, 1.0) / maxOf(noise, 1e-9))
}

/** The late share among packets received between two snapshots of the same speaker. */
internal fun lateShare(before: SpeakerStats?, after: SpeakerStats): Double {
    val received = after.received - (before?.received ?: 0)
    val late = after.late - (before?.late ?: 0)
    return late.toDouble() / maxOf(received, 1)
}
