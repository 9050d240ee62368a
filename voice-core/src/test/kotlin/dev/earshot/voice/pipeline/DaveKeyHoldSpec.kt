package dev.earshot.voice.pipeline

import dev.earshot.voice.base.NanoClock
import dev.earshot.voice.connection.DaveBridge
import dev.earshot.voice.dave.DaveEncryptor
import dev.earshot.voice.dave.DaveKeyRatchet
import dev.earshot.voice.dave.JvmDaveSession
import dev.earshot.voice.dave.mls.DaveMlsGroup
import dev.earshot.voice.dave.mls.FakeDaveGateway
import dev.earshot.voice.dave.mls.FakeDaveGateway.Companion.splitCommitWelcome
import dev.earshot.voice.gateway.DaveGatewaySender
import dev.earshot.voice.gateway.VoiceOp
import dev.earshot.voice.identity.SsrcDirectory
import dev.earshot.voice.model.AudioFrame
import dev.earshot.voice.model.FrameKind
import dev.earshot.voice.model.ReceiveStats
import dev.earshot.voice.model.VoiceTick
import dev.earshot.voice.testing.FakeSpeaker
import dev.earshot.voice.testing.ReceiverHarness
import dev.earshot.voice.testing.Speech
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.collections.shouldContainExactly
import io.kotest.matchers.longs.shouldBeLessThanOrEqual
import io.kotest.matchers.shouldBe
import kotlinx.coroutines.delay
import kotlinx.coroutines.launch
import kotlinx.coroutines.test.TestScope
import kotlinx.coroutines.test.runTest
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.buildJsonObject
import kotlinx.serialization.json.put

private const val CHANNEL = 5150L
private const val BOT = 1000L
private const val SPEAKER = 77L
private const val JOINER = 88L
private const val SSRC = 0x4D2L

/** Sends nothing anywhere; keeps what the bot's DAVE session asked to send. */
private class CapturingSender : DaveGatewaySender {
    val binary = ArrayList<Pair<Int, ByteArray>>()
    val json = ArrayList<Pair<Int, JsonObject>>()
    override suspend fun sendJson(op: Int, d: JsonObject) { json += op to d }
    override suspend fun sendBinary(op: Int, payload: ByteArray) { binary += op to payload }
}

/**
 * The bot's side of a DAVE call in virtual time: the real [DaveBridge] and [JvmDaveSession] in front of a real
 * receiver, and a speaker whose MLS group ([DaveMlsGroup], with the gateway's external proposals) the bot joins.
 */
private class Call(scope: TestScope) {
    val gw = FakeDaveGateway(CHANNEL)
    val clock = NanoClock { scope.testScheduler.currentTime * 1_000_000L }
    val bridge = DaveBridge({ self, channel, callbacks -> JvmDaveSession(self, channel, callbacks, clock) }, BOT, CHANNEL, scope.backgroundScope)
    val sender = CapturingSender()
    val ssrcs = SsrcDirectory().apply { map(SSRC, SPEAKER) }
    val h = ReceiverHarness(scope, ssrcs = ssrcs, decryptor = bridge.frameDecryptor) { tickQueueCapacity = 3000 }
    val speaker = DaveMlsGroup(SPEAKER, CHANNEL).apply { reset(); setExternalSender(gw.externalSender) }
    val wire = FakeSpeaker(SSRC, h.key)
    private val encryptor = DaveEncryptor()
    private var botKeyPackage: ByteArray? = null

    /** The speaker starts sending under the key of its current epoch (as davey does once it has processed a commit). */
    fun speakerSwitches() = encryptor.setKeyRatchet(DaveKeyRatchet(speaker.exportSenderBaseSecret(SPEAKER)))

    /** The speaker sends under a key the bot never gets (an epoch from before the bot joined). */
    fun speakerUsesForeignKey() = encryptor.setKeyRatchet(DaveKeyRatchet(ByteArray(16) { (it * 13 + 5).toByte() }))

    /** [opus] as the speaker's DAVE frame. */
    fun encrypt(opus: ByteArray): ByteArray {
        val out = ByteArray(encryptor.maxEncryptedSize(opus.size))
        val n = encryptor.encryptOpus(opus, 0, opus.size, out)
        check(n > 0)
        return out.copyOf(n)
    }

    fun datagram(opus: ByteArray): ByteArray = wire.datagram(encrypt(opus))

    /** The bot's connection reaches Session Description with DAVE: it sends its key package. */
    suspend fun botConnects(scope: TestScope) {
        bridge.onBinary(VoiceOp.DAVE_MLS_EXTERNAL_SENDER, gw.externalSender, sender)
        bridge.onSessionDescription(1, sender)
        bridge.onMembers(listOf(SPEAKER), emptyList())
        scope.testScheduler.runCurrent()
        botKeyPackage = sender.binary.last { it.first == VoiceOp.DAVE_MLS_KEY_PACKAGE }.second
    }

