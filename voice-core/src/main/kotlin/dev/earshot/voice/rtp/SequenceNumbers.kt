package dev.earshot.voice.rtp

/**
 * Wrap-safe arithmetic on 16-bit RTP sequence numbers and 32-bit RTP timestamps.
 *
 * Distances are taken modulo 2^16 (or 2^32) and read as two's-complement, so `65535 -> 0` is a step of +1.
 * Only the low 16 (or 32) bits of the arguments are used.
 *
 * The one ambiguous distance, exactly half the range (32768 for sequence numbers, 2^31 for timestamps), reads as
 * the **negative** extreme in both directions: `diff(a, b) == diff(b, a) == -32768`, so [isNewer] is false both
 * ways and the unwrappers treat such a jump as a step backwards. This matches two's-complement subtraction and the
 * pion/libwebrtc convention; a real stream never jumps that far between two packets it wants ordered.
 */
public object SequenceNumbers {
    /** Number of distinct sequence numbers (2^16). */
    public const val SEQUENCE_MODULUS: Int = 1 shl 16

    /** Number of distinct timestamps (2^32). */
    public const val TIMESTAMP_MODULUS: Long = 1L shl 32

    /** True when sequence number [a] comes after [b], i.e. `diff(a, b)` is in `1..32767`. */
    public fun isNewer(a: Int, b: Int): Boolean = diff(a, b) > 0

    /** Signed distance `a - b` modulo 2^16, in `-32768..32767`. */
    public fun diff(a: Int, b: Int): Int = ((a - b) shl 16) shr 16

    /** True when timestamp [a] comes after [b], i.e. `timestampDiff(a, b)` is in `1..2^31-1`. */
    public fun isNewerTimestamp(a: Long, b: Long): Boolean = timestampDiff(a, b) > 0

    /** Signed distance `a - b` modulo 2^32, in `-2^31..2^31-1`. */
    public fun timestampDiff(a: Long, b: Long): Long = ((a - b) shl 32) shr 32
}

/**
 * Extends 16-bit RTP sequence numbers to a 64-bit count that does not wrap.
 *
 * The first value maps to itself (`0..65535`). Every later value is placed at the shortest signed distance
 * ([SequenceNumbers.diff]) from the previous *input*, reordered and repeated packets included, and that result becomes
 * the new reference (pion's `sequencenumber.Unwrapper` behaviour). Stepping back past the first value gives negative
 * results. A jump of exactly 32768 counts as backwards. One instance per stream; not thread-safe; allocation-free.
 */
public class SequenceUnwrapper {
    private var last = 0L
    private var started = false

    /** Returns the unwrapped value of [seq]; only its low 16 bits are used. */
    public fun unwrap(seq: Int): Long {
        if (!started) {
            started = true
            last = (seq and 0xFFFF).toLong()
        } else {
            // last.toInt() keeps the low 32 bits, and diff only looks at the low 16 of those.
            last += SequenceNumbers.diff(seq, last.toInt())
        }
        return last
    }

    /** Forgets the reference, so the next value maps to itself again (e.g. when the SSRC changes). */
    public fun reset() {
        started = false
        last = 0L
    }
}

/**
 * Extends 32-bit RTP timestamps to a 64-bit clock that does not wrap; the timestamp twin of [SequenceUnwrapper].
 *
 * The first value maps to itself (`0..2^32-1`); later values are placed at the shortest signed distance
 * ([SequenceNumbers.timestampDiff]) from the previous input, which becomes the new reference. A jump of exactly 2^31
 * counts as backwards. One instance per stream; not thread-safe; allocation-free.
 */
public class TimestampUnwrapper {
    private var last = 0L
    private var started = false

    /** Returns the unwrapped value of [ts]; only its low 32 bits are used. */
    public fun unwrap(ts: Long): Long {
        if (!started) {
            started = true
            last = ts and 0xFFFF_FFFFL
        } else {
            last += SequenceNumbers.timestampDiff(ts, last)
        }
        return last
    }

    /** Forgets the reference, so the next value maps to itself again. */
    public fun reset() {
        started = false
        last = 0L
    }
}
