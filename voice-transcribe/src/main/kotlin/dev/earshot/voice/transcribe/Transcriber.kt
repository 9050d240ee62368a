package dev.earshot.voice.transcribe

/**
 * The seam a speech engine plugs into: turns one user's [SpeechClip] (16 kHz mono PCM) into a [Recognition].
 *
 * [Transcription] calls it on one of its worker threads, never on the receive path, one clip per call; with more
 * than one worker the same instance is called concurrently, so it must be thread-safe (or hold a lock, or keep
 * per-thread state). It may block as long as the engine needs; it should give up by itself after a bound of its own
 * (as [PocketSphinxTranscriber] does) rather than block forever. Throwing fails only that clip (counted). A
 * transcriber that is also [AutoCloseable] is closed by [Transcription.close].
 *
 * [PocketSphinxTranscriber] is the built-in engine; Vosk, whisper.cpp (through a JNI binding) or a remote service
 * plug in the same way, with a model their user supplies.
 */
public fun interface Transcriber {
    /** Recognises [clip]'s speech. */
    @Throws(Exception::class)
    public fun transcribe(clip: SpeechClip): Recognition
}
