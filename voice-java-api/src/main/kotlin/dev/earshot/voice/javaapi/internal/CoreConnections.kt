package dev.earshot.voice.javaapi.internal

import dev.earshot.voice.connection.VoiceConnection
import java.util.function.Function

/**
 * For Earshot's modules built on the Java face (voice-kafka, for one): the voice-core connection behind a
 * `JavaVoiceConnection`, so such a module can offer Java callers features that follow the connection itself (its
 * state changes). Not an API for applications. `JavaVoiceConnection` hands its accessor over here when loaded; typed
 * loosely so that this package does not depend back on the face's (no package cycle).
 */
public object CoreConnections {
    private const val JAVA_CONNECTION = "dev.earshot.voice.javaapi.JavaVoiceConnection"

    @Volatile
    private var opener: Function<Any, VoiceConnection>? = null

    /** Called once, by `JavaVoiceConnection` as it is loaded. */
    @JvmStatic
    public fun install(opener: Function<Any, VoiceConnection>) {
        this.opener = opener
    }

    /** The voice-core connection of [javaConnection] (a `JavaVoiceConnection`). */
    @JvmStatic
    public fun of(javaConnection: Any): VoiceConnection {
        val o = opener ?: Class.forName(JAVA_CONNECTION, true, CoreConnections::class.java.classLoader).let { opener }
        return checkNotNull(o) { "$JAVA_CONNECTION did not install its accessor" }.apply(javaConnection)
    }
}
