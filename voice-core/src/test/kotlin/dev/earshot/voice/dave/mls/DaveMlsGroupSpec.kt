package dev.earshot.voice.dave.mls

import dev.earshot.voice.dave.mls.DaveTestCrypto.hex
import io.kotest.assertions.throwables.shouldThrow
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.nulls.shouldBeNull
import io.kotest.matchers.shouldBe
import io.kotest.matchers.string.shouldContain
import io.kotest.matchers.string.shouldStartWith
import org.bouncycastle.mls.codec.KeyPackage
import org.bouncycastle.mls.codec.MLSInputStream

/** [DaveMlsGroup]'s key package and state without a peer. */
class DaveMlsGroupSpec : FunSpec({
    test("the key package is a bare KeyPackage with DAVE's capabilities, lifetime and big-endian user id") {
        val userId = 158049329150427136L
        val g = DaveMlsGroup(userId, 1L)
        val kp = g.reset()
        val h = hex(kp)
        h shouldStartWith "00010002" // mls10, ciphersuite 2 (no MLSMessage header)
        // basic credential with the 8-byte id, capabilities {mls10}{2}{}{}{basic}, source key_package,
        // lifetime 0..2^64-1, no leaf extensions: the same bytes as davey's key package.
        h shouldContain "0001" + "08" + "0231810709000000" +
            "0200010200020000020001" + "01" + "0000000000000000ffffffffffffffff" + "00"
        val parsed = MLSInputStream.decode(kp, KeyPackage::class.java) as KeyPackage
        parsed.verify() shouldBe true
        parsed.leafNode.signatureKey.contentEquals(g.ownSignaturePublicKey) shouldBe true
        g.ownSignaturePublicKey.size shouldBe 65
        g.ownSignaturePublicKey[0] shouldBe 4.toByte()
    }

    test("reset makes new keys each time; the pending group appears once the external sender is known") {
        val gw = FakeDaveGateway(7L)
        val g = DaveMlsGroup(5L, 7L)
        g.epoch.shouldBeNull()
        g.setExternalSender(gw.externalSender)
        g.epoch.shouldBeNull() // no key package yet
        val first = g.reset()
        val key1 = g.ownSignaturePublicKey
        g.epoch shouldBe 0L
        g.isEstablished shouldBe false
        g.roster shouldBe emptyMap()
        g.epochAuthenticator.shouldBeNull()
        val second = g.reset()
        (first.contentEquals(second)) shouldBe false
        (key1.contentEquals(g.ownSignaturePublicKey)) shouldBe false
        g.epoch shouldBe 0L // external sender kept across resets
        shouldThrow<DaveMlsException> { g.setExternalSender(gw.externalSender + byteArrayOf(0)) }
        g.close()
        g.epoch.shouldBeNull()
        shouldThrow<IllegalStateException> { g.ownSignaturePublicKey }
    }
})
