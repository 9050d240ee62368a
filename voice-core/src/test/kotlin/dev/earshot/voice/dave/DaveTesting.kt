package dev.earshot.voice.dave

import dev.earshot.voice.base.NanoClock
import dev.earshot.voice.dave.mls.DaveMlsGroup
import dev.earshot.voice.dave.mls.FakeDaveGateway
import dev.earshot.voice.dave.mls.FakeDaveGateway.Companion.splitCommitWelcome

/** A clock the test moves by hand. */
class ManualClock(var now: Long = 1_000_000_000L) : NanoClock {
    override fun nanoTime(): Long = now
    fun advanceSeconds(s: Double) {
        now += (s * 1e9).toLong()
    }
}

/** Base secrets for tests (16 bytes, as MLS exports them). */
val BASE_A: ByteArray = hex("cedd61b1b8a1ca69046554282cf70b7b")
val BASE_B: ByteArray = hex("00112233445566778899aabbccddeeff")

/** Speech-like Opus payloads of varying size: a TOC byte then filler. */
fun opusFrame(i: Int, size: Int = 40 + (i * 7) % 80): ByteArray = ByteArray(size) { (if (it == 0) 0x78 else it * 31 + i).toByte() }

/** Encrypts [count] frames with a fresh encryptor on a fresh ratchet from [base]; returns plaintexts and frames. */
fun encryptFrames(base: ByteArray, count: Int): List<Pair<ByteArray, ByteArray>> {
    val enc = DaveEncryptor()
    enc.setKeyRatchet(DaveKeyRatchet(base))
    return (0 until count).map { i ->
        val plain = opusFrame(i)
        val out = ByteArray(enc.maxEncryptedSize(plain.size))
        val n = enc.encryptOpus(plain, 0, plain.size, out)
        check(n > 0)
        plain to out.copyOf(n)
    }
}

/**
 * A real [JvmDaveSession] of [self] that joined a DAVE group through a welcome from [speaker]'s [DaveMlsGroup] (made
 * with the gateway's external proposals) and executed transition [transitionId]; returns it with the speaker's group.
 * Whatever the session sends goes to [callbacks].
 */
internal fun joinedSession(
    self: Long, speaker: Long, channel: Long, callbacks: DaveCallbacks, clock: NanoClock = NanoClock.SYSTEM, transitionId: Int = 1,
): Pair<JvmDaveSession, DaveMlsGroup> {
    val gw = FakeDaveGateway(channel)
    val group = DaveMlsGroup(speaker, channel).apply { reset(); setExternalSender(gw.externalSender) }
    var keyPackage: ByteArray? = null
    val capture = object : DaveCallbacks by callbacks {
        override fun sendKeyPackage(keyPackage0: ByteArray) {
            keyPackage = keyPackage0
            callbacks.sendKeyPackage(keyPackage0)
        }
    }
    val session = JvmDaveSession(self, channel, capture, clock = clock)
    session.onExternalSenderPackage(gw.externalSender)
    session.onSelectProtocolAck(1)
    session.addUser(speaker)
    val (commit, welcome) = splitCommitWelcome(group.processProposals(gw.append(gw.add(keyPackage!!, 0)), setOf(self))!!)
    group.processCommit(commit)
    session.onWelcome(transitionId, welcome!!)
    session.onExecuteTransition(transitionId)
    return session to group
}
