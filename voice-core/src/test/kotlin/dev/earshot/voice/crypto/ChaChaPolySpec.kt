package dev.earshot.voice.crypto

import dev.earshot.voice.crypto.CryptoVectors.hex
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe
import kotlin.random.Random

/**
 * Known-answer tests for the primitives under [JvmXChaChaCipher], from the public specifications: RFC 8439 (ChaCha20
 * block §2.3.2, encryption §2.4.2, Poly1305 §2.5.2 and the carry edge cases of appendix A.3) and
 * draft-irtf-cfrg-xchacha-03 §2.2.1 (HChaCha20). The AEAD as a whole is checked against packets from other libraries
 * in [TransportCipherVectorsSpec] and against libsodium on random packets in [TransportCipherSpec].
 */
class ChaChaPolySpec : FunSpec({
    fun words(b: ByteArray): IntArray = IntArray(b.size / 4) { ChaCha20.le32(b, 4 * it) }
    fun bytes(w: IntArray): ByteArray = ByteArray(4 * w.size) { (w[it / 4] ushr (8 * (it % 4))).toByte() }
    val key = ByteArray(32) { it.toByte() }

    test("ChaCha20 block function: RFC 8439 §2.3.2") {
        val out = IntArray(16)
        val nonce = words(hex("000000090000004a00000000"))
        ChaCha20.block(words(key), 1, nonce[0], nonce[1], nonce[2], out)
        bytes(out) shouldBe hex(
            "10f1e7e4d13b5915500fdd1fa32071c4c7d1f4c733c068030422aa9ac3d46c4e" +
                "d2826446079faa0914c2d705d98b02a2b5129cd1de164eb9cbd083e8a2503c4e",
        )
    }

    test("ChaCha20 encryption over two blocks and a partial one, in place and at offsets: RFC 8439 §2.4.2") {
        val plain = ("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, " +
            "sunscreen would be it.").toByteArray(Charsets.US_ASCII)
        val expected = hex(
            "6e2e359a2568f98041ba0728dd0d6981e97e7aec1d4360c20a27afccfd9fae0bf91b65c5524733ab8f593dabcd62b357" +
                "1639d624e65152ab8f530c359f0861d807ca0dbf500d6a6156a38e088a22b65e52bc514d16ccf806818ce91ab7793736" +
                "5af90bbf74a35be6b40b8eedf2785e42874d",
        )
        val nonce = words(hex("000000000000004a00000000"))
        val buf = ByteArray(plain.size + 5).also { plain.copyInto(it, 3) }
        ChaCha20.xor(words(key), 1, nonce[0], nonce[1], nonce[2], buf, 3, plain.size, buf, 3, IntArray(16))
        buf.copyOfRange(3, 3 + plain.size) shouldBe expected
        val out = ByteArray(plain.size)
        ChaCha20.xor(words(key), 1, nonce[0], nonce[1], nonce[2], expected, 0, expected.size, out, 0, IntArray(16))
        out shouldBe plain
    }

    test("HChaCha20: draft-irtf-cfrg-xchacha §2.2.1") {
        val nonce = words(hex("000000090000004a0000000031415927"))
        val subkey = IntArray(8)
        ChaCha20.hchacha(words(key), nonce[0], nonce[1], nonce[2], nonce[3], subkey, IntArray(16))
        bytes(subkey) shouldBe hex("82413b4227b27bfed30e42508a877d73a0f9e4d58a74a853c12ec41326d3ecdc")
    }

    fun mac(oneTimeKey: ByteArray, message: ByteArray): ByteArray {
        val poly = Poly1305()
        poly.init(words(oneTimeKey))
        val full = message.size and 15.inv()
        poly.update(message, 0, full)
        poly.finalBlock(message, full, message.size - full)
        return ByteArray(16).also { poly.writeTag(it, 0) }
    }

    test("Poly1305: RFC 8439 §2.5.2") {
        mac(
            hex("85d6be7857556d337f4452fe42d506a80103808afb0db2fd4abff6af4149f51b"),
            "Cryptographic Forum Research Group".toByteArray(Charsets.US_ASCII),
        ) shouldBe hex("a8061dc1305136c6c22b8baf0c0127a9")
    }

    test("Poly1305: the carry and final-reduction edge cases of RFC 8439 appendix A.3 (#5-#9)") {
        val r1 = "01" + "00".repeat(15)
        val r2 = "02" + "00".repeat(15)
        val zero = "00".repeat(16)
        val ff = "ff".repeat(16)
        val cases = listOf(
            Triple(r2 + zero, ff, "03" + "00".repeat(15)),
            Triple(r2 + ff, r2, "03" + "00".repeat(15)),
            Triple(r1 + zero, ff + "f0" + "ff".repeat(15) + "11" + "00".repeat(15), "05" + "00".repeat(15)),
            Triple(r1 + zero, ff + "fb" + "fe".repeat(15) + "01".repeat(16), "00".repeat(16)),
            Triple(r2 + zero, "fd" + "ff".repeat(15), "fa" + "ff".repeat(15)),
        )
        for ((k, m, tag) in cases) mac(hex(k), hex(m)) shouldBe hex(tag)
    }

    test("Poly1305: a tag is accepted only if every one of its 128 bits matches") {
        val poly = Poly1305()
        val oneTimeKey = words(Random(5).nextBytes(32))
        val message = Random(6).nextBytes(77)
        fun hashed() = poly.also { it.init(oneTimeKey); it.padded(message, 0, message.size); it.lengths(0, message.size) }
        val tag = ByteArray(16).also { hashed().writeTag(it, 0) }
        hashed().tagMatches(tag, 0) shouldBe true
        for (bit in 0 until 128) {
            val bad = tag.copyOf().also { it[bit / 8] = (it[bit / 8].toInt() xor (1 shl (bit % 8))).toByte() }
            hashed().tagMatches(bad, 0) shouldBe false
        }
    }
})
