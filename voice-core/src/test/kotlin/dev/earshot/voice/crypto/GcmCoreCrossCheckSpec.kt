package dev.earshot.voice.crypto

import io.kotest.assertions.withClue
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe
import java.util.Random
import javax.crypto.Cipher
import javax.crypto.spec.GCMParameterSpec
import javax.crypto.spec.SecretKeySpec

/**
 * [GcmCore] (8-bit and 4-bit tables) against the JDK's `AES/GCM/NoPadding` on random keys (AES-128 and AES-256), IVs,
 * AAD of 0..80 bytes and text of 0..1500 bytes, fed whole and in random pieces: same ciphertext, same 16-byte tag, and decryption (hashing
 * as it goes, or authenticating first) gives back the plaintext. Then [JdkAesGcmCipher] on random rtpsize packets: any
 * byte of AAD, ciphertext, tag or nonce suffix flipped is refused and leaves the packet untouched.
 */
class GcmCoreCrossCheckSpec : FunSpec({
    fun jdkSeal(key: ByteArray, iv: ByteArray, aad: ByteArray, plain: ByteArray): ByteArray {
        val c = Cipher.getInstance("AES/GCM/NoPadding")
        c.init(Cipher.ENCRYPT_MODE, SecretKeySpec(key, "AES"), GCMParameterSpec(128, iv))
        c.updateAAD(aad)
        return c.doFinal(plain)
    }

    /** Calls [feed] on consecutive random pieces of `[0, len)` (whole when [whole]); pieces may be empty. */
    fun pieces(r: Random, len: Int, whole: Boolean, feed: (Int, Int) -> Unit) {
        if (whole) return feed(0, len)
        var at = 0
        while (at < len) {
            val n = minOf(len - at, r.nextInt(40))
            feed(at, n)
            at += n
        }
    }

    val lengths = listOf(0, 1, 15, 16, 17, 31, 32, 33, 63, 64, 65, 104, 1008, 1023, 1024, 1025, 1039, 1040, 1041, 1500)

    test("ciphertext and tag equal the JDK's for 600 random cases of text 0..1500 bytes and AAD 0..80 bytes, both table widths") {
        val r = Random(18)
        for (case in 0 until 600) {
            val key = ByteArray(if (case % 2 == 0) 16 else 32).also(r::nextBytes)
            val iv = ByteArray(12).also(r::nextBytes)
            val len = if (case < lengths.size) lengths[case] else r.nextInt(1501)
            val aad = ByteArray(if (case % 5 == 0) 0 else r.nextInt(81)).also(r::nextBytes)
            val plain = ByteArray(len).also(r::nextBytes)
            val expected = jdkSeal(key, iv, aad, plain)
            val whole = case % 3 != 0
            val wide = case % 4 >= 2
            val gcm = GcmCore(key, 0, key.size, wideTables = wide)
            withClue("case $case: key ${key.size} B, text $len B, AAD ${aad.size} B, whole $whole, 8-bit tables $wide") {
                // Encrypt; the length hint is given in one case out of two.
                val sealed = ByteArray(len + 16)
                gcm.start(iv, 0, if (case % 2 == 0) len else 0)
                pieces(r, aad.size, whole) { at, n -> gcm.aad(aad, at, n) }
                pieces(r, len, whole) { at, n -> gcm.encrypt(plain, at, n, sealed, at) }
                gcm.finish()
                gcm.copyTag(sealed, len, 16)
                sealed.toList() shouldBe expected.toList()

                // Decrypt in place, hashing as it goes.
                val text = expected.copyOf(len)
                gcm.start(iv, 0)
                pieces(r, aad.size, whole) { at, n -> gcm.aad(aad, at, n) }
                pieces(r, len, whole) { at, n -> gcm.decrypt(text, at, n, text, at) }
                gcm.finish()
                gcm.tagMatches(expected, len, 16) shouldBe true
                text.toList() shouldBe plain.toList()

                // Authenticate first, then decrypt into another array.
                val out = ByteArray(len)
                gcm.start(iv, 0, len)
                gcm.aad(aad, 0, aad.size)
                pieces(r, len, whole) { at, n -> gcm.authenticate(expected, at, n) }
                gcm.finish()
                gcm.tagMatches(expected, len, 16) shouldBe true
                pieces(r, len, whole) { at, n -> gcm.decrypt(expected, at, n, out, at, authenticated = true) }
                out.toList() shouldBe plain.toList()
            }
        }
    }

    test("JdkAesGcmCipher opens what the JDK sealed, and refuses any flipped byte leaving the packet untouched") {
        val r = Random(99)
        for (case in 0 until 12) {
            val key = ByteArray(32).also(r::nextBytes)
            val aadLength = intArrayOf(12, 16, 8, 28)[case % 4]
            val len = if (case < 4) intArrayOf(0, 1, 16, 104)[case] else r.nextInt(300)
            val plain = ByteArray(len).also(r::nextBytes)
            val packet = ByteArray(aadLength + len + RtpsizeLayout.OVERHEAD).also { r.nextBytes(it) }
            val nonce = packet.copyOfRange(packet.size - 4, packet.size)
            val iv = nonce.copyOf(12)
            val sealed = jdkSeal(key, iv, packet.copyOf(aadLength), plain)
            System.arraycopy(sealed, 0, packet, aadLength, sealed.size)
            val cipher = JdkAesGcmCipher(key)
            withClue("case $case: text $len B, AAD $aadLength B") {
                for (i in packet.indices) {
                    val bad = packet.copyOf().also { it[i] = (it[i].toInt() xor (1 shl r.nextInt(8))).toByte() }
                    val before = bad.copyOf()
                    withClue("byte $i") {
                        cipher.decrypt(bad, 0, bad.size, aadLength) shouldBe -1
                        bad.toList() shouldBe before.toList()
                    }
                }
                val good = packet.copyOf()
                cipher.decrypt(good, 0, good.size, aadLength) shouldBe len
                good.copyOfRange(aadLength, aadLength + len).toList() shouldBe plain.toList()
            }
        }
    }
})
