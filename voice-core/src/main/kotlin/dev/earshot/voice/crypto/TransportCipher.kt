package dev.earshot.voice.crypto

/**
 * One direction's cipher for one session key. Not thread-safe: one instance per coroutine/stage.
 *
 * Packets use Discord's rtpsize layout (see [RtpsizeLayout]): `AAD | ciphertext | 16-byte tag | 4-byte nonce suffix`.
 * Implementations keep all scratch state (native buffers, IVs, key schedules) per instance. AES-GCM runs on the JDK's
 * AES with GCM in Kotlin and XChaCha20-Poly1305 wholly in Kotlin (each the faster one per voice packet in the
 * benchmarks, and neither needs a native library), or on libsodium if asked for; no implementation allocates per
 * packet.
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
         * System property that picks AES-GCM's implementation: `jdk` (the default: the JDK's AES with GCM in Kotlin,
         * the faster one per voice packet in the side-by-side benchmark; no JNA, no native library) or `libsodium`
         * (where libsodium loads and has AES-GCM on this CPU; faster for datagrams near 1 KB and above). Read on every
         * [create]; unknown values mean `jdk`.
         */
        public const val AES_GCM_PROVIDER_PROPERTY: String = "earshot.crypto.aesgcm"

        /**
         * System property that picks XChaCha20-Poly1305's implementation: `jvm` (the default: HChaCha20, ChaCha20 and
         * Poly1305 in Kotlin, about twice as fast per voice packet as libsodium over JNA in the side-by-side
         * benchmark; no JNA, no native library) or `libsodium` (where lazysodium-java, JNA and libsodium load; else the
         * default). Read on every [create]; unknown values mean `jvm`.
         */
        public const val XCHACHA_PROVIDER_PROPERTY: String = "earshot.crypto.xchacha"

        /**
         * Creates a cipher for [mode] with a copy of [secretKey]. AES-GCM uses the JDK's AES with GCM in Kotlin unless
         * [AES_GCM_PROVIDER_PROPERTY] is `libsodium` and libsodium has AES-GCM here (libsodium is then loaded; it is
         * also the fallback on a JVM without AES); XChaCha20-Poly1305 runs in Kotlin unless [XCHACHA_PROVIDER_PROPERTY]
         * is `libsodium` and libsodium loads. libsodium is loaded only when a property asks for it.
         * @throws IllegalArgumentException if [secretKey] is not [KEY_LENGTH] bytes (a configuration error).
         * @throws IllegalStateException if [mode] is not [EncryptionMode.isAvailable] in this JVM (AES-GCM on a JVM
         *   without AES and without libsodium).
         */
        public fun create(mode: EncryptionMode, secretKey: ByteArray): TransportCipher {
            require(secretKey.size == KEY_LENGTH) { "secret key must be $KEY_LENGTH bytes, was ${secretKey.size}" }
            return when (mode) {
                EncryptionMode.AEAD_AES256_GCM_RTPSIZE -> when {
                    // Sodium is touched only when asked for, so that the default never loads JNA.
                    prefersSodiumAesGcm() && Sodium.aesGcmAvailable -> SodiumAesGcmCipher(Sodium.bindings!!, secretKey)
                    JdkAesGcmCipher.isAvailable -> {
                        if (prefersSodiumAesGcm()) Sodium.warnFallbackOnce(AES_GCM_PROVIDER_PROPERTY)
                        JdkAesGcmCipher(secretKey)
                    }
                    Sodium.aesGcmAvailable -> SodiumAesGcmCipher(Sodium.bindings!!, secretKey)
                    else -> throw IllegalStateException("AES-256-GCM is available neither in the JDK nor in libsodium")
                }
                EncryptionMode.AEAD_XCHACHA20_POLY1305_RTPSIZE -> {
                    // As for AES-GCM, Sodium is touched only when asked for.
                    val asked = prefersSodium(XCHACHA_PROVIDER_PROPERTY)
                    val sodium = if (asked) Sodium.bindings else null
                    if (asked && sodium == null) Sodium.warnFallbackOnce(XCHACHA_PROVIDER_PROPERTY)
                    if (sodium != null) SodiumXChaChaCipher(sodium, secretKey) else JvmXChaChaCipher(secretKey)
                }
            }
        }

        /**
         * Two ciphers for [secretKey], one per direction of a connection (each used by one thread): as [create], but
         * the JDK's AES-GCM pair shares its read-only GHASH table.
         */
        internal fun createPair(mode: EncryptionMode, secretKey: ByteArray): Pair<TransportCipher, TransportCipher> {
            val first = create(mode, secretKey)
            val second = (first as? JdkAesGcmCipher)?.sibling(secretKey) ?: create(mode, secretKey)
            return first to second
        }

        /** True if the user asked for libsodium's AES-GCM through [AES_GCM_PROVIDER_PROPERTY]. */
        internal fun prefersSodiumAesGcm(): Boolean = prefersSodium(AES_GCM_PROVIDER_PROPERTY)

        /** True if the system property [name] asks for libsodium. */
        private fun prefersSodium(name: String): Boolean = System.getProperty(name)?.trim().equals("libsodium", ignoreCase = true)
    }
}
