package dev.earshot.voice.crypto

import dev.earshot.voice.base.VoiceConstants
import dev.earshot.voice.crypto.RtpsizeLayout.NONCE_SUFFIX_LENGTH
import dev.earshot.voice.crypto.RtpsizeLayout.OVERHEAD
import dev.earshot.voice.crypto.RtpsizeLayout.TAG_LENGTH
import java.security.GeneralSecurityException

/**
 * AES-256-GCM on the JDK's AES, the default for AES-GCM (unless `earshot.crypto.aesgcm=libsodium`): [GcmCore] runs the
 * block cipher through one `AES/ECB/NoPadding` instance kept for the key (AES-NI on HotSpot; J0 and the packet's key
 * stream in one call) and GHASH in Kotlin with 8-bit tables by default (one key per connection; [wideTables] false:
 * 4-bit), so a warm decrypt allocates nothing and needs no native library. Decryption checks the tag over the
 * ciphertext first and only then decrypts in place, so a forged packet is left untouched. In the side-by-side benchmark
 * (`GcmBenchmark`) it is faster than libsodium over JNA for voice-sized packets, which is why it is the default
 * ([TransportCipher.AES_GCM_PROVIDER_PROPERTY]).
 */
internal class JdkAesGcmCipher(
    secretKey: ByteArray,
    private val wideTables: Boolean = true,
    sharedTable: LongArray? = null,
) : TransportCipher {
    override val mode: EncryptionMode get() = EncryptionMode.AEAD_AES256_GCM_RTPSIZE

    private val gcm = GcmCore(secretKey, 0, TransportCipher.KEY_LENGTH, wideTables, sharedTable)

    /**
     * Another cipher for the same [secretKey] (the caller's promise) that shares this one's GHASH table: for the
     * other direction of the same connection, used from another thread.
     */
    fun sibling(secretKey: ByteArray): JdkAesGcmCipher = JdkAesGcmCipher(secretKey, wideTables, gcm.ghashTable)
    // 12-byte IV = 4-byte wire suffix then 8 zero bytes; only the first 4 bytes are ever rewritten.
    private val iv = ByteArray(IV_LENGTH)
    // Encryption lands here first so that out may alias the inputs.
    private var scratch = ByteArray(VoiceConstants.MAX_DATAGRAM)

    override fun decrypt(packet: ByteArray, offset: Int, length: Int, aadLength: Int): Int {
        if (!RtpsizeLayout.isValidPacket(packet.size, offset, length, aadLength)) return -1
        val cipherLength = length - aadLength - OVERHEAD
        val text = offset + aadLength
        System.arraycopy(packet, offset + length - NONCE_SUFFIX_LENGTH, iv, 0, NONCE_SUFFIX_LENGTH)
        gcm.start(iv, 0, cipherLength)
        gcm.aad(packet, offset, aadLength)
        gcm.authenticate(packet, text, cipherLength)
        gcm.finish()
        if (!gcm.tagMatches(packet, text + cipherLength, TAG_LENGTH)) return -1
        gcm.decrypt(packet, text, cipherLength, packet, text, authenticated = true)
        return cipherLength
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
        gcm.start(iv, 0, plainLength)
        gcm.aad(aad, aadOffset, aadLength)
        gcm.encrypt(plain, plainOffset, plainLength, scratch, 0)
        gcm.finish()
        gcm.copyTag(scratch, plainLength, TAG_LENGTH)
        // Sealed bytes are in scratch before out is touched, so out may alias aad or plain.
        RtpsizeLayout.writeSealed(aad, aadOffset, aadLength, scratch, sealedLength, nonce, out, outOffset)
        return total
    }

    override fun toString(): String = "TransportCipher(${mode.wireName}, JDK)"

    companion object {
        private const val IV_LENGTH = GcmCore.IV_LENGTH

        /** True if this JVM offers AES-256 in ECB mode (always on standard JDKs; checked once, never throws). */
        val isAvailable: Boolean by lazy {
            try {
                GcmCore(ByteArray(TransportCipher.KEY_LENGTH), 0, TransportCipher.KEY_LENGTH)
                true
            } catch (e: GeneralSecurityException) {
                false
            }
        }
    }
}
