package dev.earshot.voice.dave

import dev.earshot.voice.base.NanoClock
import org.slf4j.LoggerFactory
import kotlin.time.Duration

/**
 * Decrypts the DAVE frames of one remote user, after libdave's `Decryptor` and `CryptorManager`.
 *
 * - [transitionToKeyRatchet] installs each epoch's ratchet; earlier ones stay usable for [RATCHET_EXPIRY_NANOS]
 *   (10 s) after the latest transition and are tried after the newest.
 * - [transitionToPassthrough] controls whether frames that are not DAVE protocol frames are handed on unchanged.
 *   Passthrough is off until first enabled.
 * - The Opus silence frame `F8 FF FE` is always handed on unchanged.
 *
 * Every outcome is counted in [stats]; bad input never throws. One instance per remote user, used by one thread at
 * a time. The success path allocates nothing.
 */
internal class DaveDecryptor(private val clock: NanoClock) {
    /** Counters since this decryptor was made. */
    val stats: DaveDecryptorStats = DaveDecryptorStats()

    // Oldest first; tried newest first.
    private val managers = ArrayList<DaveCryptorManager>(2)
    private val view = DaveFrameView()
    private val time = FrameTime(clock)
    private var scratch = ByteArray(INITIAL_SCRATCH)

    private var passthroughMode = PASSTHROUGH_OFF
    private var passthroughDeadline = 0L

    /**
     * Makes [ratchet] (the sender's ratchet for a new epoch) the current one; the decryptor owns it from now on and
     * closes it when it expires. Ratchets installed before stay usable for 10 s after this transition: each
     * transition restarts their deadline, as libdave's `UpdateExpiry` does. Null means the sender has no key any more
     * (left the group): only the old ratchets remain, until they expire. At most [MAX_RATCHETS] are live: since
     * deadlines restart, a server sending transitions faster than every 10 s would otherwise grow the list without
     * end, so beyond it the oldest is closed and counted ([DaveDecryptorStats.ratchetsDropped]).
     */
    fun transitionToKeyRatchet(ratchet: DaveKeyRatchet?) {
        val deadline = clock.nanoTime() + RATCHET_EXPIRY_NANOS
        for (i in managers.indices) managers[i].expireBy(deadline)
        if (ratchet != null) {
            managers += DaveCryptorManager(clock, ratchet)
            while (managers.size > MAX_RATCHETS) {
                managers.removeAt(0).close()
                stats.ratchetsDropped++
            }
        }
    }

    /**
     * Sets whether frames that are not DAVE protocol frames may pass through unchanged:
     * - `enabled = true, expiry = null`: from now on, until changed;
     * - `enabled = true, expiry = d`: for the next d (discord.js allows 120 s while a downgrade is pending);
     * - `enabled = false, expiry = null`: not any more, at once;
     * - `enabled = false, expiry = d`: for at most d more (libdave's grace after an upgrade), never extending a
     *   shorter window already running.
     */
    fun transitionToPassthrough(enabled: Boolean, expiry: Duration? = null) {
        val now = clock.nanoTime()
        if (enabled) {
            if (expiry == null) {
                passthroughMode = PASSTHROUGH_ALWAYS
            } else {
                passthroughMode = PASSTHROUGH_UNTIL
                passthroughDeadline = now + expiry.inWholeNanoseconds
            }
            return
        }
        if (expiry == null) {
            passthroughMode = PASSTHROUGH_OFF
            return
        }
        val deadline = now + expiry.inWholeNanoseconds
        when (passthroughMode) {
            PASSTHROUGH_ALWAYS -> {
                passthroughMode = PASSTHROUGH_UNTIL
                passthroughDeadline = deadline
            }
            PASSTHROUGH_UNTIL -> if (deadline - passthroughDeadline < 0) passthroughDeadline = deadline
        }
    }

    /** Whether a frame that is not a DAVE protocol frame would pass through now. */
    fun canPassthrough(): Boolean = canPassthrough(clock.nanoTime())

    /** Whether at least one key ratchet is installed (expired ones go at the next frame or [hasLiveKey]). */
    val hasKey: Boolean get() = managers.isNotEmpty()

    /** Drops expired key ratchets; whether one is still live. */
    fun hasLiveKey(): Boolean {
        time.reset()
        dropExpiredManagers()
        return managers.isNotEmpty()
    }

    /**
     * Whether the last [FAILED] was a well-formed DAVE frame that no installed ratchet opens (authentication failed,
     * a generation out of every window, or a nonce already used): forged or replayed, from an epoch that is gone, or
     * from one whose ratchet is not installed yet, so a later ratchet may still open it. False after a malformed
     * frame, or one that is not a DAVE frame while passthrough is off.
     */
    var lastFailureMayPass: Boolean = false
        private set

