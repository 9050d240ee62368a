package dev.earshot.voice.dave

import org.bouncycastle.crypto.generators.SCrypt

/**
 * DAVE's human-comparable verification codes (docs/dave.md §1.7; the whitepaper's "Displayable codes" and
 * "Verification fingerprint"), computed exactly as libdave and davey do.
 *
 * - The voice privacy code of a call is [privacyCode] of the epoch authenticator: 30 digits.
 * - The code two users compare to verify each other is [pairwiseCode]: 45 digits from [pairwiseFingerprint].
 */
public object DaveCodes {
    /** Digits of the call's privacy code. */
    public const val PRIVACY_CODE_DIGITS: Int = 30

    /** Digits of a pairwise verification code. */
    public const val PAIRWISE_CODE_DIGITS: Int = 45

    /** Fingerprint format version 0, the only one defined. */
    private const val FINGERPRINT_VERSION = 0
    private const val MAX_GROUP_SIZE = 8

    private val FINGERPRINT_SALT = byteArrayOf(
        0x24, 0xca.toByte(), 0xb1.toByte(), 0x7a, 0x7a, 0xf8.toByte(), 0xec.toByte(), 0x2b,
        0x82.toByte(), 0xb4.toByte(), 0x12, 0xb9.toByte(), 0x2d, 0xab.toByte(), 0x19, 0x2e,
    )
    private const val SCRYPT_N = 16384
    private const val SCRYPT_R = 8
    private const val SCRYPT_P = 2
    private const val FINGERPRINT_LENGTH = 64

    /**
     * Turns [data] into [digits] decimal digits: for each group of [groupSize] (default 5) digits, the next
     * [groupSize] bytes of [data] as a big-endian number, modulo 10^[groupSize], zero-padded.
     *
     * @throws IllegalArgumentException if [data] is shorter than [digits], [digits] is not a positive multiple of
     *   [groupSize], or [groupSize] is not in 1..8.
     */
    public fun displayable(data: ByteArray, digits: Int, groupSize: Int = 5): String {
        require(groupSize in 1..MAX_GROUP_SIZE) { "groupSize must be 1..$MAX_GROUP_SIZE, was $groupSize" }
        require(digits > 0 && digits % groupSize == 0) { "digits ($digits) must be a positive multiple of groupSize ($groupSize)" }
        require(data.size >= digits) { "need at least $digits bytes of data, got ${data.size}" }
        var modulus = 1L
        repeat(groupSize) { modulus *= 10 }
        val sb = StringBuilder(digits)
        var i = 0
        while (i < digits) {
            var value = 0L
            for (j in 0 until groupSize) value = (value shl 8) or (data[i + j].toLong() and 0xFF)
            // Eight bytes can exceed Long.MAX_VALUE; the remainder must be of the unsigned value.
            val group = java.lang.Long.remainderUnsigned(value, modulus).toString()
            repeat(groupSize - group.length) { sb.append('0') }
            sb.append(group)
            i += groupSize
        }
        return sb.toString()
    }

    /** The 30-digit voice privacy code of a call from its 32-byte MLS epoch authenticator. */
    public fun privacyCode(epochAuthenticator: ByteArray): String = displayable(epochAuthenticator, PRIVACY_CODE_DIGITS)

    /**
     * One user's key fingerprint, version 0: `BE16(0) || key || BE64(userId)`, where [key] is the user's MLS
     * signature public key (65 bytes, uncompressed P-256).
     *
     * @throws IllegalArgumentException if [key] is empty.
     */
    public fun keyFingerprint(userId: Long, key: ByteArray): ByteArray {
        require(key.isNotEmpty()) { "key must not be empty" }
        val out = ByteArray(2 + key.size + Long.SIZE_BYTES)
        out[0] = (FINGERPRINT_VERSION ushr 8).toByte()
        out[1] = FINGERPRINT_VERSION.toByte()
        key.copyInto(out, 2)
        for (i in 0 until Long.SIZE_BYTES) out[2 + key.size + i] = (userId ushr (56 - 8 * i)).toByte()
        return out
    }

    /**
     * The 64-byte pairwise fingerprint of two users: scrypt (N = 16384, r = 8, p = 2) over both [keyFingerprint]s,
     * sorted as unsigned bytes and concatenated, with DAVE's fixed salt. Both sides get the same result. Takes tens
     * of milliseconds and 16 MiB of memory.
     *
     * @throws IllegalArgumentException if a key is empty.
     */
    public fun pairwiseFingerprint(localUserId: Long, localKey: ByteArray, remoteUserId: Long, remoteKey: ByteArray): ByteArray {
        val a = keyFingerprint(localUserId, localKey)
        val b = keyFingerprint(remoteUserId, remoteKey)
        val (first, second) = if (compareUnsigned(a, b) <= 0) a to b else b to a
        return SCrypt.generate(first + second, FINGERPRINT_SALT, SCRYPT_N, SCRYPT_R, SCRYPT_P, FINGERPRINT_LENGTH)
    }

    /** The 45-digit code two users read to each other to verify their keys: [displayable] of [pairwiseFingerprint]. */
    public fun pairwiseCode(localUserId: Long, localKey: ByteArray, remoteUserId: Long, remoteKey: ByteArray): String =
        displayable(pairwiseFingerprint(localUserId, localKey, remoteUserId, remoteKey), PAIRWISE_CODE_DIGITS)

    /** Byte-wise unsigned comparison; a prefix sorts first. */
    private fun compareUnsigned(a: ByteArray, b: ByteArray): Int {
        for (i in 0 until minOf(a.size, b.size)) {
            val d = (a[i].toInt() and 0xFF) - (b[i].toInt() and 0xFF)
            if (d != 0) return d
        }
        return a.size - b.size
    }
}
