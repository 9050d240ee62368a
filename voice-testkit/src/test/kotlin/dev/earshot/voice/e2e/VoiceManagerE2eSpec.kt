package dev.earshot.voice.e2e

import dev.earshot.voice.connection.VoiceConnectionConfig
import dev.earshot.voice.manager.MainGatewayLink
import dev.earshot.voice.manager.VoiceManager
import dev.earshot.voice.manager.VoiceManagerCloseException
import dev.earshot.voice.manager.VoiceManagerJoinTimeoutException
import dev.earshot.voice.testkit.MemberScript
import dev.earshot.voice.testkit.TestServerConfig
import dev.earshot.voice.testkit.VoiceTestServer
import io.kotest.assertions.throwables.shouldThrow
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.collections.shouldContain
import io.kotest.matchers.shouldBe
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.cancel
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.filterIsInstance
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.launch
import kotlinx.coroutines.withTimeout
import java.util.Collections
import kotlin.time.Duration.Companion.milliseconds
import kotlin.time.Duration.Companion.seconds

/**
 * [VoiceManager] (connections by guild for bots without Kord or JDA) against the testkit, which also plays Discord's
 * main gateway: op 4 sent through the link is answered with the bot's voice state and the server update.
 */
class VoiceManagerE2eSpec : FunSpec({
    val bot = 999L
    val scope = CoroutineScope(SupervisorJob() + Dispatchers.Default)
    afterSpec { scope.cancel() }

    /** A link answering op 4 from [server] (join: state + server update; leave: nothing), recording every call. */
    class FakeDiscord(val server: VoiceTestServer, val failLeaves: Set<Long> = emptySet()) {
        val calls: MutableList<Pair<Long, Long?>> = Collections.synchronizedList(ArrayList())
        lateinit var manager: VoiceManager
        val link = MainGatewayLink { guild, channel, _, _ ->
            calls += guild to channel
            if (channel == null) {
                if (guild in failLeaves) error("the main gateway is down")
                return@MainGatewayLink
            }
            val grant = server.grant(guild.toString(), channel.toString(), bot.toString())
            scope.launch {
                manager.onVoiceStateUpdate(guild, bot, channel, grant.sessionId)
                manager.onVoiceServerUpdate(guild, grant.token, grant.endpoint)
            }
        }
    }

    fun config(server: VoiceTestServer) = VoiceConnectionConfig { secure = server.config.tls }

    test("connections by guild: connect, audio, disconnect one, disconnect all, close") {
        VoiceTestServer.start(TestServerConfig(daveProtocolVersion = 1, seed = 3)).use { server ->
            val discord = FakeDiscord(server)
            val manager = VoiceManager(bot, discord.link, scope, joinTimeout = 10.seconds, defaultConfig = config(server))
            discord.manager = manager
            val a = manager.connect(1L, 11L)
            val b = manager.connect(2L, 22L)
            val c = manager.connect(3L, 33L)
            manager.connections.keys shouldBe setOf(1L, 2L, 3L)
            manager.connect(2L, 22L) shouldBe b // the same channel: the live connection

            server.channel("2", "22").addMember("501", MemberScript { awaitDave(); tone(440.0, 400.milliseconds) })
            withTimeout(20.seconds) { b.receiver.frames(501L).first() }

            manager.disconnect(1L)
            a.isAlive shouldBe false
            manager.connections.keys shouldBe setOf(2L, 3L)
            discord.calls shouldContain (1L to null)

            manager.disconnectAll()
            b.isAlive shouldBe false
            c.isAlive shouldBe false
            manager.connections shouldBe emptyMap()
            manager.close()
            manager.isAlive shouldBe false
            shouldThrow<IllegalStateException> { manager.connect(4L, 44L) }
        }
    }

    test("a join Discord never answers times out, naming what is missing, and sends the leave") {
        VoiceTestServer.start(TestServerConfig(seed = 4)).use { server ->
            val calls = Collections.synchronizedList(ArrayList<Long?>())
            val manager = VoiceManager(bot, { _, channel, _, _ -> calls += channel }, scope, joinTimeout = 300.milliseconds, defaultConfig = config(server))
            val e = shouldThrow<VoiceManagerJoinTimeoutException> { manager.connect(7L, 77L) }
            e.missing shouldBe listOf("VOICE_STATE_UPDATE", "VOICE_SERVER_UPDATE")
            calls.toList() shouldBe listOf(77L, null)
            manager.connections shouldBe emptyMap()
            manager.close()
        }
    }

    test("close tries every guild and aggregates the failures; the connections are closed anyway") {
        VoiceTestServer.start(TestServerConfig(seed = 5)).use { server ->
            val discord = FakeDiscord(server, failLeaves = setOf(1L, 3L))
            val manager = VoiceManager(bot, discord.link, scope, defaultConfig = config(server))
            discord.manager = manager
            val conns = (1L..3L).map { manager.connect(it, it * 10) }
            val e = shouldThrow<VoiceManagerCloseException> { manager.close() }
            e.failures.keys shouldBe setOf(1L, 3L)
            e.suppressed.size shouldBe 2
            conns.forEach { it.isAlive shouldBe false }
            manager.connections shouldBe emptyMap()
        }
    }

    test("a connection that ends by itself (the bot removed from its channel) leaves the map") {
        VoiceTestServer.start(TestServerConfig(seed = 6)).use { server ->
            val discord = FakeDiscord(server)
            val manager = VoiceManager(bot, discord.link, scope, defaultConfig = config(server))
            discord.manager = manager
            val c = manager.connect(5L, 55L)
            // The bot is removed from the channel (a kick): the main gateway's state update has no channel.
            manager.onVoiceStateUpdate(5L, bot, null, "gone")
            withTimeout(10.seconds) { c.awaitClosed() }
            withTimeout(10.seconds) { while (manager.connections.isNotEmpty()) delay(10) }
            c.state.filterIsInstance<dev.earshot.voice.connection.VoiceConnectionState.Closed>().first()
            manager.close()
        }
    }
})
