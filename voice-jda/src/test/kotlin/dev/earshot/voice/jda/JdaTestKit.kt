package dev.earshot.voice.jda

import dev.earshot.voice.testkit.MemberScript
import dev.earshot.voice.testkit.ScriptedMember
import dev.earshot.voice.testkit.TestServerConfig
import dev.earshot.voice.testkit.VoiceGrant
import dev.earshot.voice.testkit.VoiceTestServer
import kotlinx.coroutines.delay
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import kotlin.time.Duration.Companion.milliseconds
import kotlin.time.Duration.Companion.seconds

/**
 * The testkit calls the Java tests need, in a shape Java can call (the testkit's own API takes `kotlin.time.Duration`
 * and suspends): servers, grants, scripted members and waits.
 */
object JdaTestKit {
    /** A local voice server on 127.0.0.1 without TLS, offering DAVE. */
    @JvmStatic
    fun startServer(): VoiceTestServer = VoiceTestServer.start(TestServerConfig(seed = 3))

    /** The bot's grant in [channel] of [guild] for the main-gateway session [sessionId]. */
    @JvmStatic
    fun grant(server: VoiceTestServer, guild: Long, channel: Long, sessionId: String): VoiceGrant =
        server.grant(guild.toString(), channel.toString(), FakeDiscord.BOT.toString(), sessionId)

    /** Moves the server to a new endpoint; the bot's new grant there in [guild]. */
    @JvmStatic
    fun moveEndpoint(server: VoiceTestServer, guild: Long): VoiceGrant =
        server.moveEndpoint().single { it.userId == FakeDiscord.BOT.toString() && it.guildId == guild.toString() }

    /** A DAVE member who, once it has its key, sends a tone of [hz] for [millis] ms. */
    @JvmStatic
    fun toneMember(server: VoiceTestServer, guild: Long, channel: Long, userId: Long, hz: Double, millis: Long): ScriptedMember =
        server.channel(guild.toString(), channel.toString()).addMember(userId.toString(), MemberScript {
            awaitDave()
            tone(hz, millis.milliseconds)
        })

    /** The audio (non-silence) frames [member] has sent so far. */
    @JvmStatic
    fun sentAudio(member: ScriptedMember): Int = member.sent.count { !it.isSilence }

    /** Waits (at most 30 s) until [member] has sent [frames] frames. */
    @JvmStatic
    fun awaitSent(member: ScriptedMember, frames: Int) = runBlocking {
        withTimeout(30.seconds) { while (member.sent.size < frames) delay(5) }
    }

    /** Waits until [member]'s script has finished. */
    @JvmStatic
    fun awaitFinished(member: ScriptedMember) = runBlocking { member.awaitFinished() }

    /** The channel of the bot's voice session in [guild] on [server], or null without one. */
    @JvmStatic
    fun botChannel(server: VoiceTestServer, guild: Long): String? =
        server.session(guild.toString(), FakeDiscord.BOT.toString())?.channelId

    /** The endpoint of the bot's voice session in [guild], or null without one. */
    @JvmStatic
    fun botEndpoint(server: VoiceTestServer, guild: Long): String? =
        server.session(guild.toString(), FakeDiscord.BOT.toString())?.grant?.endpoint

    /** The main-gateway session id the bot's voice session in [guild] identified with, or null. */
    @JvmStatic
    fun botSessionId(server: VoiceTestServer, guild: Long): String? =
        server.session(guild.toString(), FakeDiscord.BOT.toString())?.grant?.sessionId

    /** Makes the server close the bot's voice WebSocket in [guild] with [code]. */
    @JvmStatic
    fun closeBot(server: VoiceTestServer, guild: Long, code: Int) {
        checkNotNull(server.session(guild.toString(), FakeDiscord.BOT.toString())) { "no bot session" }.closeConnection(code, "test")
    }
}
