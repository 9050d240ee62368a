package dev.earshot.releasecheck

import dev.earshot.voice.testkit.MemberScript
import dev.earshot.voice.testkit.ScriptedMember
import dev.earshot.voice.testkit.TestServerConfig
import dev.earshot.voice.testkit.VoiceGrant
import dev.earshot.voice.testkit.VoiceTestServer
import kotlin.time.Duration.Companion.milliseconds
import kotlinx.coroutines.runBlocking

/**
 * The embedded voice server, set up for Java: voice-testkit's scripts take kotlin.time durations, which Java cannot
 * pass, so this small Kotlin file starts the server and puts a speaking member in the channel.
 */
class EmbeddedServer private constructor(private val server: VoiceTestServer, private val grant: VoiceGrant) : AutoCloseable {
    val sessionId: String get() = grant.sessionId
    val token: String get() = grant.token
    val endpoint: String get() = grant.endpoint

    override fun close() = server.close()

    @Volatile private var speaker: ScriptedMember? = null

    /** Puts member [speakerId] in the channel, playing a 440 Hz tone for [toneMillis] ms once DAVE is keyed. */
    fun addToneSpeaker(speakerId: Long, toneMillis: Long) {
        speaker = server.channel(GUILD.toString(), CHANNEL.toString()).addMember(speakerId.toString(), MemberScript {
            awaitDave()
            tone(440.0, toneMillis.milliseconds)
        })
    }

    /** Blocks until the speaker has sent its whole tone and silence tail (at most [timeoutMillis] ms). */
    fun awaitSpeakerFinished(timeoutMillis: Long) {
        val member = checkNotNull(speaker) { "no speaker added" }
        runBlocking { member.awaitFinished(timeoutMillis.milliseconds) }
    }

    companion object {
        const val GUILD: Long = 100
        const val CHANNEL: Long = 200
        const val BOT: Long = 999

        /** A server on 127.0.0.1 (plain ws://, DAVE offered) with a grant for [BOT] in [CHANNEL]. */
        @JvmStatic
        fun start(): EmbeddedServer {
            val server = VoiceTestServer.start(TestServerConfig())
            return EmbeddedServer(server, server.grant(GUILD.toString(), CHANNEL.toString(), BOT.toString()))
        }
    }
}
