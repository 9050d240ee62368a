package dev.earshot.voice.jitter

/** Where a [JitterBuffer]'s talk spurts should play: the seam between the buffer and an adaptive delay estimate. */
public fun interface PlayoutPlacer {
    /**
     * The tick at which the audio stamped [timestamp] (unwrapped RTP) should play under the delay wanted now. Called
     * when a spurt is placed and when the next packet is missing mid-spurt; must not allocate.
     */
    public fun desiredTick(timestamp: Long): Long
}