    /**
     * Decrypts `frame[offset, offset + length)` into `out[outOffset ...]` and returns the plaintext length, or
     * [NO_KEY] (a DAVE frame but no key ratchet installed yet), or [FAILED]. [out] needs room for [length] bytes;
     * it may be [frame] itself with `outOffset == offset` (in place). [frame] is left untouched unless it is [out].
     */
    fun decrypt(frame: ByteArray, offset: Int, length: Int, out: ByteArray, outOffset: Int): Int {
        lastFailureMayPass = false
        if (offset < 0 || length < 0 || offset > frame.size - length || outOffset < 0 || outOffset > out.size - length) {
            stats.malformed++
            return FAILED
        }
        if (isSilenceFrame(frame, offset, length)) {
            System.arraycopy(frame, offset, out, outOffset, length)
            stats.countSilence()
            return length
        }
        time.reset()
        dropExpiredManagers()
        if (!view.parse(frame, offset, length)) {
            if (canPassthrough(time.get())) {
                System.arraycopy(frame, offset, out, outOffset, length)
                stats.passthrough++
                return length
            }
            stats.malformed++
            log.debug("dropped a frame that is not a DAVE frame ({} bytes) while passthrough is off", length)
            return FAILED
        }
        if (managers.isEmpty()) {
            stats.noKey++
            return NO_KEY
        }
        if (scratch.size < view.ciphertextLength) scratch = ByteArray(view.ciphertextLength)

        var reason = DaveCryptorManager.AUTH
        var i = managers.size - 1
        while (i >= 0) {
            val result = managers[i].decrypt(view, frame, scratch, time)
            if (result == DaveCryptorManager.OK) {
                reconstruct(frame, out, outOffset)
                stats.countDecrypted()
                return view.interleavedLength
            }
            if (priority(result) > priority(reason)) reason = result
            i--
        }
        when (reason) {
            DaveCryptorManager.REPLAY -> stats.replay++
            DaveCryptorManager.GENERATION -> stats.generation++
            else -> stats.auth++
        }
        log.debug("no key opens a DAVE frame: {} (nonce {}, {} key ratchets)", reasonName(reason), view.truncatedNonce.toUInt(), managers.size)
        // Not necessarily a bad frame: one from an epoch whose ratchet is still to come fails every ratchet here, and
        // looks like a replay to the older ones, since a sender's nonces start over with each new ratchet.
        lastFailureMayPass = true
        return FAILED
    }

    /** Closes every ratchet; afterwards DAVE frames get [NO_KEY]. */
    fun close() {
        for (i in managers.indices) managers[i].close()
        managers.clear()
        scratch.fill(0)
    }

    /** Interleaves the clear ranges (still in [frame]) and the plaintext (in [scratch]) into [out]. */
    private fun reconstruct(frame: ByteArray, out: ByteArray, outOffset: Int) {
        val base = view.frameOffset
        var pos = 0
        var plain = 0
        for (r in 0 until view.rangeCount) {
            val start = view.rangeStart(r)
            val run = start - pos
            if (run > 0) System.arraycopy(scratch, plain, out, outOffset + pos, run)
            plain += run
            // Clear bytes: when decrypting in place they are already where they belong.
            System.arraycopy(frame, base + start, out, outOffset + start, view.rangeLength(r))
            pos = start + view.rangeLength(r)
        }
        System.arraycopy(scratch, plain, out, outOffset + pos, view.interleavedLength - pos)
    }

    private fun canPassthrough(now: Long): Boolean = when (passthroughMode) {
        PASSTHROUGH_ALWAYS -> true
        PASSTHROUGH_UNTIL -> passthroughDeadline - now > 0
        else -> false
    }

    private fun dropExpiredManagers() {
        while (managers.isNotEmpty() && managers[0].isExpired(time)) managers.removeAt(0).close()
    }

    override fun toString(): String = "DaveDecryptor(ratchets=${managers.size}, $stats)"

    companion object {
        /** Returned by [decrypt] for a DAVE frame that arrived before any key ratchet: hold and retry, or drop. */
        const val NO_KEY: Int = -2

        /** Returned by [decrypt] for a malformed, forged, replayed or out-of-window frame (see [lastFailureMayPass]). */
        const val FAILED: Int = -1

        /** Key ratchets live at once at most (the newest and 15 older epochs'). */
        const val MAX_RATCHETS: Int = 16

        /** libdave's `kRatchetExpiry`: old epochs' ratchets stay usable for 10 s after a transition. */
        const val RATCHET_EXPIRY_NANOS: Long = 10_000_000_000L

        private const val PASSTHROUGH_OFF = 0
        private const val PASSTHROUGH_ALWAYS = 1
        private const val PASSTHROUGH_UNTIL = 2

        private const val INITIAL_SCRATCH = 1500

        private val log = LoggerFactory.getLogger(DaveDecryptor::class.java)

        /** When no key works, the most telling reason: a replay beats a generation problem beats a bad tag. */
        private fun priority(reason: Int): Int = when (reason) {
            DaveCryptorManager.REPLAY -> 3
            DaveCryptorManager.GENERATION -> 2
            else -> 1
        }

        private fun reasonName(reason: Int): String = when (reason) {
            DaveCryptorManager.REPLAY -> "replayed nonce"
            DaveCryptorManager.GENERATION -> "generation out of window"
            else -> "authentication failed"
        }
    }
}
