package dev.earshot.voice.rtp

/**
 * A byte range (offset, length) packed into one [Long], so that per-packet parsers can return a location without
 * allocating a result object.
 *
 * The offset sits in the high 32 bits and the length in the low 32 bits. Both are non-negative, so a packed range is
 * never negative and [NONE] (`-1L`) cannot be mistaken for one.
 */
public object PackedRange {
    /** The "no range" value returned when something is absent or inconsistent. */
    public const val NONE: Long = -1L

    /** Packs [offset] and [length] (both non-negative) into one value. */
    public fun of(offset: Int, length: Int): Long = (offset.toLong() shl 32) or (length.toLong() and 0xFFFF_FFFFL)

    /** The offset of a packed range (meaningless for [NONE]). */
    public fun offset(packed: Long): Int = (packed ushr 32).toInt()

    /** The length of a packed range (meaningless for [NONE]). */
    public fun length(packed: Long): Int = packed.toInt()
}
