package dev.earshot.voice.kord

import dev.earshot.voice.ReceiveConfig
import dev.earshot.voice.codec.PcmFormat
import dev.earshot.voice.connection.VoiceChannelLeftException
import dev.earshot.voice.connection.VoiceConnection
import dev.earshot.voice.connection.VoiceConnectionConfig
import dev.earshot.voice.connection.VoiceConnectionState
import dev.earshot.voice.model.AudioFrame
import dev.earshot.voice.model.FrameKind
import dev.earshot.voice.sink.RecordingSinks
import dev.earshot.voice.testkit.MemberScript
import dev.earshot.voice.testkit.ScriptedMember
import dev.earshot.voice.testkit.TestServerConfig
import dev.earshot.voice.testkit.VoiceTestServer
import dev.kord.common.entity.Snowflake
import io.kotest.assertions.throwables.shouldThrow
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.collections.shouldContainExactly
import io.kotest.matchers.ints.shouldBeGreaterThan
import io.kotest.matchers.longs.shouldBeGreaterThan
import io.kotest.matchers.shouldBe
import io.kotest.matchers.string.shouldContain
import io.kotest.matchers.types.shouldBeInstanceOf
import io.kotest.matchers.types.shouldBeSameInstanceAs
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.Deferred
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitAll
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import java.io.IOException
import java.nio.file.Files
import kotlin.time.Duration.Companion.milliseconds
import kotlin.time.Duration.Companion.seconds

private const val GUILD = 111L
private const val CHANNEL = 222L
private const val OTHER_CHANNEL = 223L
private const val BOT = 999L

/** A testkit voice server, a fake Kord gateway answering op 4 with its grants, and a [KordVoice] on top. */
private class Rig(config: TestServerConfig = TestServerConfig(seed = 3)) : AutoCloseable {
    val server = VoiceTestServer.start(config)
    val gateway = FakeGateway(BOT)
    val discord = FakeDiscord(server, gateway, BOT)
    val scope = CoroutineScope(Dispatchers.Default)
    val voice = KordVoice(Snowflake(BOT), { gateway }, scope, joinTimeout = 5.seconds, defaultConfig = VoiceConnectionConfig {
        secure = false
        receive = ReceiveConfig { decode = PcmFormat.STEREO_48K; tickQueueCapacity = 3000 }
        reconnectDelay = 100.milliseconds
    })

    suspend fun connect(guild: Long = GUILD, channel: Long = CHANNEL): VoiceConnection = voice.connect(Snowflake(guild), Snowflake(channel))

    fun botSession(guild: Long = GUILD) = server.session(guild.toString(), BOT.toString())

    override fun close() {
        runBlocking { runCatching { voice.close() } }
        server.close()
    }
}

private fun CoroutineScope.record(connection: VoiceConnection, user: Long): Deferred<List<AudioFrame>> =
    async(start = CoroutineStart.UNDISPATCHED) { connection.receiver.frames(user).toList() }

/** Waits until the receiver has played a silence frame: the member's closing ones, so all its audio came before. */
private suspend fun VoiceConnection.awaitPlayedOut() = withTimeout(10.seconds) { while (receiver.stats().silenceFrames == 0L) delay(10) }

private suspend fun ScriptedMember.awaitSent(frames: Int) = withTimeout(30.seconds) { while (sent.size < frames) delay(5) }

private suspend fun VoiceConnection.awaitConnected(endpoint: String? = null) = withTimeout(15.seconds) {
    state.first { it is VoiceConnectionState.Connected && (endpoint == null || it.endpoint == endpoint) }
}

/** Intact frames (the payload the member sent, decoded) among [received], matched by RTP sequence. */
private fun intact(member: ScriptedMember, received: List<AudioFrame>): Int {
    val sent = member.sent.filter { !it.isSilence }.associate { it.sequence to it.opus }
    return received.count { it.kind == FrameKind.DECODED && it.opus?.contentEquals(sent[it.sequence]) == true }
}

/**
 * KordVoice against a real (loopback) voice server through a fake Kord gateway: join, leave, reallocation, server and
 * channel moves mid-recording, kicks, concurrent joins and the aggregated close, in real time.
 */
