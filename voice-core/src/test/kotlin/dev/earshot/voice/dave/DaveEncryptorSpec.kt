package dev.earshot.voice.dave

import io.kotest.assertions.withClue
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.nulls.shouldBeNull
import io.kotest.matchers.shouldBe

class DaveEncryptorSpec : FunSpec({
    fun encrypt(enc: DaveEncryptor, plain: ByteArray): ByteArray {
        val out = ByteArray(enc.maxEncryptedSize(plain.size))
        val n = enc.encryptOpus(plain, 0, plain.size, out)
        withClue("encryptOpus result") { (n > 0) shouldBe true }
        return out.copyOf(n)
    }

    test("a 40-byte frame becomes 52 bytes ending 01 0c fa fa: nonce 1 first, as davey's encryptor") {
        val enc = DaveEncryptor().apply { setKeyRatchet(DaveKeyRatchet(BASE_A)) }
        val plain = ByteArray(40) { (it * 5).toByte() }
        val f = encrypt(enc, plain)
        f.size shouldBe 52
        f.copyOfRange(48, 52).hex() shouldBe "010cfafa"
        // Byte for byte what an independent implementation (JDK GCM, HMAC ratchet) seals with key_0 and nonce 1.
        f.hex() shouldBe DaveReference.sealOpus(DaveReference.ratchetKey(BASE_A, 0), 1, plain).hex()
    }

    test("the nonce grows by one per frame; from 128 on it takes two LEB128 bytes and S becomes 13") {
        val enc = DaveEncryptor().apply { setKeyRatchet(DaveKeyRatchet(BASE_A)) }
        val key0 = DaveReference.ratchetKey(BASE_A, 0)
        for (n in 1..130) {
            val plain = opusFrame(n)
            val f = encrypt(enc, plain)
            f.hex() shouldBe DaveReference.sealOpus(key0, n, plain).hex()
            f[f.size - 3].toInt() shouldBe (if (n < 128) 12 else 13)
        }
        enc.encrypted shouldBe 130
    }

    test("silence frames are copied unencrypted and use no nonce") {
        val enc = DaveEncryptor().apply { setKeyRatchet(DaveKeyRatchet(BASE_A)) }
        encrypt(enc, hex("f8fffe")).hex() shouldBe "f8fffe"
        val plain = opusFrame(1)
        encrypt(enc, plain).hex() shouldBe DaveReference.sealOpus(DaveReference.ratchetKey(BASE_A, 0), 1, plain).hex()
    }

    test("without a ratchet frames are copied unchanged; a new ratchet restarts the nonce at 1") {
        val enc = DaveEncryptor()
        val plain = opusFrame(3)
        encrypt(enc, plain) shouldBe plain
        enc.setKeyRatchet(DaveKeyRatchet(BASE_A))
        repeat(5) { encrypt(enc, plain) }
        enc.setKeyRatchet(DaveKeyRatchet(BASE_B))
        encrypt(enc, plain).hex() shouldBe DaveReference.sealOpus(DaveReference.ratchetKey(BASE_B, 0), 1, plain).hex()
        enc.setKeyRatchet(null)
        encrypt(enc, plain) shouldBe plain
    }

    test("a replaced ratchet is closed (the encryptor owns it)") {
        val enc = DaveEncryptor()
        val r = DaveKeyRatchet(BASE_A)
        enc.setKeyRatchet(r)
        enc.setKeyRatchet(DaveKeyRatchet(BASE_B))
        r.key(0).shouldBeNull()
    }

    test("crossing 2^24 frames moves to generation 1's key and erases generation 0's") {
        val ratchet = DaveKeyRatchet(BASE_A)
        val enc = DaveEncryptor().apply { setKeyRatchet(ratchet) }
        enc.skipToNonce(0x00FFFFFF)
        val plain = opusFrame(9)
        encrypt(enc, plain).hex() shouldBe DaveReference.sealOpus(DaveReference.ratchetKey(BASE_A, 0), 0x00FFFFFF, plain).hex()
        val f = encrypt(enc, plain)
        f.hex() shouldBe DaveReference.sealOpus(DaveReference.ratchetKey(BASE_A, 1), 0x01000000, plain).hex()
        f.copyOfRange(f.size - 7, f.size).hex() shouldBe "80808008" + "0ffafa"
        ratchet.key(0).shouldBeNull()
    }

    test("the 32-bit nonce wraps to generation 256 (key 256), not back to key 0") {
        val enc = DaveEncryptor().apply { setKeyRatchet(DaveKeyRatchet(BASE_A)) }
        enc.skipToNonce(0xFF000000.toInt())
        encrypt(enc, opusFrame(1))
        enc.skipToNonce(0)
        val plain = opusFrame(2)
        encrypt(enc, plain).hex() shouldBe DaveReference.sealOpus(DaveReference.ratchetKey(BASE_A, 256), 0, plain).hex()
    }

    test("maxEncryptedSize is length + 16; a smaller output or a bad window fails without throwing") {
        val enc = DaveEncryptor().apply { setKeyRatchet(DaveKeyRatchet(BASE_A)) }
        enc.maxEncryptedSize(100) shouldBe 116
        val plain = opusFrame(1, 100)
        enc.encryptOpus(plain, 0, 100, ByteArray(115)) shouldBe DaveEncryptor.FAILED
        enc.encryptOpus(plain, 1, 100, ByteArray(116)) shouldBe DaveEncryptor.FAILED
        enc.encryptOpus(plain, -1, 10, ByteArray(116)) shouldBe DaveEncryptor.FAILED
        // The failures did not use up nonce 1.
        val out = ByteArray(116)
        val n = enc.encryptOpus(plain, 0, 100, out)
        out.copyOf(n).hex() shouldBe DaveReference.sealOpus(DaveReference.ratchetKey(BASE_A, 0), 1, plain).hex()
    }

    test("encrypts a window inside a larger array") {
        val enc = DaveEncryptor().apply { setKeyRatchet(DaveKeyRatchet(BASE_A)) }
        val plain = opusFrame(4)
        val big = hex("aabb") + plain + hex("cc")
        val out = ByteArray(enc.maxEncryptedSize(plain.size))
        val n = enc.encryptOpus(big, 2, plain.size, out)
        out.copyOf(n).hex() shouldBe DaveReference.sealOpus(DaveReference.ratchetKey(BASE_A, 0), 1, plain).hex()
    }
})
