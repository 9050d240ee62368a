package dev.earshot.voice.dave

import dev.earshot.voice.base.NanoClock
import dev.earshot.voice.codec.OpusPacketInfo
import dev.earshot.voice.e2ee.FrameDecryptor
import dev.earshot.voice.internal.LongMap
import java.util.concurrent.atomic.AtomicInteger
import java.util.concurrent.atomic.AtomicLong

/**
 * The receive side's DAVE step for every remote user: each user's [DaveDecryptor], and [decrypt], what happens to one
 * frame, with its counters.
 *
 * [decrypt] runs on the receive pipeline's thread for every frame; the table changes only at epoch transitions and
 * member changes, on the session's thread. So the table is copy-on-write: every change publishes a new [LongMap] and
 * a frame reads the current one without a lock and without boxing the user id. A decryptor itself is used under its
 * own lock, as the session changes its ratchets while frames are decrypted.
 */
internal class DaveUserDecryptors(private val clock: NanoClock) {
    private val lock = Any()

    @Volatile
    private var table = LongMap<DaveDecryptor>()

    /** Frames decrypted. */
    val decrypted = AtomicLong()

    /** Frames that went on unchanged: silence frames, and every frame of a call without E2EE. */
    val passedThrough = AtomicLong()

    /** Frames no key of their sender opened yet (held and retried by the pipeline). */
    val notReady = AtomicLong()

    // Tells ciphertext from plain Opus for a sender without a decryptor; used by the one thread that calls decrypt.
    private val daveShaped = DaveFrameView()

    /** Frames that failed one after another (reset by a frame that decrypts); the session re-initialises past a limit. */
    val consecutiveFailures = AtomicInteger()

    /** The decryptor of [user], if any. */
    operator fun get(user: Long): DaveDecryptor? = table[user]

    /** Whether [user] has a decryptor. */
    operator fun contains(user: Long): Boolean = table[user] != null

    /** The decryptor of [user], made (without a ratchet) if there is none. */
    fun getOrCreate(user: Long): DaveDecryptor = synchronized(lock) {
        table[user] ?: DaveDecryptor(clock).also { d -> table = copyOf(table).apply { set(user, d) } }
    }

    /** Removes the users for which [remove] says yes (it runs under the table's lock). */
    fun removeIf(remove: (Long, DaveDecryptor) -> Boolean) {
        synchronized(lock) {
            val next = LongMap<DaveDecryptor>()
            table.forEach { user, d -> if (!remove(user, d)) next[user] = d }
            if (next.size != table.size) table = next
        }
    }

    /** Calls [action] for every user and decryptor in the table as it is now. */
    fun forEach(action: (Long, DaveDecryptor) -> Unit) {
        table.forEach(action)
    }

    /** Closes every decryptor's ratchets and empties the table. */
    fun clear() {
        val old = synchronized(lock) { table.also { table = LongMap() } }
        old.forEach { _, d -> synchronized(d) { d.transitionToKeyRatchet(null) } }
    }

    /**
     * Decrypts [userId]'s frame `frame[offset, offset + length)` in place; returns the plaintext length, or
     * [FrameDecryptor.NOT_READY] (no key of the sender opens it yet: it may open once the next keys arrive), or [FAILED].
     * [transportOnly]: the call has no E2EE (protocol version 0), so a user without a decryptor sends plain Opus; a
     * frame of such a user that has the DAVE frame layout is still [FrameDecryptor.NOT_READY], never passed on.
     */
    fun decrypt(userId: Long, frame: ByteArray, offset: Int, length: Int, transportOnly: Boolean): Int {
        if (OpusPacketInfo.isSilenceFrame(frame, offset, length)) {
            passedThrough.incrementAndGet()
            return length
        }
        val d = table[userId]
        if (d == null) {
            // Without E2EE a user without a decryptor sends plain Opus, but a frame that carries DAVE's trailer is
            // ciphertext (as libdave decides): it came before this session applied the call's DAVE version (frames
            // arrive as soon as Session Description does), and played as Opus it would decode to noise.
            if (transportOnly && !daveShaped.parse(frame, offset, length)) {
                passedThrough.incrementAndGet()
                return length
            }
            notReady.incrementAndGet()
            return FrameDecryptor.NOT_READY
        }
        var mayPass = false
        val n = synchronized(d) {
            d.decrypt(frame, offset, length, frame, offset).also { mayPass = d.lastFailureMayPass }
        }
        return when {
            n >= 0 -> {
                // A read, not a write, on the common path: a volatile write per frame costs a fence.
                if (consecutiveFailures.get() != 0) consecutiveFailures.set(0)
                // One pipeline coroutine calls this at a time (FrameDecryptor's contract): no locked increment needed.
                decrypted.lazySet(decrypted.get() + 1)
                n
            }
            // No key of the sender's opens it: a sender that moved to a new epoch before we processed its commit
            // (davey switches as soon as it has), so it waits for the next keys rather than failing now.
            n == DaveDecryptor.NO_KEY || mayPass -> {
                notReady.incrementAndGet()
                FrameDecryptor.NOT_READY
            }
            else -> FAILED
        }
    }

    private fun copyOf(map: LongMap<DaveDecryptor>): LongMap<DaveDecryptor> =
        LongMap<DaveDecryptor>(map.size + 1).also { copy -> map.forEach { k, v -> copy[k] = v } }

    companion object {
        /** [decrypt]'s answer for a frame that failed: malformed, forged, or refused while passthrough is off. */
        const val FAILED: Int = FrameDecryptor.DROP
    }
}
