package dev.earshot.voice.dave

import dev.earshot.voice.base.NanoClock

/**
 * The time of the frame being decrypted, read from [clock] at its first use and then kept until [reset]. Most frames
 * need no time at all (one epoch, one generation, nothing due to expire), and a clock read costs about a tenth of a
 * DAVE frame's decryption; a frame that needs it reads it once however many ratchets it tries.
 */
internal class FrameTime(private val clock: NanoClock) {
    private var value = 0L
    private var read = false

    /** Starts a new frame: the next [get] reads the clock. */
    fun reset() {
        read = false
    }

    /** The frame's time, in [clock]'s nanoseconds. */
    fun get(): Long {
        if (!read) {
            value = clock.nanoTime()
            read = true
        }
        return value
    }
}
