package dev.earshot.voice.pipeline

import dev.earshot.voice.base.Counter
import dev.earshot.voice.base.Counters
import dev.earshot.voice.codec.OpusPacketInfo
import dev.earshot.voice.e2ee.FrameDecryptor
import dev.earshot.voice.identity.SsrcDirectory

/**
 * Pure core of the resolve stage: attaches the Discord user to each packet (SSRC-to-user map) and applies the
 * end-to-end [FrameDecryptor].
 *
 * A packet that cannot go on yet waits in the [HoldQueue]: when the decryptor needs the sender's user (DAVE keys are
 * per user) and the SSRC is not mapped yet, or when the decryptor answers [FrameDecryptor.NOT_READY] (no key held
 * now opens it: a frame that arrived before its key). Held packets are retried when a mapping arrives or the
 * decryptor's keys change ([retryAll]), and when a later packet of their SSRC opens; with [retryOnArrival] (a decryptor that never says when its keys change) also
 * whenever the next packet of that SSRC comes. A packet that still cannot go on once it has waited the hold time
 * (counted from when it was first held, whatever the retries) is dropped and counted: as [Counter.E2EE_FAILURES]
 * when its user was known (no key opened it; the decryptor is told, [FrameDecryptor.dropped]), else as
 * [Counter.DROPPED_UNKNOWN_SSRC]. Packets are not held behind each other: a later packet of the same SSRC that can go
 * on goes on (except the unencrypted silence frames that end a talk spurt, which wait behind that spurt's audio), and
 * the jitter buffer puts released packets back in order by sequence number, each keeping the arrival time the reader
 * stamped, so a frame released late still plays in its own slot if that is not past yet.
 * Without a user-keyed decryptor nothing waits: packets of an unmapped SSRC go on at once with no user, and carry the
 * user from the moment the gateway maps it.
 */
internal class Resolver(
    private val directory: SsrcDirectory,
    private val decryptor: FrameDecryptor,
    private val hold: HoldQueue,
    private val counters: Counters,
    private val release: (ReceivedPacket) -> Unit,
    private val out: (ReceivedPacket) -> Unit,
    /** Told when a packet of a known user starts or stops waiting for its key (ssrc, RTP timestamp, waiting). */
    private val awaitKey: (Long, Long, Boolean) -> Unit = { _, _, _ -> },
) {
    /** Whether held packets are retried with each new packet of their SSRC (when nothing else would wake them). */
    var retryOnArrival: Boolean = true

    /** Processes a newly arrived [p], passing every packet that is ready to `out`. */
    fun offer(p: ReceivedPacket, now: Long) {
        expire(now)
        if (retryOnArrival && hold.isHolding(p.ssrc)) retry(p.ssrc, now, expiredOnly = false)
        if (hold.isHolding(p.ssrc) && OpusPacketInfo.isSilenceFrame(p.data, p.payloadOffset, p.payloadLength)) {
            // The silence frames that end a talk spurt are never end-to-end encrypted: played before the held audio
            // of the same spurt, they would end it early and leave that audio to come after its own end.
            holdOrDrop(p, now, fresh = true)
            return
        }
        process(p, now, now, fresh = true, final = false)
    }

    /** Retries every held SSRC (after a new mapping, or new end-to-end keys). */
    fun retryAll(now: Long) {
        for (ssrc in hold.ssrcs()) retry(ssrc, now, expiredOnly = false)
        expire(now)
    }

    /** The input has ended: one last try for everything held, then drop what still cannot go on. */
    fun finish(now: Long) {
        for (ssrc in hold.ssrcs()) {
            for (e in take(ssrc)) process(e.packet, e.since, now, fresh = false, final = true)
        }
    }

    private fun take(ssrc: Long): List<HoldQueue.Entry> {
        val entries = hold.take(ssrc)
        for (i in entries.indices) if (entries[i].packet.userId != SsrcDirectory.UNKNOWN) awaitKey(ssrc, entries[i].packet.timestamp, false)
        return entries
    }

    /** Retries [ssrc]'s held packets in order; those past the hold time get their last try. */
    private fun retry(ssrc: Long, now: Long, expiredOnly: Boolean) {
        val waiting = take(ssrc)
        for (i in waiting.indices) {
            val e = waiting[i]
            val final = hold.isExpired(e, now)
            if (expiredOnly && !final) {
                holdOrDrop(e.packet, e.since, fresh = false)
            } else {
                process(e.packet, e.since, now, fresh = false, final)
            }
        }
    }

    /** [final]: the hold time is over, so a packet that still cannot go on is dropped rather than held. */
    private fun process(p: ReceivedPacket, since: Long, now: Long, fresh: Boolean, final: Boolean) {
        val user = directory.userOf(p.ssrc)
        if (user == SsrcDirectory.UNKNOWN && decryptor.requiresUser) {
            if (final) drop(p) else holdOrDrop(p, since, fresh)
            return
        }
        p.userId = user
        val n = decryptor.decrypt(user, p.ssrc, p.data, p.payloadOffset, p.payloadLength)
        when {
            n in 0..p.payloadLength -> {
                p.payloadLength = n
                out(p)
                // A frame of this SSRC opened, so what it holds may open now too: keys can arrive between the last
                // wake-up and this frame (a session installs its members' keys one by one).
                if (fresh && hold.isHolding(p.ssrc)) retry(p.ssrc, now, expiredOnly = false)
            }
            n == FrameDecryptor.NOT_READY -> if (final) drop(p) else holdOrDrop(p, since, fresh)
            else -> {
                counters.inc(Counter.E2EE_FAILURES)
                release(p)
            }
        }
    }

    private fun holdOrDrop(p: ReceivedPacket, since: Long, fresh: Boolean) {
        if (fresh) counters.inc(Counter.HELD_UNKNOWN_SSRC)
        val displaced = hold.hold(p, since)
        if (displaced !== p && p.userId != SsrcDirectory.UNKNOWN) awaitKey(p.ssrc, p.timestamp, true)
        if (displaced == null) return
        if (displaced !== p && displaced.userId != SsrcDirectory.UNKNOWN) awaitKey(displaced.ssrc, displaced.timestamp, false)
        drop(displaced)
    }

    /** Gives up on a held packet: no key opened it (its user is known), or it never got a user. */
    private fun drop(p: ReceivedPacket) {
        val user = directory.userOf(p.ssrc)
        if (user != SsrcDirectory.UNKNOWN && decryptor.requiresUser) {
            counters.inc(Counter.E2EE_FAILURES)
            decryptor.dropped(user, p.ssrc)
        } else {
            counters.inc(Counter.DROPPED_UNKNOWN_SSRC)
        }
        release(p)
    }

    private fun expire(now: Long) {
        for (ssrc in hold.expired(now)) retry(ssrc, now, expiredOnly = true)
    }
}