    /** The speaker commits the bot's Add and applies it; returns the welcome the gateway will give the bot. */
    fun speakerAddsBot(): ByteArray {
        val (commit, welcome) = splitCommitWelcome(speaker.processProposals(gw.append(gw.add(botKeyPackage!!, 0)), setOf(BOT))!!)
        speaker.processCommit(commit)
        return welcome!!
    }

    suspend fun botWelcomed(welcome: ByteArray, transitionId: Int) {
        bridge.onBinary(VoiceOp.DAVE_MLS_WELCOME, byteArrayOf(0, transitionId.toByte()) + welcome, sender)
        bridge.onJson(VoiceOp.DAVE_EXECUTE_TRANSITION, buildJsonObject { put("transition_id", transitionId) }, sender)
    }

    /** A new member's Add, proposed to both and committed by the speaker, who switches at once; returns the commit for the bot. */
    suspend fun joinerAddedBySpeaker(epoch: Long): ByteArray {
        bridge.onMembers(listOf(JOINER), emptyList())
        val joiner = DaveMlsGroup(JOINER, CHANNEL)
        val proposals = gw.append(gw.add(joiner.reset(), epoch))
        bridge.onBinary(VoiceOp.DAVE_MLS_PROPOSALS, proposals, sender)
        val (commit, _) = splitCommitWelcome(speaker.processProposals(proposals, setOf(BOT, JOINER))!!)
        speaker.processCommit(commit)
        return commit
    }

    suspend fun botAppliesCommit(commit: ByteArray, transitionId: Int) {
        bridge.onBinary(VoiceOp.DAVE_MLS_ANNOUNCE_COMMIT_TRANSITION, byteArrayOf(0, transitionId.toByte()) + commit, sender)
    }

    fun silence() = repeat(5) { h.source.offer(wire.datagram(FakeSpeaker.SILENCE)) }
}

private fun List<VoiceTick>.framesOfSpeaker() = mapNotNull { it.frameOfSsrc(SSRC) }

/**
 * Frames that arrive before the key they are encrypted with: held, then decrypted and played at their place once the
 * key arrives; frames no key ever opens are counted once their hold is over, and hold nothing else back.
 */
class DaveKeyHoldSpec : FunSpec({
    test("at the bot's own join, frames under the new key that arrive before the welcome play as soon as it is processed") {
        runTest {
            val call = Call(this)
            val packets = Speech.packets.take(30)
            val keyAt = 650L
            launch {
                call.botConnects(this@runTest)
                call.speakerUsesForeignKey() // the epoch before the bot joined
                val welcome = call.speakerAddsBot()
                packets.forEachIndexed { i, p ->
                    if (i == 10) call.speakerSwitches() // the speaker uses the bot's first epoch from here on
                    call.h.source.offer(call.datagram(p))
                    delay(20)
                }
                // The talk spurt ends before the bot has processed its welcome; nothing else comes from the speaker.
                call.silence()
                delay(keyAt - 20L * packets.size)
                call.botWelcomed(welcome, 1)
                delay(2000)
                call.h.source.close()
            }
            val frames = call.h.ticks.await().framesOfSpeaker()
            val decoded = frames.filter { it.kind == FrameKind.DECODED }
            decoded.map { it.opus!!.toList() } shouldContainExactly packets.drop(10).map { it.toList() }
            // They start once the key is there (tick 30 = 600 ms), not after the hold time has run out.
            decoded.first().tick shouldBeLessThanOrEqual keyAt / 20 + 4
            decoded.zipWithNext().all { (a, b) -> b.tick == a.tick + 1 } shouldBe true
            val s = call.h.receiver.stats()
            // The first ten were encrypted with a key the bot never receives: failures, counted once their hold is over.
            s.e2eeFailures shouldBe 10
            s.droppedUnknownSsrc shouldBe 0
            call.bridge.session.stats().reinits shouldBe 1
            call.sender.json.none { it.first == VoiceOp.DAVE_MLS_INVALID_COMMIT_WELCOME } shouldBe true
        }
    }

    test("an epoch change mid-spurt: frames the sender encrypts before the bot has the commit are held and play in their slots") {
        runTest {
            // The bot applies the speaker's commit two frames (40 ms) after the speaker switched, within the playout delay.
            val (frames, s) = epochChangeAllPlayed(botLagFrames = 2)
            frames.filter { it.kind != FrameKind.SILENCE }.map { it.kind }.toSet() shouldBe setOf(FrameKind.DECODED)
            s.concealed shouldBe 0
        }
    }

    test("a key later than the playout delay: the speaker waits for the held frames (stretch) instead of concealing them") {
        runTest {
            // The bot applies the speaker's commit six frames (120 ms) late, past the playout delay (60 ms at first, then less).
            val (frames, s) = epochChangeAllPlayed(botLagFrames = 6)
            frames.filter { it.kind != FrameKind.SILENCE }.map { it.kind }.toSet() shouldBe setOf(FrameKind.DECODED, FrameKind.CONCEALED)
            // Ticks spent waiting, not audio lost: every frame still played, in order.
            (s.stretches > 0) shouldBe true
            s.concealed shouldBe s.stretches
        }
    }

    test("the sender's first frames under a new key, reordered on the way and held for the key, all play") {
        runTest {
            // Frames 50 and 51 (the first two under the new epoch) arrive swapped, both before the bot has the commit:
            // the later one opens first, and the earlier one must still open (libdave would refuse it as too old).
            epochChangeAllPlayed(botLagFrames = 2, swap = 50)
        }
    }

    test("a frame no key opens is counted after its hold, and the sender's later frames are not held behind it") {
        runTest {
            val call = Call(this)
            val packets = Speech.packets.take(100)
            val forged = setOf(10, 30, 31)
            launch {
                call.botConnects(this@runTest)
                call.botWelcomed(call.speakerAddsBot(), 1)
                call.speakerSwitches()
                packets.forEachIndexed { i, p ->
                    val frame = call.encrypt(p)
                    // One byte of the ciphertext changed: transport-valid, but no DAVE key authenticates it.
                    if (i in forged) frame[1] = (frame[1].toInt() xor 0x10).toByte()
                    call.h.source.offer(call.wire.datagram(frame))
                    delay(20)
                }
                call.silence()
                delay(1000)
                call.h.source.close()
            }
            val frames = call.h.ticks.await().framesOfSpeaker()
            val decoded = frames.filter { it.kind == FrameKind.DECODED }
            decoded.map { it.opus!!.toList() } shouldContainExactly packets.filterIndexed { i, _ -> i !in forged }.map { it.toList() }
            // Every slot is played in order: the forged ones concealed (or from FEC), nothing delayed.
            frames.filter { it.kind != FrameKind.SILENCE }.map { it.tick }.zipWithNext().all { (a, b) -> b == a + 1 } shouldBe true
            val s = call.h.receiver.stats()
            s.e2eeFailures shouldBe forged.size.toLong()
            s.late shouldBe 0
        }
    }

    test("a sender whose every frame fails still makes the session recover (op 31 and a new key package)") {
        runTest {
            val call = Call(this)
            val packets = Speech.packets.take(120)
            launch {
                call.botConnects(this@runTest)
                call.botWelcomed(call.speakerAddsBot(), 1)
                // A key the bot never gets, though it is in the group: its view of the group is wrong.
                call.speakerUsesForeignKey()
                packets.forEach { p ->
                    call.h.source.offer(call.datagram(p))
                    delay(20)
                }
                call.silence()
                delay(1000)
                call.h.source.close()
            }
            call.h.ticks.await().framesOfSpeaker().none { it.kind == FrameKind.DECODED } shouldBe true
            testScheduler.runCurrent()
            call.sender.json.count { it.first == VoiceOp.DAVE_MLS_INVALID_COMMIT_WELCOME } shouldBe 1
            call.bridge.session.stats().reinits shouldBe 2
        }
    }
})

