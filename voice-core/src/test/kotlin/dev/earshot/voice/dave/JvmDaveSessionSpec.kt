package dev.earshot.voice.dave

import dev.earshot.voice.dave.mls.FakeDaveGateway
import dev.earshot.voice.e2ee.FrameDecryptor
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.collections.shouldContainExactly
import io.kotest.matchers.shouldBe
import io.kotest.matchers.shouldNotBe
import kotlin.random.Random

/** Collects what a session sends, as "op payload-summary" strings and the raw key packages. */
private class Outbox : DaveCallbacks {
    val sent = mutableListOf<String>()
    val keyPackages = mutableListOf<ByteArray>()
    override fun sendKeyPackage(keyPackage: ByteArray) { sent += "26"; keyPackages += keyPackage }
    override fun sendReadyForTransition(transitionId: Int) { sent += "23 $transitionId" }
    override fun sendCommitWelcome(commitWelcome: ByteArray) { sent += "28" }
    override fun sendInvalidCommitWelcome(transitionId: Int) { sent += "31 $transitionId" }
}

private const val SELF = 1000L
private const val SPEAKER = 77L
private const val CHANNEL = 927310423890473011L

class JvmDaveSessionSpec : FunSpec({
    fun session(): Pair<JvmDaveSession, Outbox> {
        val out = Outbox()
        return JvmDaveSession(SELF, CHANNEL, out) to out
    }
    val opus = byteArrayOf(0x78, 1, 2, 3, 4, 5, 6, 7)

    test("op 4 with DAVE sends a fresh key package; without DAVE nothing is sent and frames pass through") {
        val (dave, out) = session()
        dave.onSelectProtocolAck(1)
        out.sent shouldContainExactly listOf("26")
        dave.protocolVersion shouldBe 1
        dave.requiresUser shouldBe true
        // A bare KeyPackage: version mls10 (0x0001), ciphersuite 2 (0x0002).
        out.keyPackages.single().copyOfRange(0, 4).toList() shouldBe listOf<Byte>(0, 1, 0, 2)

        val (plain, plainOut) = session()
        plain.onSelectProtocolAck(0)
        plainOut.sent shouldBe emptyList()
        plain.requiresUser shouldBe false
        plain.decrypt(42, opus.copyOf(), 0, opus.size) shouldBe opus.size
    }

    test("before the call's DAVE version is applied, a frame with DAVE's layout is held, never passed on as Opus") {
        // Frames can arrive as soon as Session Description does, before the session has applied its DAVE version.
        val (dave, _) = session()
        dave.protocolVersion shouldBe 0
        // The Opus bytes, an 8-byte tag, a one-byte nonce, the supplemental size (12) and the FA FA marker.
        val daveFrame = opus + ByteArray(DaveFrame.TAG_LENGTH) + byteArrayOf(5, 12, 0xFA.toByte(), 0xFA.toByte())
        dave.decrypt(42, daveFrame.copyOf(), 0, daveFrame.size) shouldBe FrameDecryptor.NOT_READY
        dave.decrypt(42, opus.copyOf(), 0, opus.size) shouldBe opus.size
        dave.stats().notReady shouldBe 1L
        dave.stats().passedThrough shouldBe 1L
    }

    test("in a DAVE call our frames are dropped until our key exists, never sent in the clear; silence frames go out") {
        val (dave, _) = session()
        dave.onSelectProtocolAck(1)
        val out = ByteArray(dave.maxEncryptedSize(opus.size))
        dave.encrypt(opus, 0, opus.size, out) shouldBe -1
        val silence = byteArrayOf(0xF8.toByte(), 0xFF.toByte(), 0xFE.toByte())
        dave.encrypt(silence, 0, 3, out) shouldBe 3
        dave.stats().unencryptedDropped shouldBe 1L
        dave.stats().encrypted shouldBe 1L
    }

    test("in a DAVE call a sender without a key is held (not ready); silence frames always pass") {
        val (dave, _) = session()
        dave.onSelectProtocolAck(1)
        dave.decrypt(42, opus.copyOf(), 0, opus.size) shouldBe FrameDecryptor.NOT_READY
        val silence = byteArrayOf(0xF8.toByte(), 0xFF.toByte(), 0xFE.toByte())
        dave.decrypt(42, silence, 0, 3) shouldBe 3
        dave.stats().notReady shouldBe 1L
        dave.stats().passedThrough shouldBe 1L
    }

    test("a commit or welcome that cannot be processed: op 31 for its transition, then a new key package") {
        val (dave, out) = session()
        dave.onSelectProtocolAck(1)
        val first = out.keyPackages.single()
        dave.onWelcome(7, Random(1).nextBytes(200))
        out.sent shouldContainExactly listOf("26", "31 7", "26")
        out.keyPackages[1] shouldNotBe first
        // Recovery re-arms once a transition executes; until then a second bad message does not loop.
        dave.onWelcome(8, Random(2).nextBytes(120))
        out.sent shouldContainExactly listOf("26", "31 7", "26")
        dave.stats().invalidMessages shouldBe 2L
        // A commit before any proposal of this epoch is ignored (libdave's CanProcessCommit), not an error.
        dave.onAnnounceCommit(9, Random(3).nextBytes(120))
        dave.stats().invalidMessages shouldBe 2L
        dave.stats().reinits shouldBe 2L
    }

    test("more than 36 failures in a row recover with op 31, but not while a transition is pending (as discord.js)") {
        val out = Outbox()
        val (dave, _) = joinedSession(SELF, SPEAKER, CHANNEL, out)
        out.sent.clear()
        // The receiver gave up on frames of a member it has keys for: 36 in a row are tolerated, the 37th recovers.
        repeat(36) { dave.frameDropped(SPEAKER) }
        out.sent shouldBe emptyList()
        dave.frameDropped(SPEAKER)
        out.sent shouldContainExactly listOf("31 1", "26")
        dave.stats().decryptFailures shouldBe 37L

        val (other, _) = joinedSession(SELF, SPEAKER, CHANNEL, out)
        out.sent.clear()
        repeat(20) { other.frameDropped(SPEAKER) }
        // Prepared, not executed: members switch keys at slightly different moments, so failures say nothing.
        other.onPrepareTransition(2, 1)
        repeat(100) { other.frameDropped(SPEAKER) }
        other.onExecuteTransition(2)
        repeat(16) { other.frameDropped(SPEAKER) }
        out.sent shouldContainExactly listOf("23 2")
        other.frameDropped(SPEAKER)
        out.sent shouldContainExactly listOf("23 2", "31 2", "26")
        other.stats().decryptFailures shouldBe 137L
    }

    test("garbage proposals and sender packages are counted; nothing is sent and nothing throws") {
        val (dave, out) = session()
        dave.onExternalSenderPackage(FakeDaveGateway(CHANNEL).externalSender)
        dave.onSelectProtocolAck(1)
        val rnd = Random(3)
        repeat(200) {
            dave.onProposals(byteArrayOf(0) + rnd.nextBytes(rnd.nextInt(0, 300)))
            dave.decrypt(5, rnd.nextBytes(40), 0, 40)
        }
        out.sent shouldContainExactly listOf("26")
        dave.stats().invalidMessages shouldBe 200L
        // A garbage sender package is refused when it comes, and again when the next reset tries it.
        dave.onExternalSenderPackage(rnd.nextBytes(50))
        dave.stats().invalidMessages shouldBe 201L
        dave.onPrepareEpoch(1, 1)
        dave.stats().invalidMessages shouldBe 202L
        out.sent shouldContainExactly listOf("26", "26")
    }

    test("a downgrade: ready for it at op 21, then frames pass through once op 22 executes it") {
        val (dave, out) = session()
        dave.onSelectProtocolAck(1)
        dave.onPrepareTransition(3, 0)
        out.sent shouldContainExactly listOf("26", "23 3")
        dave.protocolVersion shouldBe 1
        dave.onExecuteTransition(3)
        dave.protocolVersion shouldBe 0
        dave.requiresUser shouldBe false
        dave.decrypt(42, opus.copyOf(), 0, opus.size) shouldBe opus.size
        dave.stats().transitions shouldBe 1L
        // Before DAVE is in force our own frames go out unchanged.
        val outFrame = ByteArray(dave.maxEncryptedSize(opus.size))
        dave.encrypt(opus, 0, opus.size, outFrame) shouldBe opus.size
        outFrame.copyOf(opus.size).toList() shouldBe opus.toList()
    }

    test("sole-member reset: op 24 epoch 1 re-initialises with a new key package; transition 0 needs no op 23") {
        val (dave, out) = session()
        dave.onSelectProtocolAck(1)
        dave.onPrepareEpoch(1, 1)
        dave.onPrepareTransition(0, 1)
        out.sent shouldContainExactly listOf("26", "26")
        dave.stats().transitions shouldBe 1L
    }

    test("after close, gateway events are ignored and frames are not decrypted") {
        val (dave, out) = session()
        dave.onSelectProtocolAck(1)
        dave.close()
        dave.onPrepareEpoch(1, 1)
        out.sent shouldContainExactly listOf("26")
        dave.decrypt(42, opus.copyOf(), 0, opus.size) shouldBe FrameDecryptor.NOT_READY
        dave.close()
    }
})
