package dev.earshot.voice.javaapi.internal

import dev.earshot.voice.sink.AudioSink
import java.util.function.Function

/**
 * For Earshot's modules built on the Java face (voice-transcribe's ordered transcript sink, for one): turns a sink
 * written in Kotlin into a `VoiceSink` a Java caller can listen to. Not an API for applications: the face's own
 * factories are in `Sinks`. `VoiceSink`'s constructor stays package-private; it hands itself over here when loaded.
 * Typed loosely so that this package does not depend back on the face's (no package cycle).
 */
public object CoreSinks {
    private const val VOICE_SINK = "dev.earshot.voice.javaapi.VoiceSink"

    @Volatile
    private var maker: Function<AudioSink, Any>? = null

    /** Called once, by `VoiceSink` as it is loaded. */
    @JvmStatic
    public fun install(maker: Function<AudioSink, Any>) {
        this.maker = maker
    }

    /** [sink] as a `VoiceSink` ([T] is `VoiceSink`). */
    @JvmStatic
    public fun <T : Any> wrap(sink: AudioSink): T {
        // Loading VoiceSink runs its static initializer, which installs the maker.
        val m = maker ?: Class.forName(VOICE_SINK, true, CoreSinks::class.java.classLoader).let { maker }
        @Suppress("UNCHECKED_CAST")
        return checkNotNull(m) { "$VOICE_SINK did not install its maker" }.apply(sink) as T
    }
}