class KordVoiceE2eSpec : FunSpec({
    test("connect: op 4 is answered inside send (so the events were subscribed first); the connection identifies with the grant") {
        Rig().use { rig ->
            runBlocking {
                val connection = rig.connect()
                connection.isAlive shouldBe true
                connection.state.value.shouldBeInstanceOf<VoiceConnectionState.Connected>()
                connection.session.sessionId shouldBe rig.discord.sessionId
                connection.session.channelId shouldBe CHANNEL
                connection.session.userId shouldBe BOT
                rig.voice.connections shouldBe mapOf(Snowflake(GUILD) to connection)
                connection.guildSnowflake shouldBe Snowflake(GUILD)
                connection.channelSnowflake shouldBe Snowflake(CHANNEL)
                val op4 = rig.gateway.voiceCommands.single()
                op4.guildId shouldBe Snowflake(GUILD)
                op4.channelId shouldBe Snowflake(CHANNEL)
                rig.botSession()!!.channelId shouldBe CHANNEL.toString()
            }
        }
    }

    test("disconnect closes the connection cleanly, sends the leave and forgets the guild") {
        Rig().use { rig ->
            runBlocking {
                val connection = rig.connect()
                rig.voice.disconnect(Snowflake(GUILD))
                connection.closed.await() shouldBe null
                rig.gateway.voiceCommands.map { it.channelId } shouldContainExactly listOf(Snowflake(CHANNEL), null)
                rig.voice.connections shouldBe emptyMap()
                withTimeout(5.seconds) { while (rig.botSession() != null) delay(10) }
                rig.voice.disconnect(Snowflake(GUILD)) // nothing left: no-op
                rig.gateway.voiceCommands.size shouldBe 2
            }
        }
    }

    test("reallocation: a server update without endpoint waits, the next one reconnects; same connection, recording continues") {
        Rig().use { rig ->
            runBlocking {
                val connection = rig.connect()
                val rec = record(connection, 1)
                val member = rig.server.channel(GUILD.toString(), CHANNEL.toString())
                    .addMember("1", MemberScript { awaitDave(); tone(440.0, 4.seconds) })
                member.awaitSent(50)
                rig.gateway.voiceServer(GUILD, "unused", null)
                withTimeout(5.seconds) { connection.state.first { it == VoiceConnectionState.WaitingForServer } }
                member.awaitSent(75)
                val grant = rig.server.moveEndpoint().single { it.userId == BOT.toString() }
                rig.gateway.voiceServer(GUILD, grant.token, grant.endpoint)
                connection.awaitConnected(grant.endpoint)
                member.awaitFinished()
                connection.awaitPlayedOut()
                connection.isAlive shouldBe true
                rig.voice.connections[Snowflake(GUILD)] shouldBeSameInstanceAs connection
                rig.voice.disconnect(Snowflake(GUILD))
                val frames = rec.await()
                val got = intact(member, frames)
                println("kord reallocation: ${member.sent.count { !it.isSilence }} sent, $got intact")
                // About 0.5 s was sent while no server was allocated; the rest arrives, before and after.
                got shouldBeGreaterThan 120
                frames.count { it.sequence > member.sent[100].sequence && it.kind == FrameKind.DECODED } shouldBeGreaterThan 50
            }
        }
    }

    test("server move mid-recording: the member keeps speaking, the recording sink keeps receiving across the move") {
        Rig().use { rig ->
            runBlocking {
                val connection = rig.connect()
                val dir = Files.createTempDirectory("earshot-kord")
                connection.listen(RecordingSinks.perUserWav(dir))
                val rec = record(connection, 1)
                val member = rig.server.channel(GUILD.toString(), CHANNEL.toString())
                    .addMember("1", MemberScript { awaitDave(); tone(440.0, 4.seconds) })
                member.awaitSent(75) // 1.5 s in
                val firstEndpoint = rig.server.endpoint
                val grant = rig.server.moveEndpoint().single { it.userId == BOT.toString() }
                (grant.endpoint != firstEndpoint) shouldBe true
                rig.gateway.voiceServer(GUILD, grant.token, grant.endpoint)
                connection.awaitConnected(grant.endpoint)
                rig.botSession()!!.grant.endpoint shouldBe grant.endpoint
                member.awaitFinished()
                connection.awaitPlayedOut()
                connection.isAlive shouldBe true
                rig.voice.disconnect(Snowflake(GUILD))
                val frames = rec.await()
                val sentAudio = member.sent.count { !it.isSilence }
                val got = intact(member, frames)
                println("kord server move: $sentAudio sent, $got intact")
                got * 100 / sentAudio shouldBeGreaterThan 80
                // Frames sent after the move (the last 2 s) were recorded too.
                frames.count { it.sequence > member.sent[130].sequence && it.kind == FrameKind.DECODED } shouldBeGreaterThan 50
                // The WAV track runs across the move: about 4 s of stereo 48 kHz 16-bit.
                (Files.size(dir.resolve("user-1.wav")) - 44) shouldBeGreaterThan (4L * 192_000 * 90 / 100)
            }
        }
    }

    test("channel move: connect to another channel moves the same connection; it re-identifies there, DAVE joins the new group, recording goes on") {
        Rig().use { rig ->
            runBlocking {
                val connection = rig.connect()
                val daveBefore = connection.dave!!
                // Kord's id type for the user; the flow is voice-core's frames(2).
                val rec = async(start = CoroutineStart.UNDISPATCHED) { connection.receiver.frames(Snowflake(2)).toList() }
                val moved = rig.voice.connect(Snowflake(GUILD), Snowflake(OTHER_CHANNEL))
                moved shouldBeSameInstanceAs connection
                withTimeout(15.seconds) {
                    while (rig.botSession()?.channelId != OTHER_CHANNEL.toString() || connection.state.value !is VoiceConnectionState.Connected) delay(10)
                }
                connection.session.channelId shouldBe OTHER_CHANNEL
                connection.channelSnowflake shouldBe Snowflake(OTHER_CHANNEL)
                (connection.dave !== daveBefore) shouldBe true
                val target = rig.server.channel(GUILD.toString(), OTHER_CHANNEL.toString())
                // A DAVE member of the new channel joins: its group forms with our new session (the testkit accepts
                // only commits and welcomes for that channel's group id), and the flow opened before the move records it.
                val member = target.addMember("2", MemberScript { awaitDave(); tone(660.0, 2.seconds) })
                val code = withTimeout(15.seconds) {
                    while (connection.dave?.privacyCode == null || connection.dave?.privacyCode != member.daveSession?.privacyCode) delay(10)
                    connection.dave!!.privacyCode
                }
                target.daveMembers.toSet() shouldBe setOf(BOT.toString(), "2")
                connection.memberSnowflakes shouldBe setOf(Snowflake(2))
                rig.server.channel(GUILD.toString(), CHANNEL.toString()).daveMembers shouldBe emptyList()
                member.awaitFinished()
                connection.awaitPlayedOut()
                val daveStats = connection.dave!!.stats()
                println("kord channel move: privacy code $code; Earshot $daveStats")
                daveStats.decrypted shouldBeGreaterThan 80L
                daveStats.decryptFailures shouldBe 0L
                rig.gateway.voiceCommands.map { it.channelId } shouldContainExactly listOf(Snowflake(CHANNEL), Snowflake(OTHER_CHANNEL))
                rig.voice.connect(Snowflake(GUILD), Snowflake(OTHER_CHANNEL)) shouldBeSameInstanceAs connection // same channel: returned as is
                rig.gateway.voiceCommands.size shouldBe 2
                rig.voice.disconnect(Snowflake(GUILD))
                intact(member, rec.await()) shouldBeGreaterThan 80 // of 100
            }
        }
    }

    test("moved by a moderator, with the old session's 4014 before the move's voice state: the connection follows to the new channel") {
        Rig().use { rig ->
            runBlocking {
                val connection = rig.connect()
                // Discord's order in the field: the voice server closes the old session first, the main gateway's
                // VOICE_STATE_UPDATE and VOICE_SERVER_UPDATE for the new channel come after.
                rig.botSession()!!.closeConnection(4014, "disconnected")
                // Waiting for the move (the grace), not closed.
                withTimeout(5.seconds) { connection.state.first { it == VoiceConnectionState.WaitingForServer } }
                connection.isAlive shouldBe true
                rig.gateway.voiceState(GUILD, OTHER_CHANNEL, rig.discord.sessionId)
                val grant = rig.server.grant(GUILD.toString(), OTHER_CHANNEL.toString(), BOT.toString(), rig.discord.sessionId)
                rig.gateway.voiceServer(GUILD, grant.token, grant.endpoint)
                withTimeout(15.seconds) {
                    while (rig.botSession()?.channelId != OTHER_CHANNEL.toString() || connection.state.value !is VoiceConnectionState.Connected) delay(10)
                }
                connection.isAlive shouldBe true
                connection.session.channelId shouldBe OTHER_CHANNEL
                rig.voice.connections[Snowflake(GUILD)] shouldBeSameInstanceAs connection
                rig.gateway.voiceCommands.size shouldBe 1 // we sent nothing: the move was someone else's
                rig.voice.disconnect(Snowflake(GUILD))
            }
        }
    }

    test("the bot removed from the channel (voice state without channel): the connection ends with VoiceChannelLeftException and leaves the manager, no leave sent") {
        Rig().use { rig ->
            runBlocking {
                val connection = rig.connect()
                rig.gateway.voiceState(GUILD, null, rig.discord.sessionId)
                val cause = withTimeout(5.seconds) { connection.awaitClosed() }
                cause.shouldBeInstanceOf<VoiceChannelLeftException>().channelId shouldBe CHANNEL
                withTimeout(5.seconds) { while (rig.voice.connections.isNotEmpty()) delay(5) }
                rig.gateway.voiceCommands.size shouldBe 1
                // The guild can be joined again.
                val again = rig.connect()
                (again !== connection) shouldBe true
                again.isAlive shouldBe true
            }
        }
    }

    test("concurrent connects for one guild: one join, one connection, both callers get it") {
        Rig().use { rig ->
            runBlocking {
                val results = (1..4).map { async(Dispatchers.Default) { rig.connect() } }.awaitAll()
                results.forEach { it shouldBeSameInstanceAs results[0] }
                rig.gateway.voiceCommands.size shouldBe 1
                rig.server.sessions.size shouldBe 1
            }
        }
    }

    test("close tries every guild and reports each failure together; the connections are closed anyway") {
        Rig().use { rig ->
            runBlocking {
                val a = rig.connect(GUILD, CHANNEL)
                val b = rig.connect(GUILD + 1, CHANNEL + 1)
                val c = rig.connect(GUILD + 2, CHANNEL + 2)
                rig.voice.connections.size shouldBe 3
                // The gateway refuses leaves from now on (a shard that went away).
                rig.gateway.leaveFailure = IOException("shard gateway is closed")
                val e = shouldThrow<KordVoiceCloseException> { rig.voice.close() }
                e.failures.keys shouldBe setOf(Snowflake(GUILD), Snowflake(GUILD + 1), Snowflake(GUILD + 2))
                e.failures.values.forEach { it.shouldBeInstanceOf<IOException>().message shouldBe "shard gateway is closed" }
                e.suppressed.size shouldBe 3
                e.message!! shouldContain "guild $GUILD: java.io.IOException: shard gateway is closed"
                listOf(a, b, c).forEach { it.isAlive shouldBe false }
                rig.voice.connections shouldBe emptyMap()
                rig.voice.isAlive shouldBe false
            }
        }
    }

    test("disconnectAll with every leave working throws nothing and empties the manager, which stays usable") {
        Rig().use { rig ->
            runBlocking {
                val a = rig.connect(GUILD, CHANNEL)
                val b = rig.connect(GUILD + 1, CHANNEL + 1)
                rig.voice.disconnectAll()
                a.closed.await() shouldBe null
                b.closed.await() shouldBe null
                rig.voice.connections shouldBe emptyMap()
                rig.voice.isAlive shouldBe true
                rig.gateway.voiceCommands.count { it.channelId == null } shouldBe 2
                rig.connect().isAlive shouldBe true
            }
        }
    }
})
