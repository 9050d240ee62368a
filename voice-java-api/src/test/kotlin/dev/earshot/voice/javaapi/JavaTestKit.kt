package dev.earshot.voice.javaapi

import dev.earshot.voice.testkit.MemberScript
import dev.earshot.voice.testkit.ScriptedMember
import dev.earshot.voice.testkit.TestServerConfig
import dev.earshot.voice.testkit.VoiceTestServer
import kotlin.time.Duration.Companion.milliseconds

/**
 * The testkit calls the Java tests need, in a shape Java can call: the testkit's own API takes `kotlin.time.Duration`
 * (a value class, invisible to Java), so the Java tests come here for servers and scripted members.
 */
object JavaTestKit {
    const val GUILD: Long = 111
    const val CHANNEL: Long = 222
    const val BOT: Long = 999

    /** A local voice server on 127.0.0.1 without TLS; without DAVE unless [requireDave] (then 4017 for clients without it). */
    @JvmStatic
    fun startServer(requireDave: Boolean): VoiceTestServer =
        VoiceTestServer.start(TestServerConfig(daveProtocolVersion = if (requireDave) 1 else 0, requireDave = requireDave, seed = 11))

    /** The bot's session details on [server]. */
    @JvmStatic
    fun sessionInfo(server: VoiceTestServer): SessionInfo {
        val g = server.grant(GUILD.toString(), CHANNEL.toString(), BOT.toString())
        return SessionInfo(GUILD, CHANNEL, BOT, g.sessionId, g.token, g.endpoint)
    }

    /** A transport-only member who says [spurts] tones of [toneMillis] ms at [hz], 400 ms apart. */
    @JvmStatic
    fun toneMember(server: VoiceTestServer, userId: Long, hz: Double, toneMillis: Long, spurts: Int): ScriptedMember =
        server.channel(GUILD.toString(), CHANNEL.toString()).addMember(
            userId.toString(),
            MemberScript {
                repeat(spurts) {
                    tone(hz, toneMillis.milliseconds)
                    pause(400.milliseconds)
                }
            },
            dave = false,
        )

    /** A transport-only member who says nothing. */
    @JvmStatic
    fun silentMember(server: VoiceTestServer, userId: Long): ScriptedMember =
        server.channel(GUILD.toString(), CHANNEL.toString()).addMember(userId.toString(), MemberScript.SILENT, dave = false)

    /** A new grant for the bot in the same channel and voice session [sessionId], as a VOICE_SERVER_UPDATE would bring. */
    @JvmStatic
    fun regrant(server: VoiceTestServer, sessionId: String): SessionInfo {
        val g = server.grant(GUILD.toString(), CHANNEL.toString(), BOT.toString(), sessionId)
        return SessionInfo(GUILD, CHANNEL, BOT, g.sessionId, g.token, g.endpoint)
    }

    /** Makes the server close the bot's WebSocket with [code]. */
    @JvmStatic
    fun closeBot(server: VoiceTestServer, code: Int) {
        checkNotNull(server.session(GUILD.toString(), BOT.toString())) { "no bot session" }.closeConnection(code, "test")
    }
}
