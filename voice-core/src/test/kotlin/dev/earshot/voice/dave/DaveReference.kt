package dev.earshot.voice.dave

import javax.crypto.Cipher
import javax.crypto.Mac
import javax.crypto.spec.GCMParameterSpec
import javax.crypto.spec.SecretKeySpec

/**
 * Independent re-implementations used as test oracles, sharing no code with production: the hash ratchet from
 * RFC 5869 HKDF-Expand written on the JDK's HmacSHA256, and DAVE Opus frames sealed with the JDK's AES-GCM
 * (full 16-byte tag, cut to 8 bytes as libdave does).
 */
object DaveReference {
    /** RFC 5869 §2.3 HKDF-Expand: T(i) = HMAC(PRK, T(i-1) || info || i). */
    fun hkdfExpand(prk: ByteArray, info: ByteArray, length: Int): ByteArray {
        val mac = Mac.getInstance("HmacSHA256")
        mac.init(SecretKeySpec(prk, "HmacSHA256"))
        val out = java.io.ByteArrayOutputStream()
        var t = ByteArray(0)
        var i = 1
        while (out.size() < length) {
            mac.update(t)
            mac.update(info)
            mac.update(i.toByte())
            t = mac.doFinal()
            out.write(t)
            i++
        }
        return out.toByteArray().copyOf(length)
    }

    /** RFC 9420 ExpandWithLabel with a 4-byte big-endian generation as context. */
    fun expandWithLabel(secret: ByteArray, label: String, generation: Int, length: Int): ByteArray {
        val fullLabel = ("MLS 1.0 $label").toByteArray()
        val context = java.nio.ByteBuffer.allocate(4).putInt(generation).array()
        val info = java.io.ByteArrayOutputStream().apply {
            write(length shr 8); write(length and 0xFF)
            write(fullLabel.size); write(fullLabel)
            write(context.size); write(context)
        }.toByteArray()
        return hkdfExpand(secret, info, length)
    }

    /** key_g of the ratchet started at [base], walking the secret chain from generation 0. */
    fun ratchetKey(base: ByteArray, generation: Int): ByteArray {
        var secret = base
        for (g in 0 until generation) secret = expandWithLabel(secret, "secret", g, 32)
        return expandWithLabel(secret, "key", generation, 16)
    }

    /** The DAVE frame an Opus encryptor must produce for [plain] with [key] and [truncatedNonce]. */
    fun sealOpus(key: ByteArray, truncatedNonce: Int, plain: ByteArray): ByteArray {
        val iv = ByteArray(12)
        for (i in 0 until 4) iv[8 + i] = (truncatedNonce ushr (8 * i)).toByte()
        val cipher = Cipher.getInstance("AES/GCM/NoPadding")
        cipher.init(Cipher.ENCRYPT_MODE, SecretKeySpec(key, "AES"), GCMParameterSpec(128, iv))
        val sealed = cipher.doFinal(plain) // ciphertext || 16-byte tag
        val nonce = uleb128(truncatedNonce.toLong() and 0xFFFFFFFFL)
        val supplemental = 8 + nonce.size + 1 + 2
        return sealed.copyOf(plain.size + 8) + nonce + byteArrayOf(supplemental.toByte(), 0xFA.toByte(), 0xFA.toByte())
    }

    fun uleb128(value: Long): ByteArray {
        val out = java.io.ByteArrayOutputStream()
        var v = value
        do {
            var b = (v and 0x7F).toInt()
            v = v ushr 7
            if (v != 0L) b = b or 0x80
            out.write(b)
        } while (v != 0L)
        return out.toByteArray()
    }
}

fun hex(s: String): ByteArray = ByteArray(s.length / 2) { s.substring(2 * it, 2 * it + 2).toInt(16).toByte() }

fun ByteArray.hex(): String = joinToString("") { "%02x".format(it) }
