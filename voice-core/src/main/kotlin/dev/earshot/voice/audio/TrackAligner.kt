package dev.earshot.voice.audio

import dev.earshot.voice.codec.PcmFormat

/**
 * The core of the silence generator: turns one user's frames, given by tick, into a continuous track that starts at
 * the recording's first tick [startTick] and has exactly one frame per tick, so tracks of different users overlay
 * sample for sample. Ticks without audio, including those before the user's first frame, become silence.
 * After [finish] with the recording's last tick, the track holds `(lastTick - startTick + 1) * samplesPerFrame`
 * samples per channel. Not thread-safe; allocation-free.
 */
public class TrackAligner(public val startTick: Long, public val format: PcmFormat) {
    /** Interleaved shorts in one frame (20 ms, all channels). */
    public val frameSize: Int = format.samplesPerFrame * format.channels

    private val scratch = ShortArray(frameSize)

    /** The first tick not yet written: the track so far covers `startTick until nextTick`. */
    public var nextTick: Long = startTick
        private set

    /** Frames written so far. */
    public val framesWritten: Long get() = nextTick - startTick

    /**
     * Writes [tick] to [writer]: silence for the ticks skipped since the last call, then [pcm] (null: silence for
     * this tick too). A frame of the wrong length is padded with zeros or cut. Returns false, writing nothing, for a
     * tick before [startTick] or not after the previous one.
     */
    public fun next(tick: Long, pcm: ShortArray?, writer: TrackWriter): Boolean {
        if (tick < nextTick) return false
        val silent = tick - nextTick + if (pcm == null) 1 else 0
        if (silent > 0) writer.silence(silent)
        if (pcm != null) writer.audio(if (pcm.size == frameSize) pcm else fit(pcm))
        nextTick = tick + 1
        return true
    }

    /** Pads the track with silence through [lastTick], the recording's last tick, so every track ends together. */
    public fun finish(lastTick: Long, writer: TrackWriter) {
        if (lastTick < nextTick) return
        writer.silence(lastTick - nextTick + 1)
        nextTick = lastTick + 1
    }

    private fun fit(pcm: ShortArray): ShortArray {
        val n = minOf(pcm.size, frameSize)
        System.arraycopy(pcm, 0, scratch, 0, n)
        scratch.fill(0, n, frameSize)
        return scratch
    }
}
