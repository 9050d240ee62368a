package dev.earshot.voice.crypto

/**
 * One direction's cipher for one session key. Not thread-safe: one instance per coroutine/stage.
 *
 * Packets use Discord's rtpsize layout (see [RtpsizeLayout]): `AAD | ciphertext | 16-byte tag | 4-byte nonce suffix`.
 * Implementations keep all scratch state (native buffers, IVs, key schedules) per instance. AES-GCM runs on
 * libsodium where it loads (the faster one per packet in the benchmarks) and else on the JDK's AES with GCM in
 * Kotlin, which needs no native library; no implementation allocates per packet.
 * [toString] names the mode and implementation but never the key.
 */
public interface TransportCipher {
    /** The mode this cipher implements. */
    public val mode: EncryptionMode

    /** Decrypts packet[offset, offset+length) whose first aadLength bytes are cleartext (RTP: the rtpsize header,
     *  RTCP: 8 bytes). Layout: AAD | ciphertext | 16-byte tag | 4-byte nonce suffix. Writes the plaintext in place at
     *  offset+aadLength and returns its length, or -1 if the packet is too short or fails authentication.
     *  Never throws on any input. On -1 the packet bytes are left unchanged. */
    public fun decrypt(packet: ByteArray, offset: Int, length: Int, aadLength: Int): Int

    /** Encrypts for sending: writes AAD (copied from aad) | ciphertext | tag | nonce (uint32 BE) into out at outOffset;
     *  returns bytes written (aadLength + plainLength + [RtpsizeLayout.OVERHEAD]). The output may overlap the inputs.
     *  The caller must never repeat a nonce under one key (Discord senders count up from any start value).
     *  @throws IllegalArgumentException if a range lies outside its array or out is too small (a caller bug).
     *  @throws IllegalStateException if the implementation cannot encrypt (libsodium reporting a failure). */
    public fun encrypt(
        aad: ByteArray, aadOffset: Int, aadLength: Int,
        plain: ByteArray, plainOffset: Int, plainLength: Int,
        nonce: Int, out: ByteArray, outOffset: Int,
    ): Int

    /** Factory for [TransportCipher]s and the key length they take. */
    public companion object {
        /** Length of every Discord voice secret key (op 4 `secret_key`), in bytes. */
        public const val KEY_LENGTH: Int = 32

        /**
         * System property that picks AES-GCM's implementation: `libsodium` (the default where libsodium loads and
         * has AES-GCM on this CPU: the faster one in the side-by-side benchmark) or `jdk` (the JDK's AES with GCM in
         * Kotlin: no JNA, no native library). Read on every [create]; unknown values mean `libsodium`.
         */
        public const val AES_GCM_PROVIDER_PROPERTY: String = "earshot.crypto.aesgcm"

        /**
         * Creates a cipher for [mode] with a copy of [secretKey]. AES-GCM uses libsodium unless [AES_GCM_PROVIDER_PROPERTY]
         * is `jdk` or libsodium (or its AES-GCM) is not available here, in which case it uses the JDK's AES with GCM
         * in Kotlin; XChaCha20-Poly1305 uses libsodium, which is loaded on the first such call only.
         * @throws IllegalArgumentException if [secretKey] is not [KEY_LENGTH] bytes (a configuration error).
         * @throws IllegalStateException if [mode] is not [EncryptionMode.isAvailable] in this JVM; for XChaCha20 the
         *   message names the missing dependency (lazysodium-java and JNA) or the native library's load failure.
         */
        public fun create(mode: EncryptionMode, secretKey: ByteArray): TransportCipher {
            require(secretKey.size == KEY_LENGTH) { "secret key must be $KEY_LENGTH bytes, was ${secretKey.size}" }
            return when (mode) {
                EncryptionMode.AEAD_AES256_GCM_RTPSIZE -> when {
                    !prefersJdkAesGcm() && Sodium.aesGcmAvailable -> SodiumAesGcmCipher(Sodium.bindings!!, secretKey)
                    JdkAesGcmCipher.isAvailable -> JdkAesGcmCipher(secretKey)
                    else -> throw IllegalStateException("AES-256-GCM is available neither in the JDK nor in libsodium")
                }
                EncryptionMode.AEAD_XCHACHA20_POLY1305_RTPSIZE ->
                    SodiumXChaChaCipher(Sodium.bindings ?: throw IllegalStateException(Sodium.unavailableMessage(), Sodium.loadFailure), secretKey)
            }
        }

        /** True if the user asked for the JDK-based AES-GCM through [AES_GCM_PROVIDER_PROPERTY]. */
        internal fun prefersJdkAesGcm(): Boolean =
            System.getProperty(AES_GCM_PROVIDER_PROPERTY)?.trim().equals("jdk", ignoreCase = true)
    }
}
