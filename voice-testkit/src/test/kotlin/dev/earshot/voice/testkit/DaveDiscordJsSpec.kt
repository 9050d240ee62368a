package dev.earshot.voice.testkit

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.collections.shouldContainExactly
import io.kotest.matchers.shouldBe
import io.kotest.matchers.shouldNotBe
import kotlin.time.Duration
import kotlin.time.Duration.Companion.seconds
import kotlinx.coroutines.delay
import kotlinx.coroutines.withTimeout
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.JsonPrimitive

/**
 * The testkit as a DAVE voice gateway for real clients: @discordjs/voice 0.19.2 with @snazzah/davey 0.1.12 (OpenMLS),
 * over TLS. Two members form a group (op 25 → 26 → 27 → 28 → 29/30 → 23 → 22), one plays speech-nofec.opus and the
 * other records what it decrypts; a third member joins and leaves while it plays.
 */
class DaveDiscordJsSpec : FunSpec({
    test("two discord.js members run DAVE through the testkit; a third joins and leaves mid-way")
        .config(enabledOrReasonIf = { DiscordJsMember.enabledOrReason }, timeout = 120.seconds) {
            val played = TestAudio.stream("speech-nofec.opus").packets
            VoiceTestServer.start(TestServerConfig(tls = true)).use { server ->
                val channel = server.channel("1001", "2002")
                val speaker = DiscordJsMember.start(
                    server.grant("1001", "2002", "3003"), play = TestAudio.file("speech-nofec.opus"), subscribe = emptyList(),
                    extraArgs = listOf("--play-on-stdin"),
                )
                val listener = DiscordJsMember.start(server.grant("1001", "2002", "4004"), play = null, subscribe = listOf("3003"))
                speaker.use {
                    listener.use {
                        speaker.awaitConnection("ready")
                        listener.awaitConnection("ready")
                        awaitTrue("the first commit to execute") { channel.daveEpoch == 1L && channel.daveTransitions == 1L }
                        val firstA = speaker.awaitEvent { it.isTransition() }
                        val firstB = listener.awaitEvent { it.isTransition() }
                        firstA["id"] shouldBe firstB["id"]
                        firstA.str("privacyCode") shouldBe firstB.str("privacyCode")
                        firstA.str("privacyCode")!!.length shouldBe 30
                        server.session("1001", "3003")!!.daveProtocolVersion shouldBe 1
                        channel.daveMembers.toSet() shouldBe setOf("3003", "4004")

                        val fromSpeaker = server.session("1001", "3003")!!
                        speaker.sendLine("play")
                        fromSpeaker.awaitReceived(60, 20.seconds)
                        val joinStart = fromSpeaker.received.size
                        val third = DiscordJsMember.start(server.grant("1001", "2002", "5005"), play = null, subscribe = emptyList())
                        val joinDone: Int
                        val leaveStart: Int
                        third.use {
                            awaitTrue("the third member's add") { channel.daveEpoch == 2L && channel.daveTransitions == 2L }
                            joinDone = fromSpeaker.received.size
                            channel.daveMembers.toSet() shouldBe setOf("3003", "4004", "5005")
                            fromSpeaker.awaitReceived(joinDone + 60, 20.seconds)
                            leaveStart = fromSpeaker.received.size
                            third.leave() shouldBe 0
                        }
                        awaitTrue("the third member's removal") { channel.daveEpoch == 3L && channel.daveTransitions == 3L }
                        val leaveDone = fromSpeaker.received.size
                        speaker.awaitEvent(30.seconds) { it.str("event") == "player" && it.str("to") == "idle" }
                        val toListener = server.session("1001", "4004")!!
                        awaitTrue("every packet forwarded") { toListener.stats.packetsOut >= fromSpeaker.received.size }
                        listener.leave() shouldBe 0

                        // The SFU relayed DAVE frames: every non-silence payload ends with the FA FA magic and none is
                        // one of the plaintext frames.
                        val relayed = fromSpeaker.received.filter { !it.isSilence }.map { it.opus }
                        relayed.size shouldBe played.size
                        relayed.count { it.size > 2 && it[it.size - 2] == MAGIC && it[it.size - 1] == MAGIC } shouldBe played.size
                        val plainSet = played.map { it.toList() }.toSet()
                        relayed.count { it.toList() in plainSet } shouldBe 0

                        // The listener decrypted them back to the played frames; frames lost around transitions are counted.
                        val heard = listener.received("3003").filter { it.size != 3 }.map { it.toList() }
                        heard.count { it !in plainSet } shouldBe 0
                        val lostAt = lostIndices(played.map { it.toList() }, heard)
                        val sizes = listOf(joinStart, joinDone, leaveStart, leaveDone)
                        val aroundJoin = lostAt.count { it in (joinStart - 10) until (joinDone + 50) }
                        val aroundLeave = lostAt.count { it in (leaveStart - 10) until (leaveDone + 50) }
                        println(
                            "DAVE interop: played ${played.size}, heard ${heard.size}, lost ${lostAt.size} at frames $lostAt; " +
                                "join ran from frame ${sizes[0]} to ${sizes[1]} (lost $aroundJoin), leave from ${sizes[2]} to " +
                                "${sizes[3]} (lost $aroundLeave); listener decrypt failures reported: " +
                                listener.events.count { it.str("message")?.contains("Failed to decrypt") == true },
                        )
                        // discord.js drops packets of an SSRC it has not seen in op 5 yet, so the listener may miss
                        // the speaker's first frames; after those, nothing may be lost outside the transitions.
                        lostAt.filter { it in 3 until joinStart - 10 } shouldContainExactly emptyList()
                        (lostAt.size <= 25) shouldBe true

                        // Both saw the same transitions with the same privacy codes, a new one for every epoch.
                        val codesA = speaker.events.filter { it.isTransition() }.associate { it["id"].toString() to it.str("privacyCode") }
                        val codesB = listener.events.filter { it.isTransition() }.associate { it["id"].toString() to it.str("privacyCode") }
                        codesA.keys shouldBe codesB.keys
                        codesA shouldBe codesB
                        codesA.values.toSet().size shouldBe codesA.size
                        channel.daveRejected shouldBe 0
                        server.stats.internalErrors shouldBe 0
                        firstA.str("privacyCode") shouldNotBe null
                    }
                }
            }
        }
})

private const val MAGIC = 0xFA.toByte()

private fun JsonObject.str(key: String): String? = (this[key] as? JsonPrimitive)?.takeIf { it.isString }?.content

private fun JsonObject.isTransition(): Boolean =
    str("event") == "transitioned" && ((this["id"] as? JsonPrimitive)?.content?.toIntOrNull() ?: 0) > 0

/** Indices of [played] frames missing from [heard], matching in order (frames are heard in the order played). */
private fun lostIndices(played: List<List<Byte>>, heard: List<List<Byte>>): List<Int> {
    val lost = ArrayList<Int>()
    var h = 0
    for ((i, frame) in played.withIndex()) {
        val at = (h until minOf(heard.size, h + 200)).firstOrNull { heard[it] == frame }
        if (at == null) lost += i else h = at + 1
    }
    return lost
}

private suspend fun awaitTrue(what: String, timeout: Duration = 20.seconds, condition: () -> Boolean) {
    try {
        withTimeout(timeout) { while (!condition()) delay(10) }
    } catch (e: Exception) {
        throw AssertionError("timed out waiting for $what", e)
    }
}
