package dev.earshot.voice.rtp

/*
 * RFC 8285 element forms, walked over the *decrypted* element bytes (the 4 * length bytes after the preamble).
 *
 * One-byte form (profile 0xBEDE): 4-bit ID (1..14), 4-bit (length - 1), then 1..16 data bytes.
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |  ID   |  len  |     data      |  0 (padding)  |  ID   |  len  | ...
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Two-byte form (profile 0x100 << 4 | appbits): 8-bit ID (1..255), 8-bit length (0..255), then data.
 *
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |       ID      |     length    |     data ...                  |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * In both forms a single 0x00 byte between elements is padding. In the one-byte form ID 15 is reserved: the walk
 * stops there and ignores the rest (RFC 8285 section 4.2).
 */

private const val ONE_BYTE_ID_SHIFT = 4
private const val ONE_BYTE_LEN_MASK = 0x0F
private const val ONE_BYTE_STOP_ID = 15
private const val TWO_BYTE_PROFILE_PREFIX = 0x100
private const val APPBITS_SHIFT = 4
private const val PADDING_BYTE = 0

/**
 * Reads RFC 8285 header-extension elements (one-byte `0xBEDE` and two-byte `0x100x` forms) without allocating.
 *
 * Every function takes the element bytes `buf[offset until offset + length]` (after transport decryption) plus the
 * profile from the cleartext preamble ([RtpView.extensionProfile]) and never throws: a missing element, an unknown
 * profile, an invalid id, a truncated element or an out-of-range region all give the "absent" result.
 */
public object HeaderExtensions {
    /** Profile of the one-byte element form. */
    public const val PROFILE_ONE_BYTE: Int = 0xBEDE

    /** Profile of the two-byte element form with appbits 0; 0x1001..0x100F carry other appbits. */
    public const val PROFILE_TWO_BYTE: Int = 0x1000

    /** Element id of `urn:ietf:params:rtp-hdrext:ssrc-audio-level` (RFC 6464) on Discord (unofficial map). */
    public const val AUDIO_LEVEL_ID: Int = 1

    /** Element id of Discord's speaker extension (`https://discord.com/#rtp-hdrext/2018-07-29/speaker`, unofficial). */
    public const val SPEAKER_ID: Int = 9

    /** Audio-level bit 7: the sender's voice activity flag (RFC 6464). */
    public const val AUDIO_LEVEL_VOICE_ACTIVITY: Int = 0x80

    /** Audio-level bits 0..6: the level in -dBov, 0 (loudest) .. 127 (silence). */
    public const val AUDIO_LEVEL_MASK: Int = 0x7F

    /** Speaker flag: priority speaker. */
    public const val SPEAKER_PRIORITY: Int = 0x01

    /** Speaker flag: microphone voice. */
    public const val SPEAKER_VOICE: Int = 0x02

    /** Speaker flag: soundshare. */
    public const val SPEAKER_SOUNDSHARE: Int = 0x04

    /** True for the one-byte element profile. */
    public fun isOneByte(profile: Int): Boolean = profile == PROFILE_ONE_BYTE

    /** True for any two-byte element profile (0x1000..0x100F: the 12-bit 0x100 prefix plus 4 appbits). */
    public fun isTwoByte(profile: Int): Boolean = profile ushr APPBITS_SHIFT == TWO_BYTE_PROFILE_PREFIX

    /**
     * Finds the first element with [id] and returns its data as a [PackedRange] (absolute offset in [buf], length),
     * or [PackedRange.NONE] when it is absent, when [id] is not valid for the form (1..14 one-byte, 1..255
     * two-byte), when the profile is neither form, or when the walk meets a malformed element (truncated, or a
     * one-byte header with id 0 but a non-zero length) before reaching it.
     */
    public fun find(buf: ByteArray, offset: Int, length: Int, profile: Int, id: Int): Long {
        if (!Wire.inBounds(buf, offset, length)) return PackedRange.NONE
        return when {
            isOneByte(profile) -> findOneByte(buf, offset, offset + length, id)
            isTwoByte(profile) -> findTwoByte(buf, offset, offset + length, id)
            else -> PackedRange.NONE
        }
    }

    /**
     * The RFC 6464 audio level byte of element [id] (default [AUDIO_LEVEL_ID]): 0..255, where bit 7
     * ([AUDIO_LEVEL_VOICE_ACTIVITY]) is voice activity and bits 0..6 ([AUDIO_LEVEL_MASK]) the level in -dBov.
     * Returns -1 when absent or empty. Only the first data byte is read.
     */
    public fun audioLevel(buf: ByteArray, offset: Int, length: Int, profile: Int, id: Int = AUDIO_LEVEL_ID): Int =
        firstByte(buf, find(buf, offset, length, profile, id))

    /**
     * Discord's speaker flags of element [id] (default [SPEAKER_ID]): the data byte, 0..255, with
     * [SPEAKER_PRIORITY], [SPEAKER_VOICE] and [SPEAKER_SOUNDSHARE] defined; -1 when absent or empty.
     * Note the bit order differs from the gateway's op 5 speaking flags.
     */
    public fun speakerFlags(buf: ByteArray, offset: Int, length: Int, profile: Int, id: Int = SPEAKER_ID): Int =
        firstByte(buf, find(buf, offset, length, profile, id))

    private fun firstByte(buf: ByteArray, packed: Long): Int =
        if (packed == PackedRange.NONE || PackedRange.length(packed) == 0) -1
        else Wire.u8(buf, PackedRange.offset(packed))

    private fun findOneByte(buf: ByteArray, start: Int, end: Int, id: Int): Long {
        if (id < 1 || id >= ONE_BYTE_STOP_ID) return PackedRange.NONE
        var i = start
        while (i < end) {
            val header = Wire.u8(buf, i)
            if (header == PADDING_BYTE) {
                i++
                continue
            }
            val elementId = header ushr ONE_BYTE_ID_SHIFT
            if (elementId == ONE_BYTE_STOP_ID || elementId == 0) return PackedRange.NONE
            val len = (header and ONE_BYTE_LEN_MASK) + 1
            val data = i + 1
            if (len > end - data) return PackedRange.NONE
            if (elementId == id) return PackedRange.of(data, len)
            i = data + len
        }
        return PackedRange.NONE
    }

    private fun findTwoByte(buf: ByteArray, start: Int, end: Int, id: Int): Long {
        if (id < 1 || id > 0xFF) return PackedRange.NONE
        var i = start
        while (i < end) {
            val elementId = Wire.u8(buf, i)
            if (elementId == PADDING_BYTE) {
                i++
                continue
            }
            if (end - i < 2) return PackedRange.NONE
            val len = Wire.u8(buf, i + 1)
            val data = i + 2
            if (len > end - data) return PackedRange.NONE
            if (elementId == id) return PackedRange.of(data, len)
            i = data + len
        }
        return PackedRange.NONE
    }
}
