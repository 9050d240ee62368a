package dev.earshot.voice.javaapi.internal

import dev.earshot.voice.sink.AudioSink
import java.util.function.Function

/**
 * For Earshot's modules built on the Java face (voice-transcribe's ordered transcript sink, voice-kafka's sinks):
 * turns a sink written in Kotlin into a `VoiceSink` a Java caller can listen to, and a Java caller's `VoiceSink` back
 * into the sink it wraps (for a module that runs it itself, as voice-kafka's worker does). Not an API for
 * applications: the face's own factories are in `Sinks`. `VoiceSink`'s constructor stays package-private; it hands
 * itself over here when loaded. Typed loosely so that this package does not depend back on the face's (no package
 * cycle).
 */
public object CoreSinks {
    private const val VOICE_SINK = "dev.earshot.voice.javaapi.VoiceSink"

    @Volatile
    private var maker: Function<AudioSink, Any>? = null

    @Volatile
    private var opener: Function<Any, AudioSink>? = null

    /** Called once, by `VoiceSink` as it is loaded: [maker] wraps a sink, [opener] unwraps one. */
    @JvmStatic
    public fun install(maker: Function<AudioSink, Any>, opener: Function<Any, AudioSink>) {
        this.maker = maker
        this.opener = opener
    }

    /** [sink] as a `VoiceSink` ([T] is `VoiceSink`). */
    @JvmStatic
    public fun <T : Any> wrap(sink: AudioSink): T {
        // Loading VoiceSink runs its static initializer, which installs the maker.
        val m = maker ?: Class.forName(VOICE_SINK, true, CoreSinks::class.java.classLoader).let { maker }
        @Suppress("UNCHECKED_CAST")
        return checkNotNull(m) { "$VOICE_SINK did not install its maker" }.apply(sink) as T
    }

    /** The sink a `VoiceSink` ([voiceSink]) wraps. */
    @JvmStatic
    public fun unwrap(voiceSink: Any): AudioSink {
        val o = opener ?: Class.forName(VOICE_SINK, true, CoreSinks::class.java.classLoader).let { opener }
        return checkNotNull(o) { "$VOICE_SINK did not install its opener" }.apply(voiceSink)
    }
}