/**
 * [talkThroughEpochChange] with 150 speech packets; checks that every packet played decoded, in order, with no
 * decryption failure and nothing late. Returns the speaker's frames and the receiver's statistics.
 */
private suspend fun TestScope.epochChangeAllPlayed(botLagFrames: Int, swap: Int = -1): Pair<List<AudioFrame>, ReceiveStats> {
    val call = Call(this)
    val packets = Speech.packets.take(150)
    launch { call.talkThroughEpochChange(this@epochChangeAllPlayed, packets, botLagFrames, swap) }
    val frames = call.h.ticks.await().framesOfSpeaker()
    frames.filter { it.kind == FrameKind.DECODED }.map { it.opus!!.toList() } shouldContainExactly packets.map { it.toList() }
    val s = call.h.receiver.stats()
    s.e2eeFailures shouldBe 0
    s.late shouldBe 0
    return frames to s
}

/**
 * The bot joins, then the speaker talks [packets] and, at frame 50, adds a member and switches to the new epoch; the
 * bot applies that commit [botLagFrames] frames (20 ms each) later; frame [swap] (if any) arrives after the next one.
 * Ends with the silence frames and the source.
 */
private suspend fun Call.talkThroughEpochChange(scope: TestScope, packets: List<ByteArray>, botLagFrames: Int, swap: Int = -1) {
    botConnects(scope)
    botWelcomed(speakerAddsBot(), 1)
    speakerSwitches()
    var commit: ByteArray? = null
    var swapped: ByteArray? = null
    packets.forEachIndexed { i, p ->
        if (i == 50) {
            commit = joinerAddedBySpeaker(1)
            speakerSwitches()
        }
        if (i == 50 + botLagFrames) botAppliesCommit(commit!!, 2)
        val d = datagram(p)
        when {
            // Frame [swap] is sent, but reaches the bot just after frame [swap] + 1.
            swap >= 0 && i == swap -> swapped = d
            swap >= 0 && i == swap + 1 -> { h.source.offer(d); h.source.offer(swapped!!) }
            else -> h.source.offer(d)
        }
        delay(20)
    }
    silence()
    delay(200)
    h.source.close()
}
