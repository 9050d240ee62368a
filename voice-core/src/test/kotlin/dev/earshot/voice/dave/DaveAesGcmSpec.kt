package dev.earshot.voice.dave

import io.kotest.assertions.withClue
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe
import javax.crypto.Cipher
import javax.crypto.spec.GCMParameterSpec
import javax.crypto.spec.SecretKeySpec

class DaveAesGcmSpec : FunSpec({
    fun seal(key: ByteArray, nonce: Int, plain: ByteArray, aad: ByteArray = ByteArray(0)): ByteArray {
        val gcm = DaveAesGcm(key)
        val out = ByteArray(plain.size + 8 + 32)
        gcm.begin(true, nonce)
        if (aad.isNotEmpty()) gcm.aad(aad, 0, aad.size)
        gcm.process(plain, 0, plain.size, out, 0)
        return out.copyOf(gcm.finishEncrypt(out, 0))
    }

    fun jdkSeal(key: ByteArray, nonce: Int, plain: ByteArray, aad: ByteArray): ByteArray {
        val iv = ByteArray(12).also { for (i in 0 until 4) it[8 + i] = (nonce ushr (8 * i)).toByte() }
        val c = Cipher.getInstance("AES/GCM/NoPadding")
        c.init(Cipher.ENCRYPT_MODE, SecretKeySpec(key, "AES"), GCMParameterSpec(128, iv))
        c.updateAAD(aad)
        return c.doFinal(plain)
    }

    test("NIST GCM test cases 1-2 (zero key and IV), tag cut to 8 bytes") {
        // GCM spec (McGrew & Viega) test case 1: empty plaintext; test case 2: one zero block.
        seal(ByteArray(16), 0, ByteArray(0)).hex() shouldBe "58e2fccefa7e3061"
        seal(ByteArray(16), 0, ByteArray(16)).hex() shouldBe "0388dace60b6a392f328c2b971b2fe78" + "ab6e47d42cec13bd"
    }

    test("ciphertext and 8-byte tag equal the JDK's AES-GCM (first 8 tag bytes) for many sizes, nonces and AAD") {
        val r = java.util.Random(42)
        for (len in listOf(0, 1, 15, 16, 17, 31, 33, 78, 200, 1275)) {
            val key = ByteArray(16).also(r::nextBytes)
            val plain = ByteArray(len).also(r::nextBytes)
            val aad = ByteArray(len % 7).also(r::nextBytes)
            val nonce = r.nextInt()
            seal(key, nonce, plain, aad).hex() shouldBe jdkSeal(key, nonce, plain, aad).copyOf(len + 8).hex()
        }
    }

    test("decrypts what it sealed, rejects a changed tag, nonce or byte, and recovers afterwards") {
        val key = ByteArray(16) { it.toByte() }
        val plain = ByteArray(50) { (it * 3).toByte() }
        val sealed = seal(key, 77, plain)
        val gcm = DaveAesGcm(key)
        fun open(data: ByteArray, nonce: Int): ByteArray? {
            val out = ByteArray(data.size + 16)
            gcm.begin(false, nonce)
            gcm.process(data, 0, data.size, out, 0)
            val n = gcm.finishDecrypt(out, 0)
            return if (n < 0) null else out.copyOf(n)
        }
        open(sealed, 77) shouldBe plain
        open(sealed, 78) shouldBe null
        open(sealed.copyOf().also { it[it.size - 1] = (it[it.size - 1] + 1).toByte() }, 77) shouldBe null
        open(sealed.copyOf().also { it[3] = (it[3] + 1).toByte() }, 77) shouldBe null
        open(sealed, 77) shouldBe plain
    }

    test("one instance keeps encrypting with increasing nonces (key reused across inits)") {
        val key = ByteArray(16) { 9 }
        val gcm = DaveAesGcm(key)
        for (n in 1..5) {
            val plain = ByteArray(20) { (it + n).toByte() }
            val out = ByteArray(40)
            gcm.begin(true, n)
            gcm.process(plain, 0, plain.size, out, 0)
            val len = gcm.finishEncrypt(out, 0)
            out.copyOf(len).hex() shouldBe jdkSeal(key, n, plain, ByteArray(0)).copyOf(28).hex()
        }
    }
    test("random cases (text 0..1500 B, AAD 0..40 B, fed in random pieces) equal the JDK's with the tag cut to 8 bytes, and open") {
        val r = java.util.Random(1818)
        for (case in 0 until 300) {
            val key = ByteArray(16).also(r::nextBytes)
            val plain = ByteArray(if (case < 3) case * 16 else r.nextInt(1501)).also(r::nextBytes)
            val aad = ByteArray(if (case % 4 == 0) 0 else r.nextInt(41)).also(r::nextBytes)
            val nonce = r.nextInt()
            val expected = jdkSeal(key, nonce, plain, aad).copyOf(plain.size + 8)
            seal(key, nonce, plain, aad).hex() shouldBe expected.hex()

            val gcm = DaveAesGcm(key, wideTables = case % 2 == 1)
            val out = ByteArray(plain.size + 8)
            gcm.begin(false, nonce)
            gcm.aad(aad, 0, aad.size)
            // Pieces shorter than the tag exercise the held-back tag window.
            var at = 0
            while (at < expected.size) {
                val n = minOf(expected.size - at, if (case % 2 == 0) r.nextInt(12) else r.nextInt(300))
                gcm.process(expected, at, n, out, 0)
                at += n
            }
            withClue("case $case, ${plain.size} B") {
                gcm.finishDecrypt(out, 0) shouldBe plain.size
                out.copyOf(plain.size).hex() shouldBe plain.hex()
            }
        }
    }

    test("any flipped byte of AAD, ciphertext or tag is refused and the output stays untouched") {
        val r = java.util.Random(7)
        for (len in listOf(0, 1, 16, 100, 333)) {
            val key = ByteArray(16).also(r::nextBytes)
            val plain = ByteArray(len).also(r::nextBytes)
            val aad = ByteArray(len % 9 + 1).also(r::nextBytes)
            val sealed = seal(key, len, plain, aad)
            val gcm = DaveAesGcm(key)
            fun open(data: ByteArray, a: ByteArray, out: ByteArray): Int {
                gcm.begin(false, len)
                gcm.aad(a, 0, a.size)
                gcm.process(data, 0, data.size, out, 0)
                return gcm.finishDecrypt(out, 0)
            }
            val sentinel = ByteArray(len + 8) { 0x5A }
            for (i in 0 until sealed.size + aad.size) {
                val data = sealed.copyOf()
                val a = aad.copyOf()
                if (i < sealed.size) data[i] = (data[i].toInt() xor (1 shl r.nextInt(8))).toByte()
                else a[i - sealed.size] = (a[i - sealed.size].toInt() xor 0x80).toByte()
                val out = sentinel.copyOf()
                withClue("length $len, byte $i") {
                    open(data, a, out) shouldBe -1
                    out.hex() shouldBe sentinel.hex()
                }
            }
            val out = sentinel.copyOf()
            open(sealed, aad, out) shouldBe len
            out.copyOf(len).hex() shouldBe plain.hex()
        }
    }
})
