package dev.earshot.voice.javaapi.internal

import dev.earshot.voice.javaapi.VoiceSink
import dev.earshot.voice.sink.AudioSink
import java.util.function.Function

/**
 * For Earshot's modules built on the Java face (voice-transcribe's ordered transcript sink, for one): turns a sink
 * written in Kotlin into a [VoiceSink] a Java caller can listen to. Not an API for applications: the face's own
 * factories are in `Sinks`. [VoiceSink]'s constructor stays package-private; it hands itself over here when loaded.
 */
public object CoreSinks {
    @Volatile
    private var maker: Function<AudioSink, VoiceSink>? = null

    /** Called once, by [VoiceSink] as it is loaded. */
    @JvmStatic
    public fun install(maker: Function<AudioSink, VoiceSink>) {
        this.maker = maker
    }

    /** [sink] as a [VoiceSink]. */
    @JvmStatic
    public fun wrap(sink: AudioSink): VoiceSink {
        // Loading VoiceSink runs its static initializer, which installs the maker.
        val m = maker ?: Class.forName(VoiceSink::class.java.name, true, VoiceSink::class.java.classLoader).let { maker }
        return checkNotNull(m) { "VoiceSink did not install its maker" }.apply(sink)
    }
}
