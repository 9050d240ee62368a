package dev.earshot.voice.crypto

import dev.earshot.voice.base.VoiceConstants
import dev.earshot.voice.crypto.RtpsizeLayout.NONCE_SUFFIX_LENGTH
import dev.earshot.voice.crypto.RtpsizeLayout.OVERHEAD
import dev.earshot.voice.crypto.RtpsizeLayout.TAG_LENGTH
import org.bouncycastle.crypto.modes.ChaCha20Poly1305
import org.bouncycastle.crypto.params.AEADParameters
import org.bouncycastle.crypto.params.KeyParameter

/*
 * A second pure-JVM XChaCha20-Poly1305, on BouncyCastle, kept in the tests: the vector, tamper and round-trip specs run
 * it beside the library's own JvmXChaChaCipher and libsodium, and the benchmarks measure it as the maintained-library
 * alternative (BENCHMARKS.md). Its HChaCha20 below is written separately from the library's, on bytes.
 */

/**
 * HChaCha20 (draft-irtf-cfrg-xchacha §2.2): derives the per-nonce subkey of XChaCha20 from the key and the first 16
 * bytes of the 24-byte nonce. The rest of XChaCha20-Poly1305 is ChaCha20-Poly1305 (RFC 8439) under the subkey with
 * the nonce `00 00 00 00 || nonce[16, 24)`.
 */
object HChaCha20 {
    private val CONSTANTS = intArrayOf(0x61707865, 0x3320646e, 0x79622d32, 0x6b206574)

    /** Writes the 32-byte subkey for `key[0, 32)` and `nonce[nonceOffset, nonceOffset + 16)` to [out]; [state] is 16 ints of scratch. */
    fun subkey(key: ByteArray, nonce: ByteArray, nonceOffset: Int, out: ByteArray, state: IntArray) {
        for (i in 0 until 4) state[i] = CONSTANTS[i]
        for (i in 0 until 8) state[4 + i] = le32(key, 4 * i)
        for (i in 0 until 4) state[12 + i] = le32(nonce, nonceOffset + 4 * i)
        repeat(10) {
            quarter(state, 0, 4, 8, 12); quarter(state, 1, 5, 9, 13); quarter(state, 2, 6, 10, 14); quarter(state, 3, 7, 11, 15)
            quarter(state, 0, 5, 10, 15); quarter(state, 1, 6, 11, 12); quarter(state, 2, 7, 8, 13); quarter(state, 3, 4, 9, 14)
        }
        for (i in 0 until 4) putLe32(out, 4 * i, state[i])
        for (i in 0 until 4) putLe32(out, 16 + 4 * i, state[12 + i])
        state.fill(0)
    }

    private fun quarter(s: IntArray, a: Int, b: Int, c: Int, d: Int) {
        s[a] += s[b]; s[d] = Integer.rotateLeft(s[d] xor s[a], 16)
        s[c] += s[d]; s[b] = Integer.rotateLeft(s[b] xor s[c], 12)
        s[a] += s[b]; s[d] = Integer.rotateLeft(s[d] xor s[a], 8)
        s[c] += s[d]; s[b] = Integer.rotateLeft(s[b] xor s[c], 7)
    }

    private fun le32(b: ByteArray, off: Int): Int =
        (b[off].toInt() and 0xFF) or ((b[off + 1].toInt() and 0xFF) shl 8) or
            ((b[off + 2].toInt() and 0xFF) shl 16) or (b[off + 3].toInt() shl 24)

    private fun putLe32(b: ByteArray, off: Int, v: Int) {
        b[off] = v.toByte(); b[off + 1] = (v ushr 8).toByte(); b[off + 2] = (v ushr 16).toByte(); b[off + 3] = (v ushr 24).toByte()
    }
}

/**
 * XChaCha20-Poly1305 in pure JVM code: HChaCha20 here, then a ChaCha20-Poly1305 engine per packet ([open] and
 * [seal] are BouncyCastle's). Discord's 24-byte nonce is the 4-byte wire suffix then 20 zero bytes,
 * so the subkey depends on the suffix and the inner 12-byte nonce is all zeros. Decryption lands in a scratch
 * buffer first, so a packet that fails authentication is left untouched.
 */
abstract class HChaChaThenAead(secretKey: ByteArray) : TransportCipher {
    final override val mode: EncryptionMode get() = EncryptionMode.AEAD_XCHACHA20_POLY1305_RTPSIZE

