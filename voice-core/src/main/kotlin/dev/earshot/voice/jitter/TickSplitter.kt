package dev.earshot.voice.jitter

import dev.earshot.voice.base.VoiceConstants.SAMPLES_PER_FRAME

/**
 * Splits playout over 20 ms ticks: a slice longer than what the tick still needs (a 40 or 60 ms packet, or one that
 * starts partway into the tick) fills the tick, and the rest is carried into the following ticks, one tick's worth at
 * a time. Counts 48 kHz samples per channel. The playout core (`Speaker.produce`) and the jitter buffer's tests both
 * run this one copy of the rule; what the carried samples are (decoded PCM) is the caller's business. Not
 * thread-safe: one per speaker.
 */
internal class TickSplitter {
    /** Samples of the last placed slice that are still to play in later ticks. */
    var carry48: Int = 0
        private set

    /** Starts a tick with what is carried: takes up to one tick of it and returns how many samples it took. */
    fun takeCarry(): Int {
        val n48 = minOf(carry48, SAMPLES_PER_FRAME)
        carry48 -= n48
        return n48
    }

    /**
     * Places a slice of [dur48] samples in a tick that still needs [want]: returns the samples that go into this tick;
     * what does not fit becomes [carry48].
     */
    fun place(dur48: Int, want: Int): Int {
        val n48 = minOf(dur48, want)
        if (dur48 > want) carry48 = dur48 - want
        return n48
    }

    /** Drops what is carried (the stream jumped). */
    fun clear() {
        carry48 = 0
    }
}
