package dev.earshot.voice.dave.mls

import dev.earshot.voice.dave.mls.DaveTestCrypto.hex
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.ints.shouldBeGreaterThanOrEqual
import io.kotest.matchers.shouldBe
import kotlinx.serialization.json.Json
import kotlinx.serialization.json.jsonArray
import kotlinx.serialization.json.jsonObject
import kotlinx.serialization.json.jsonPrimitive

/** Known answers for the test-local frame crypto: davey's hash-ratchet vector and the committed davey frames. */
class DaveyFramesKatSpec : FunSpec({
    test("hash ratchet: davey's hash_ratchet.rs vector") {
        hex(DaveTestCrypto.ratchetKey(hex("cedd61b1b8a1ca69046554282cf70b7b"), 0)) shouldBe "7530f9a9945e2d2e06d0651f7b2a864b"
    }

    test("every frame in dave/davey-frames.json decrypts to its plaintext with its base secret (silence passes through)") {
        val text = javaClass.getResource("/dave/davey-frames.json")!!.readText()
        val root = Json.parseToJsonElement(text).jsonObject
        root["davey_version"]!!.jsonPrimitive.content shouldBe "0.1.12"
        val vectors = root["vectors"]!!.jsonArray.map { it.jsonObject }
        vectors.size shouldBeGreaterThanOrEqual 20
        vectors.map { it["user_id"]!!.jsonPrimitive.content }.toSet().size shouldBeGreaterThanOrEqual 2
        for (v in vectors) {
            val base = hex(v["base_secret"]!!.jsonPrimitive.content)
            val plain = hex(v["plaintext"]!!.jsonPrimitive.content)
            val frame = hex(v["frame"]!!.jsonPrimitive.content)
            base.size shouldBe 16
            if (hex(plain) == "f8fffe") {
                hex(frame) shouldBe "f8fffe"
            } else {
                frame.size shouldBe plain.size + (frame[frame.size - 3].toInt() and 0xFF) // ciphertext + supplemental
                hex(DaveTestCrypto.decryptOpus(base, frame)!!) shouldBe hex(plain)
                // A flipped ciphertext bit must fail the 8-byte tag.
                val bad = frame.copyOf().also { it[0] = (it[0].toInt() xor 1).toByte() }
                DaveTestCrypto.decryptOpus(base, bad) shouldBe null
            }
        }
    }

    test("the test-local encryptor matches davey's layout: 40-byte frame with nonce 1 ends 01 0c fa fa, 52 bytes") {
        val frame = DaveTestCrypto.encryptOpus(ByteArray(16), 1, ByteArray(40))
        frame.size shouldBe 52
        hex(frame).takeLast(8) shouldBe "010cfafa"
        DaveTestCrypto.decryptOpus(ByteArray(16), frame)!!.contentEquals(ByteArray(40)) shouldBe true
    }
})