    private val key = secretKey.copyOf(TransportCipher.KEY_LENGTH)
    private val nonce = ByteArray(XCHACHA_NONCE_LENGTH)
    private val state = IntArray(16)
    protected val subkey = ByteArray(TransportCipher.KEY_LENGTH)
    protected val innerNonce = ByteArray(INNER_NONCE_LENGTH)
    private var scratch = ByteArray(VoiceConstants.MAX_DATAGRAM)

    /** Opens `in[inOff, inOff + len)` (ciphertext then tag) under [subkey] into `out[0 ...]`; returns the plaintext length or -1. */
    protected abstract fun open(aad: ByteArray, aadOff: Int, aadLen: Int, input: ByteArray, inOff: Int, len: Int, out: ByteArray): Int

    /** Seals `in[inOff, inOff + len)` under [subkey] into `out[0 ...]` (ciphertext then tag). */
    protected abstract fun seal(aad: ByteArray, aadOff: Int, aadLen: Int, input: ByteArray, inOff: Int, len: Int, out: ByteArray)

    final override fun decrypt(packet: ByteArray, offset: Int, length: Int, aadLength: Int): Int {
        if (!RtpsizeLayout.isValidPacket(packet.size, offset, length, aadLength)) return -1
        val cipherLength = length - aadLength - OVERHEAD
        if (scratch.size < cipherLength + TAG_LENGTH) scratch = ByteArray(cipherLength + TAG_LENGTH)
        System.arraycopy(packet, offset + length - NONCE_SUFFIX_LENGTH, nonce, 0, NONCE_SUFFIX_LENGTH)
        HChaCha20.subkey(key, nonce, 0, subkey, state)
        val n = try {
            open(packet, offset, aadLength, packet, offset + aadLength, cipherLength + TAG_LENGTH, scratch)
        } catch (e: Exception) {
            -1
        }
        if (n != cipherLength) return -1
        System.arraycopy(scratch, 0, packet, offset + aadLength, n)
        return n
    }

    final override fun encrypt(
        aad: ByteArray, aadOffset: Int, aadLength: Int,
        plain: ByteArray, plainOffset: Int, plainLength: Int,
        nonce: Int, out: ByteArray, outOffset: Int,
    ): Int {
        val total = checkEncryptRanges(aad, aadOffset, aadLength, plain, plainOffset, plainLength, out, outOffset)
        if (scratch.size < plainLength + TAG_LENGTH) scratch = ByteArray(plainLength + TAG_LENGTH)
        for (i in 0 until NONCE_SUFFIX_LENGTH) this.nonce[i] = (nonce ushr (24 - 8 * i)).toByte()
        HChaCha20.subkey(key, this.nonce, 0, subkey, state)
        seal(aad, aadOffset, aadLength, plain, plainOffset, plainLength, scratch)
        System.arraycopy(aad, aadOffset, out, outOffset, aadLength)
        System.arraycopy(scratch, 0, out, outOffset + aadLength, plainLength + TAG_LENGTH)
        System.arraycopy(this.nonce, 0, out, outOffset + aadLength + plainLength + TAG_LENGTH, NONCE_SUFFIX_LENGTH)
        return total
    }

    private companion object {
        const val XCHACHA_NONCE_LENGTH = 24
        const val INNER_NONCE_LENGTH = 12
    }
}

/** [HChaChaThenAead] on BouncyCastle's `ChaCha20Poly1305` (re-keyed per packet). */
class BcXChaChaCipher(secretKey: ByteArray) : HChaChaThenAead(secretKey) {
    private val aead = ChaCha20Poly1305()

    override fun open(aad: ByteArray, aadOff: Int, aadLen: Int, input: ByteArray, inOff: Int, len: Int, out: ByteArray): Int {
        aead.init(false, AEADParameters(KeyParameter(subkey), TAG_LENGTH * 8, innerNonce))
        aead.processAADBytes(aad, aadOff, aadLen)
        val n = aead.processBytes(input, inOff, len, out, 0)
        return n + aead.doFinal(out, n)
    }

    override fun seal(aad: ByteArray, aadOff: Int, aadLen: Int, input: ByteArray, inOff: Int, len: Int, out: ByteArray) {
        aead.init(true, AEADParameters(KeyParameter(subkey), TAG_LENGTH * 8, innerNonce))
        aead.processAADBytes(aad, aadOff, aadLen)
        val n = aead.processBytes(input, inOff, len, out, 0)
        aead.doFinal(out, n)
    }

    override fun toString(): String = "TransportCipher(${mode.wireName}, BouncyCastle)"
}
