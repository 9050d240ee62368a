package dev.earshot.voice.kord

import dev.kord.common.entity.Snowflake
import dev.kord.gateway.UpdateVoiceStatus
import io.kotest.assertions.throwables.shouldThrow
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.collections.shouldContainExactly
import io.kotest.matchers.shouldBe
import io.kotest.matchers.string.shouldContain
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.async
import kotlinx.coroutines.cancelAndJoin
import kotlinx.coroutines.test.advanceTimeBy
import kotlinx.coroutines.test.currentTime
import kotlinx.coroutines.test.runCurrent
import kotlinx.coroutines.test.runTest
import kotlin.time.Duration.Companion.seconds

/**
 * The join flow in virtual time against a [FakeGateway] that never lets a voice socket open: timeouts name what
 * Discord did not send, and every failed or abandoned join sends the leave. No network.
 */
class KordVoiceSpec : FunSpec({
    val guild = Snowflake(111)
    val channel = Snowflake(222)
    val bot = 999L

    fun UpdateVoiceStatus.describe() = "op4 guild=${guildId.value} channel=${channelId?.value} mute=$selfMute deaf=$selfDeaf"

    test("Discord never answers: the join times out after joinTimeout naming both events, and the leave is sent") {
        runTest {
            val gateway = FakeGateway(bot)
            val voice = KordVoice(Snowflake(bot), { gateway }, backgroundScope, joinTimeout = 7.seconds)
            val e = shouldThrow<VoiceJoinTimeoutException> { voice.connect(guild, channel, selfDeaf = true) }
            currentTime shouldBe 7_000L
            e.missing shouldContainExactly listOf("VOICE_STATE_UPDATE", "VOICE_SERVER_UPDATE")
            e.guildId shouldBe guild
            e.message!! shouldContain "no VOICE_STATE_UPDATE and VOICE_SERVER_UPDATE for guild 111 within 7s"
            gateway.voiceCommands.map { it.describe() } shouldContainExactly listOf(
                "op4 guild=111 channel=222 mute=false deaf=true",
                "op4 guild=111 channel=null mute=false deaf=false",
            )
            voice.connections shouldBe emptyMap()
            voice.isAlive shouldBe true
        }
    }

    test("the timeout names the one event that did not come; a null endpoint does not count as a server, nor another user's state") {
        runTest {
            val gateway = FakeGateway(bot)
            gateway.onSend = { c -> if (c is UpdateVoiceStatus && c.channelId != null) gateway.voiceState(111, 222, "s") }
            val voice = KordVoice(Snowflake(bot), { gateway }, backgroundScope)
            shouldThrow<VoiceJoinTimeoutException> { voice.connect(guild, channel) }.missing shouldContainExactly listOf("VOICE_SERVER_UPDATE")
            currentTime shouldBe 10_000L // the default

            gateway.onSend = { c ->
                if (c is UpdateVoiceStatus && c.channelId != null) {
                    gateway.voiceServer(111, "token", null) // allocating: wait for the next one
                    gateway.voiceState(111, 222, "s", user = 5) // someone else
                    gateway.voiceState(112, 222, "s") // another guild
                    gateway.voiceState(111, 333, "s") // an older state in another channel
                }
            }
            val e = shouldThrow<VoiceJoinTimeoutException> { voice.connect(guild, channel) }
            e.missing shouldContainExactly listOf("VOICE_STATE_UPDATE", "VOICE_SERVER_UPDATE")
            gateway.voiceCommands.count { it.channelId == null } shouldBe 2
        }
    }

    test("a join cancelled while waiting sends the leave") {
        runTest {
            val gateway = FakeGateway(bot)
            val voice = KordVoice(Snowflake(bot), { gateway }, backgroundScope)
            val pending = async(SupervisorJob(), start = CoroutineStart.UNDISPATCHED) { voice.connect(guild, channel) }
            advanceTimeBy(3_000)
            runCurrent()
            gateway.voiceCommands.size shouldBe 1
            pending.cancelAndJoin()
            gateway.voiceCommands.map { it.channelId } shouldContainExactly listOf(channel, null)
        }
    }

    test("close with nothing connected succeeds; afterwards the manager is dead and refuses to connect") {
        runTest {
            val gateway = FakeGateway(bot)
            val voice = KordVoice(Snowflake(bot), { gateway }, backgroundScope)
            voice.close()
            voice.isAlive shouldBe false
            shouldThrow<IllegalStateException> { voice.connect(guild, channel) }.message shouldBe "this KordVoice is closed"
            gateway.sent shouldBe emptyList()
        }
    }

    test("shards: (guild id >> 22) mod the shard count") {
        shardOf(Snowflake(111), 1) shouldBe 0
        shardOf(Snowflake(81384788765712384L), 4) shouldBe ((81384788765712384L shr 22) % 4).toInt()
        shardOf(Snowflake((7L shl 22) or 12345), 5) shouldBe 2
        shouldThrow<IllegalArgumentException> { shardOf(Snowflake(1), 0) }
    }
})
