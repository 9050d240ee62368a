package dev.earshot.voice.pipeline

import dev.earshot.voice.base.Counter
import dev.earshot.voice.base.Counters
import dev.earshot.voice.e2ee.FrameDecryptor
import dev.earshot.voice.identity.SsrcDirectory

/**
 * Pure core of the resolve stage: attaches the Discord user to each packet (SSRC-to-user map) and applies the
 * end-to-end [FrameDecryptor].
 *
 * A packet that cannot go on yet waits in the [HoldQueue]: when the decryptor needs the sender's user (DAVE keys are
 * per user) and the SSRC is not mapped yet, or when the decryptor reports the key is not ready. Held packets are
 * retried, in order, when a mapping arrives ([retryAll]) or the next packet of that SSRC comes, and dropped (counted)
 * once they have waited the hold time. Without a user-keyed decryptor nothing waits: packets of an unmapped SSRC go on
 * at once with no user, and carry the user from the moment the gateway maps it.
 */
internal class Resolver(
    private val directory: SsrcDirectory,
    private val decryptor: FrameDecryptor,
    private val hold: HoldQueue,
    private val counters: Counters,
    private val release: (ReceivedPacket) -> Unit,
    private val out: (ReceivedPacket) -> Unit,
) {
    /** Processes a newly arrived [p], passing every packet that is ready (held ones of its SSRC first) to `out`. */
    fun offer(p: ReceivedPacket, now: Long) {
        expire(now)
        if (hold.isHolding(p.ssrc)) retry(p.ssrc, now, final = false)
        if (hold.isHolding(p.ssrc)) holdOrDrop(p, now, fresh = true) else process(p, now, fresh = true, final = false)
    }

    /** Retries every held SSRC (after a new mapping). */
    fun retryAll(now: Long) {
        for (ssrc in hold.ssrcs()) retry(ssrc, now, final = false)
        expire(now)
    }

    /** The input has ended: one last try for everything held, then drop what still cannot go on. */
    fun finish(now: Long) {
        for (ssrc in hold.ssrcs()) retry(ssrc, now, final = true)
    }

    private fun retry(ssrc: Long, now: Long, final: Boolean) {
        val waiting = hold.take(ssrc)
        for (i in waiting.indices) {
            val q = waiting[i]
            // Once one is held again, the rest wait behind it to keep their order.
            if (hold.isHolding(ssrc)) holdOrDrop(q, now, fresh = false) else process(q, now, fresh = false, final)
        }
    }

    /** [final]: the hold time is over, so a packet that still cannot go on is dropped rather than held. */
    private fun process(p: ReceivedPacket, now: Long, fresh: Boolean, final: Boolean) {
        val user = directory.userOf(p.ssrc)
        if (user == SsrcDirectory.UNKNOWN && decryptor.requiresUser) {
            if (final) dropHeld(p) else holdOrDrop(p, now, fresh)
            return
        }
        p.userId = user
        val n = decryptor.decrypt(user, p.ssrc, p.data, p.payloadOffset, p.payloadLength)
        when {
            n in 0..p.payloadLength -> {
                p.payloadLength = n
                out(p)
            }
            n == FrameDecryptor.NOT_READY -> if (final) dropHeld(p) else holdOrDrop(p, now, fresh)
            else -> {
                counters.inc(Counter.E2EE_FAILURES)
                release(p)
            }
        }
    }

    private fun holdOrDrop(p: ReceivedPacket, now: Long, fresh: Boolean) {
        if (fresh) counters.inc(Counter.HELD_UNKNOWN_SSRC)
        val displaced = hold.hold(p, now) ?: return
        dropHeld(displaced)
    }

    private fun dropHeld(p: ReceivedPacket) {
        counters.inc(Counter.DROPPED_UNKNOWN_SSRC)
        release(p)
    }

    private fun expire(now: Long) {
        for (ssrc in hold.expired(now)) retry(ssrc, now, final = true)
    }
}
