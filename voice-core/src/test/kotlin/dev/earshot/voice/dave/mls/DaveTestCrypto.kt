package dev.earshot.voice.dave.mls

import java.io.ByteArrayOutputStream
import java.nio.ByteBuffer
import java.nio.ByteOrder
import org.bouncycastle.crypto.digests.SHA256Digest
import org.bouncycastle.crypto.engines.AESEngine
import org.bouncycastle.crypto.generators.SCrypt
import org.bouncycastle.crypto.macs.HMac
import org.bouncycastle.crypto.modes.GCMBlockCipher
import org.bouncycastle.crypto.modes.GCMModeCipher
import org.bouncycastle.crypto.params.AEADParameters
import org.bouncycastle.crypto.params.KeyParameter

/**
 * Test-local DAVE frame crypto and display codes (docs/dave.md §1.4, 1.5, 1.7), small and independent of the product's
 * frame layer, so MLS interop can be checked end to end: hash ratchet, Opus frame encrypt/decrypt (AES-128-GCM,
 * 8-byte tag, no unencrypted ranges), the 30-digit privacy code and the 45-digit verification code.
 */
object DaveTestCrypto {
    /** The media key of [generation] from a 16-byte ratchet base secret. */
    fun ratchetKey(base: ByteArray, generation: Int): ByteArray {
        var secret = base
        for (g in 0 until generation) secret = expandWithLabel(secret, "secret", be32(g), 32)
        return expandWithLabel(secret, "key", be32(generation), 16)
    }

    /** Encrypts an Opus frame as a DAVE protocol frame with the 32-bit truncated [nonce]. */
    fun encryptOpus(base: ByteArray, nonce: Int, plaintext: ByteArray): ByteArray {
        val gcm = gcm(true, base, nonce)
        val out = ByteArray(gcm.getOutputSize(plaintext.size))
        val n = gcm.processBytes(plaintext, 0, plaintext.size, out, 0)
        gcm.doFinal(out, n) // ciphertext || 8-byte tag
        val uleb = uleb128(nonce.toLong() and 0xFFFFFFFFL)
        val frame = ByteArrayOutputStream()
        frame.write(out)
        frame.write(uleb)
        frame.write(8 + uleb.size + 1 + 2)
        frame.write(0xFA); frame.write(0xFA)
        return frame.toByteArray()
    }

    /** Decrypts an Opus DAVE frame (no unencrypted ranges), or null if it is not a protocol frame or fails to verify. */
    fun decryptOpus(base: ByteArray, frame: ByteArray): ByteArray? {
        val n = frame.size
        if (n < 11 || frame[n - 1] != 0xFA.toByte() || frame[n - 2] != 0xFA.toByte()) return null
        val supplemental = frame[n - 3].toInt() and 0xFF
        if (supplemental < 11 || supplemental > n) return null
        val tagStart = n - supplemental
        var pos = tagStart + 8
        var nonce = 0L
        var shift = 0
        while (true) {
            if (pos >= n - 3) return null
            val b = frame[pos++].toInt() and 0xFF
            nonce = nonce or ((b and 0x7F).toLong() shl shift)
            shift += 7
            if (b and 0x80 == 0) break
        }
        if (pos != n - 3) return null // Opus frames carry no unencrypted ranges
        val gcm = gcm(false, base, nonce.toInt())
        val input = frame.copyOfRange(0, tagStart + 8)
        val out = ByteArray(gcm.getOutputSize(input.size))
        return runCatching {
            val m = gcm.processBytes(input, 0, input.size, out, 0)
            out.copyOf(m + gcm.doFinal(out, m))
        }.getOrNull()
    }

    private fun gcm(encrypt: Boolean, base: ByteArray, nonce: Int): GCMModeCipher {
        val key = ratchetKey(base, nonce ushr 24)
        val iv = ByteArray(12)
        ByteBuffer.wrap(iv, 8, 4).order(ByteOrder.LITTLE_ENDIAN).putInt(nonce)
        return GCMBlockCipher.newInstance(AESEngine.newInstance()).apply {
            init(encrypt, AEADParameters(KeyParameter(key), 64, iv, ByteArray(0)))
        }
    }

    /** The 30-digit voice privacy code of an epoch authenticator. */
    fun privacyCode(epochAuthenticator: ByteArray): String = displayableCode(epochAuthenticator, 30)

    /** The 45-digit pairwise verification code of two members (version 0 fingerprints, scrypt). */
    fun verificationCode(keyA: ByteArray, userA: Long, keyB: ByteArray, userB: Long): String {
        fun fingerprint(key: ByteArray, user: Long) = byteArrayOf(0, 0) + key + ByteBuffer.allocate(8).putLong(user).array()
        val pair = listOf(fingerprint(keyA, userA), fingerprint(keyB, userB)).sortedWith { x, y -> java.util.Arrays.compareUnsigned(x, y) }
        val salt = hex("24cab17a7af8ec2b82b412b92dab192e")
        return displayableCode(SCrypt.generate(pair[0] + pair[1], salt, 16384, 8, 2, 64), 45)
    }

    private fun displayableCode(data: ByteArray, digits: Int): String = buildString {
        for (i in 0 until digits step 5) {
            var v = 0L
            for (k in 0 until 5) v = (v shl 8) or (data[i + k].toLong() and 0xFF)
            append((v % 100_000).toString().padStart(5, '0'))
        }
    }

    private fun expandWithLabel(secret: ByteArray, label: String, context: ByteArray, length: Int): ByteArray {
        val info = byteArrayOf((length ushr 8).toByte(), length.toByte()) +
            MlsVectors.encode("MLS 1.0 $label".toByteArray()) + MlsVectors.encode(context)
        val mac = HMac(SHA256Digest()).apply { init(KeyParameter(secret)) } // HKDF-Expand, one block (length <= 32)
        mac.update(info, 0, info.size)
        mac.update(1)
        return ByteArray(32).also { mac.doFinal(it, 0) }.copyOf(length)
    }

    private fun be32(v: Int) = ByteBuffer.allocate(4).putInt(v).array()

    private fun uleb128(value: Long): ByteArray {
        val out = ByteArrayOutputStream()
        var v = value
        do {
            var b = (v and 0x7F).toInt()
            v = v ushr 7
            if (v != 0L) b = b or 0x80
            out.write(b)
        } while (v != 0L)
        return out.toByteArray()
    }

    fun hex(s: String): ByteArray = java.util.HexFormat.of().parseHex(s)
    fun hex(b: ByteArray): String = java.util.HexFormat.of().formatHex(b)
}
