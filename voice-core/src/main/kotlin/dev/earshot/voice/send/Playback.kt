package dev.earshot.voice.send

/**
 * A handle on one [AudioPlayer.play]: wait for it, stop it, ask whether it still runs.
 */
public sealed interface Playback {
    /** True until the playback has finished: its frames, its silence tail and the speaking(0) update are done. */
    public val isActive: Boolean

    /**
     * Suspends until the playback has finished: the source ended, or it was stopped or replaced, or the player was
     * closed. Throws the source's exception if the source failed (or an [IllegalArgumentException] if it gave a
     * frame that is not a 20 ms Opus packet). Cancelling the caller does not stop the playback.
     */
    public suspend fun await()

    /**
     * Stops the playback: no further frame is taken from the source; the five silence frames and speaking(0) still
     * follow if audio was sent. Returns at once; [await] returns when it is done. Does nothing once finished.
     */
    public fun stop()
}
