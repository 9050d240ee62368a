package dev.earshot.voice.audio

/**
 * Where a [TrackAligner] sends one user's continuous track: runs of silence as a count, audio as whole frames, so a
 * writer can emit silence without building zero arrays.
 */
public interface TrackWriter {
    /** Appends [frames] frames (20 ms each, all channels) of silence; [frames] is at least 1. */
    public fun silence(frames: Long)

    /**
     * Appends one frame: exactly `samplesPerFrame * channels` interleaved shorts of the aligner's format. The array
     * is only valid during the call (it may be the aligner's scratch buffer).
     */
    public fun audio(frame: ShortArray)
}
