package dev.earshot.voice.crypto

/**
 * A Discord voice transport-encryption mode that Earshot implements; [wireName] is the string used in
 * op 2 Ready (`modes`), op 1 Select Protocol (`mode`) and op 4 Session Description.
 *
 * Only the two modes Discord still accepts are listed (docs/protocol.md §5.1); both use the rtpsize layout
 * described on [TransportCipher.decrypt].
 */
public enum class EncryptionMode(public val wireName: String) {
    /** AES-256-GCM with a 12-byte IV (4-byte suffix, then 8 zero bytes). Preferred by Discord, but not always offered. */
    AEAD_AES256_GCM_RTPSIZE("aead_aes256_gcm_rtpsize"),

    /** XChaCha20-Poly1305 (IETF) with a 24-byte nonce (4-byte suffix, then 20 zero bytes). Always offered by Discord. */
    AEAD_XCHACHA20_POLY1305_RTPSIZE("aead_xchacha20_poly1305_rtpsize");

    /**
     * Whether [TransportCipher.create] can build a cipher for this mode in this JVM: AES-GCM needs the JDK's
     * `AES/ECB/NoPadding` (always there on standard JDKs) or libsodium on a CPU with AES-NI; XChaCha20-Poly1305 runs
     * in Kotlin and is always available. Neither question loads libsodium, unless the JDK lacks AES.
     */
    public val isAvailable: Boolean
        get() = when (this) {
            AEAD_AES256_GCM_RTPSIZE -> JdkAesGcmCipher.isAvailable || Sodium.aesGcmAvailable
            AEAD_XCHACHA20_POLY1305_RTPSIZE -> true
        }

    /** Lookup by wire name and Earshot's mode choice from the modes offered in op 2 Ready. */
    public companion object {
        /** The mode whose [wireName] is exactly [name], or null for unknown and discontinued modes. */
        public fun fromWireName(name: String): EncryptionMode? = entries.firstOrNull { it.wireName == name }

        /**
         * AES-GCM when offered (and usable on this JVM), else XChaCha20; null if neither is offered.
         * A mode counts only if it [isAvailable]; order in [offered] does not matter.
         */
        public fun choose(offered: Collection<String>): EncryptionMode? =
            PREFERENCE.firstOrNull { it.wireName in offered && it.isAvailable }

        // Discord's own preference (docs/protocol.md §5.1): AES-GCM where the hardware allows, XChaCha20 otherwise.
        private val PREFERENCE = listOf(AEAD_AES256_GCM_RTPSIZE, AEAD_XCHACHA20_POLY1305_RTPSIZE)
    }
}
