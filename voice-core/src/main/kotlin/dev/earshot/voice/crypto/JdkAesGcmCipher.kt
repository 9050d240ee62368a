package dev.earshot.voice.crypto

import dev.earshot.voice.base.VoiceConstants
import dev.earshot.voice.crypto.RtpsizeLayout.NONCE_SUFFIX_LENGTH
import dev.earshot.voice.crypto.RtpsizeLayout.OVERHEAD
import dev.earshot.voice.crypto.RtpsizeLayout.TAG_LENGTH
import java.security.GeneralSecurityException
import javax.crypto.Cipher
import javax.crypto.spec.GCMParameterSpec
import javax.crypto.spec.SecretKeySpec

/**
 * AES-256-GCM through the JDK (`AES/GCM/NoPadding`), the default AES-GCM implementation: HotSpot runs it on AES-NI
 * and CLMUL intrinsics, and it needs no native library. The JDK re-creates its GCM engine on every `init`, so each
 * decrypt allocates about 1.1 KB on JDK 17 (1.8 KB plus an exception when the tag check fails); libsodium's
 * implementation (selected with [TransportCipher.AES_GCM_PROVIDER_PROPERTY]) allocates nothing.
 */
internal class JdkAesGcmCipher(secretKey: ByteArray) : TransportCipher {
    override val mode: EncryptionMode get() = EncryptionMode.AEAD_AES256_GCM_RTPSIZE

    private val key = SecretKeySpec(secretKey, 0, TransportCipher.KEY_LENGTH, AES)
    private val cipher: Cipher = Cipher.getInstance(TRANSFORMATION)
    // 12-byte IV = 4-byte wire suffix then 8 zero bytes; only the first 4 bytes are ever rewritten.
    private val iv = ByteArray(IV_LENGTH)
    // Decrypt lands here first so that a failed tag check leaves the packet untouched.
    private var scratch = ByteArray(VoiceConstants.MAX_DATAGRAM)

    override fun decrypt(packet: ByteArray, offset: Int, length: Int, aadLength: Int): Int {
        if (!RtpsizeLayout.isValidPacket(packet.size, offset, length, aadLength)) return -1
        val cipherLength = length - aadLength - OVERHEAD
        if (scratch.size < cipherLength) scratch = ByteArray(cipherLength)
        System.arraycopy(packet, offset + length - NONCE_SUFFIX_LENGTH, iv, 0, NONCE_SUFFIX_LENGTH)
        val written = try {
            cipher.init(Cipher.DECRYPT_MODE, key, GCMParameterSpec(TAG_BITS, iv))
            cipher.updateAAD(packet, offset, aadLength)
            cipher.doFinal(packet, offset + aadLength, cipherLength + TAG_LENGTH, scratch, 0)
        } catch (e: GeneralSecurityException) {
            // AEADBadTagException is the JDK's only way to report a forged or corrupted packet.
            return -1
        }
        System.arraycopy(scratch, 0, packet, offset + aadLength, written)
        return written
    }

    override fun encrypt(
        aad: ByteArray, aadOffset: Int, aadLength: Int,
        plain: ByteArray, plainOffset: Int, plainLength: Int,
        nonce: Int, out: ByteArray, outOffset: Int,
    ): Int {
        val total = checkEncryptRanges(aad, aadOffset, aadLength, plain, plainOffset, plainLength, out, outOffset)
        val sealedLength = plainLength + TAG_LENGTH
        if (scratch.size < sealedLength) scratch = ByteArray(sealedLength)
        for (i in 0 until NONCE_SUFFIX_LENGTH) iv[i] = (nonce ushr (24 - 8 * i)).toByte()
        try {
            cipher.init(Cipher.ENCRYPT_MODE, key, GCMParameterSpec(TAG_BITS, iv))
            cipher.updateAAD(aad, aadOffset, aadLength)
            cipher.doFinal(plain, plainOffset, plainLength, scratch, 0)
        } catch (e: GeneralSecurityException) {
            // The JDK refuses to encrypt twice in a row with one key and IV.
            throw IllegalStateException("AES-GCM encryption failed (repeated nonce?)", e)
        }
        // Sealed bytes are in scratch before out is touched, so out may alias aad or plain.
        System.arraycopy(aad, aadOffset, out, outOffset, aadLength)
        System.arraycopy(scratch, 0, out, outOffset + aadLength, sealedLength)
        System.arraycopy(iv, 0, out, outOffset + aadLength + sealedLength, NONCE_SUFFIX_LENGTH)
        return total
    }

    override fun toString(): String = "TransportCipher(${mode.wireName}, JDK)"

    companion object {
        private const val AES = "AES"
        private const val TRANSFORMATION = "AES/GCM/NoPadding"
        private const val IV_LENGTH = 12
        private const val TAG_BITS = TAG_LENGTH * 8

        /** True if this JVM offers AES-256-GCM (always on standard JDKs; checked once, never throws). */
        val isAvailable: Boolean by lazy {
            try {
                Cipher.getInstance(TRANSFORMATION)
                    .init(Cipher.ENCRYPT_MODE, SecretKeySpec(ByteArray(TransportCipher.KEY_LENGTH), AES), GCMParameterSpec(TAG_BITS, ByteArray(IV_LENGTH)))
                true
            } catch (e: GeneralSecurityException) {
                false
            }
        }
    }
}
