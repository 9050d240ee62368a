package dev.earshot.releasecheck

import dev.earshot.voice.testkit.MemberScript
import dev.earshot.voice.testkit.TestServerConfig
import dev.earshot.voice.testkit.VoiceGrant
import dev.earshot.voice.testkit.VoiceTestServer
import kotlin.time.Duration.Companion.milliseconds

/**
 * The embedded voice server, set up for Java: voice-testkit's scripts take kotlin.time durations, which Java cannot
 * pass, so this small Kotlin file starts the server and puts a speaking member in the channel.
 */
class EmbeddedServer private constructor(private val server: VoiceTestServer, private val grant: VoiceGrant) : AutoCloseable {
    val sessionId: String get() = grant.sessionId
    val token: String get() = grant.token
    val endpoint: String get() = grant.endpoint

    override fun close() = server.close()

    companion object {
        const val GUILD: Long = 100
        const val CHANNEL: Long = 200
        const val BOT: Long = 999

        /** A server (plain ws://, DAVE on) with member [speakerId] playing a 440 Hz tone for [toneMillis] ms. */
        @JvmStatic
        fun startWithToneSpeaker(speakerId: Long, toneMillis: Long): EmbeddedServer {
            val server = VoiceTestServer.start(TestServerConfig())
            val grant = server.grant(GUILD.toString(), CHANNEL.toString(), BOT.toString())
            server.channel(GUILD.toString(), CHANNEL.toString()).addMember(speakerId.toString(), MemberScript {
                awaitDave()
                tone(440.0, toneMillis.milliseconds)
            })
            return EmbeddedServer(server, grant)
        }
    }
}
