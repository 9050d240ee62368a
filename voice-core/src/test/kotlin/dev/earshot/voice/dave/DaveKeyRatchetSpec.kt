package dev.earshot.voice.dave

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.nulls.shouldBeNull
import io.kotest.matchers.shouldBe
import io.kotest.matchers.shouldNotBe

class DaveKeyRatchetSpec : FunSpec({
    val base = hex("cedd61b1b8a1ca69046554282cf70b7b")

    test("generation 0 matches davey's hash_ratchet.rs vector") {
        DaveKeyRatchet(base).key(0)!!.hex() shouldBe "7530f9a9945e2d2e06d0651f7b2a864b"
    }

    test("the independent HMAC-SHA256 reference reproduces davey's vector (the oracle itself is right)") {
        DaveReference.ratchetKey(base, 0).hex() shouldBe "7530f9a9945e2d2e06d0651f7b2a864b"
    }

    test("generations 1..300 match the independent reference, asked in order, out of order and skipping") {
        val generations = listOf(1, 2, 3, 7, 5, 100, 255, 256, 257, 300)
        val expected = generations.associateWith { DaveReference.ratchetKey(base, it).hex() }
        val inOrder = DaveKeyRatchet(base)
        for (g in generations.sorted()) inOrder.key(g)!!.hex() shouldBe expected[g]
        val mixed = DaveKeyRatchet(base)
        for (g in generations) mixed.key(g)!!.hex() shouldBe expected[g]
        // Every generation's key differs from its neighbours'.
        expected.values.toSet().size shouldBe generations.size
    }

    test("another base secret gives other keys, equal to the reference") {
        val other = hex("00112233445566778899aabbccddeeff")
        val r = DaveKeyRatchet(other)
        for (g in 0..3) r.key(g)!!.hex() shouldBe DaveReference.ratchetKey(other, g).hex()
        r.key(0)!!.hex() shouldNotBe "7530f9a9945e2d2e06d0651f7b2a864b"
    }

    test("keys computed ahead stay available until erased; erase forgets everything up to and including it") {
        val r = DaveKeyRatchet(base)
        val k5 = r.key(5)!!.copyOf()
        r.key(2)!!.hex() shouldBe DaveReference.ratchetKey(base, 2).hex()
        r.erase(2)
        r.key(0).shouldBeNull()
        r.key(2).shouldBeNull()
        r.key(3)!!.hex() shouldBe DaveReference.ratchetKey(base, 3).hex()
        r.key(5) shouldBe k5
        r.erase(1) // erasing below the floor changes nothing
        r.key(3)!!.hex() shouldBe DaveReference.ratchetKey(base, 3).hex()
    }

    test("erasing ahead of the derived generations skips them for good") {
        val r = DaveKeyRatchet(base)
        r.erase(9)
        for (g in 0..9) r.key(g).shouldBeNull()
        r.key(10)!!.hex() shouldBe DaveReference.ratchetKey(base, 10).hex()
    }

    test("the erased key's bytes are zeroed (a caller holding the array sees zeros)") {
        val r = DaveKeyRatchet(base)
        val k0 = r.key(0)!!
        r.erase(0)
        k0 shouldBe ByteArray(16)
    }

    test("out of range: negative or more than MAX_STEP generations ahead gives null") {
        val r = DaveKeyRatchet(base)
        r.key(-1).shouldBeNull()
        r.key(DaveKeyRatchet.MAX_STEP).shouldBeNull()
        r.key(DaveKeyRatchet.MAX_STEP - 1) shouldNotBe null
    }

    test("close zeroes cached keys and refuses further keys") {
        val r = DaveKeyRatchet(base)
        val k1 = r.key(1)!!
        r.close()
        k1 shouldBe ByteArray(16)
        r.key(1).shouldBeNull()
        r.key(2).shouldBeNull()
    }

    test("the caller's base secret array is not kept (zeroing it later does not change keys)") {
        val mine = base.copyOf()
        val r = DaveKeyRatchet(mine)
        mine.fill(0)
        r.key(0)!!.hex() shouldBe "7530f9a9945e2d2e06d0651f7b2a864b"
    }
})
