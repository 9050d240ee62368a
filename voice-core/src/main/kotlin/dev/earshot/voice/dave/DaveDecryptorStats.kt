package dev.earshot.voice.dave

import java.lang.invoke.MethodHandles
import java.lang.invoke.VarHandle

/**
 * Counters of one [DaveDecryptor], in frames since it was made. Written by the decryptor's thread only; reads from
 * other threads may be slightly stale.
 */
internal class DaveDecryptorStats {
    /** Frames decrypted. */
    @Volatile var decrypted: Long = 0L
        internal set

    /** Frames that were not DAVE protocol frames, handed on unchanged while passthrough was allowed. */
    @Volatile var passthrough: Long = 0L
        internal set

    /** Opus silence frames (`F8 FF FE`), always handed on unchanged. */
    @Volatile var silence: Long = 0L
        internal set

    /** Failures: not a DAVE frame while passthrough was not allowed, or a window outside the array. */
    @Volatile var malformed: Long = 0L
        internal set

    /** Failures: the tag did not check out with any live key. */
    @Volatile var auth: Long = 0L
        internal set

    /** Failures: the nonce was already accepted (or is too old to tell). */
    @Volatile var replay: Long = 0L
        internal set

    /** Failures: generation erased, expired, too far ahead or too far for the ratchet's age. */
    @Volatile var generation: Long = 0L
        internal set

    /** DAVE frames that arrived while no key ratchet was installed (the caller may hold and retry them). */
    @Volatile var noKey: Long = 0L
        internal set

    /** Key ratchets closed early because [DaveDecryptor.MAX_RATCHETS] were live (a flood of transitions). */
    @Volatile var ratchetsDropped: Long = 0L
        internal set

    /** Counts a decrypted frame: an ordered store, without the fence of a volatile write (the writer is the only one). */
    internal fun countDecrypted() {
        DECRYPTED.setRelease(this, decrypted + 1)
    }

    /** Counts a silence frame, as [countDecrypted]. */
    internal fun countSilence() {
        SILENCE.setRelease(this, silence + 1)
    }

    /** All failures ([noKey] not included). */
    val failures: Long get() = malformed + auth + replay + generation

    override fun toString(): String =
        "DaveDecryptorStats(decrypted=$decrypted, passthrough=$passthrough, silence=$silence, malformed=$malformed, " +
            "auth=$auth, replay=$replay, generation=$generation, noKey=$noKey, ratchetsDropped=$ratchetsDropped)"

    private companion object {
        val DECRYPTED: VarHandle = MethodHandles.lookup().findVarHandle(DaveDecryptorStats::class.java, "decrypted", Long::class.javaPrimitiveType)
        val SILENCE: VarHandle = MethodHandles.lookup().findVarHandle(DaveDecryptorStats::class.java, "silence", Long::class.javaPrimitiveType)
    }
}
