package dev.earshot.voice.rtp

/*
 * RTP fixed header (RFC 3550 section 5.1) and header extension (section 5.3.1, RFC 8285):
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |V=2|P|X|  CC   |M|     PT      |       sequence number         |  bytes 0-3
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                           timestamp                           |  bytes 4-7
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |           synchronization source (SSRC) identifier            |  bytes 8-11
 *   +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 *   |            contributing source (CSRC) identifiers             |  CC x 4 bytes
 *   |                             ....                              |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |   profile (0xBEDE, 0x100x)    |     length (32-bit words)     |  if X: 4-byte preamble
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                  extension elements (length x 4)              |  encrypted in *_rtpsize modes
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                            payload                            |  encrypted
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                  padding (last byte = count)  |               |  if P; encrypted
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * Discord's rtpsize AEAD modes authenticate (but do not encrypt) everything up to and including the 4-byte
 * extension preamble, which is exactly [RtpView.headerLength].
 */

private const val OFF_FLAGS = 0 // V, P, X, CC
private const val OFF_MARKER_PT = 1 // M, PT
private const val OFF_SEQUENCE = 2
private const val OFF_TIMESTAMP = 4
private const val OFF_SSRC = 8
private const val OFF_CSRC = 12

private const val VERSION_SHIFT = 6
private const val PADDING_BIT = 0x20
private const val EXTENSION_BIT = 0x10
private const val CC_MASK = 0x0F
private const val MARKER_BIT = 0x80
private const val PT_MASK = 0x7F

private const val CSRC_SIZE = 4
private const val EXTENSION_PREAMBLE_SIZE = 4
private const val WORD = 4

/** Why an RTP packet (or the region around its payload) was rejected; parsers return it instead of throwing. */
public enum class RtpError {
    /** `offset`/`length` do not describe a range inside the buffer (a caller bug, reported rather than thrown). */
    OUT_OF_BOUNDS,

    /** Fewer than the 12 bytes of the fixed header. */
    TOO_SHORT,

    /** The version field is not 2. */
    BAD_VERSION,

    /** The CSRC list (`4 * CC` bytes) runs past the end of the packet. */
    CSRC_OVERRUN,

    /** The 4-byte extension preamble, or the `4 * length` bytes of elements it announces, run past the end. */
    EXTENSION_OVERRUN,

    /** P is set but the padding count (last byte) is 0 or larger than what follows the extension elements. */
    BAD_PADDING,
}

/**
 * A reusable, zero-copy view of one RTP packet's header over `ByteArray + offset + length`.
 *
 * Keep one instance per pipeline stage and [wrap] each datagram in turn: nothing is allocated per packet and the
 * buffer is never copied or modified. The properties describe the last successful `wrap`/[wrapUnencrypted]; after a
 * failed one, [isValid] is false and every property holds its neutral value (0, false or -1 as documented).
 *
 * [wrap] validates only what is cleartext in Discord's `*_rtpsize` AEAD modes (fixed header, CSRCs, extension
 * preamble) plus the one cross-check that holds for ciphertext too: the announced extension elements fit in the
 * rest of the packet. Padding is encrypted in those modes, so it is checked later by [RtpPayload.locate] on the
 * plaintext. For packets that were never encrypted (tests, local tools) [wrapUnencrypted] does both at once.
 * Not thread-safe.
 */
public class RtpView {
    /** The buffer of the wrapped packet (an empty array before the first successful wrap). */
    public var buffer: ByteArray = EMPTY
        private set

    /** Index of the packet's first byte in [buffer]. */
    public var offset: Int = 0
        private set

    /** Length of the packet in bytes, as given to `wrap`. */
    public var length: Int = 0
        private set

    /** True after a successful `wrap`/[wrapUnencrypted]; false initially and after a failed one. */
    public var isValid: Boolean = false
        private set

    /** RTP version; always 2 when [isValid]. */
    public var version: Int = 0
        private set

    /** The P bit: the (possibly encrypted) payload ends with padding whose last byte is its length. */
    public var padding: Boolean = false
        private set

    /** The X bit: a header extension preamble follows the CSRCs. */
    public var extension: Boolean = false
        private set

    /** Number of CSRC identifiers, 0..15. */
    public var csrcCount: Int = 0
        private set

    /** The M bit. */
    public var marker: Boolean = false
        private set

    /** Payload type, 0..127 (Discord Opus is 120). */
    public var payloadType: Int = 0
        private set

    /** Sequence number, 0..65535. */
    public var sequence: Int = 0
        private set

    /** RTP timestamp, 0..2^32-1 (48 kHz ticks for Discord audio). */
    public var timestamp: Long = 0
        private set

    /** Synchronisation source, 0..2^32-1. */
    public var ssrc: Long = 0
        private set

    /**
     * Length of the cleartext header in bytes: `12 + 4 * CC + (X ? 4 : 0)`.
     * This is the AAD length of Discord's `*_rtpsize` AEAD modes; the extension *elements* are not included.
     */
    public var headerLength: Int = 0
        private set

    /**
     * The 16-bit extension profile (0xBEDE = RFC 8285 one-byte form, 0x1000..0x100F = two-byte form, or anything
     * else), or -1 when X is not set.
     */
    public var extensionProfile: Int = -1
        private set

    /** Length of the extension elements in 32-bit words (0 when X is not set). */
    public var extensionLengthWords: Int = 0
        private set

    /**
     * Index in [buffer] of the payload after [wrapUnencrypted]; -1 after [wrap], which cannot know where an
     * encrypted payload ends.
     */
    public var payloadOffset: Int = -1
        private set

    /** Payload length in bytes after [wrapUnencrypted] (extension elements and padding excluded); 0 after [wrap]. */
    public var payloadLength: Int = 0
        private set

    /** Validates and exposes the cleartext header of the packet at `buf[offset until offset + length]`; null = OK. */
    public fun wrap(buf: ByteArray, offset: Int, length: Int): RtpError? = parse(buf, offset, length, false)

    /**
     * Like [wrap] for a packet that is not encrypted at all, and also locates its payload (skipping the extension
     * elements and checking the padding), filling [payloadOffset] and [payloadLength]. Null = OK.
     */
    public fun wrapUnencrypted(buf: ByteArray, offset: Int, length: Int): RtpError? = parse(buf, offset, length, true)

    /** The CSRC at index [i] (0-based), or -1 when [i] is not in `0 until csrcCount` or the view is not valid. */
    public fun csrc(i: Int): Long =
        if (!isValid || i < 0 || i >= csrcCount) -1L else Wire.u32(buffer, offset + OFF_CSRC + i * CSRC_SIZE)

    private fun parse(buf: ByteArray, offset: Int, length: Int, unencrypted: Boolean): RtpError? {
        clear()
        if (!Wire.inBounds(buf, offset, length)) return RtpError.OUT_OF_BOUNDS
        if (length < FIXED_HEADER_LENGTH) return RtpError.TOO_SHORT
        val flags = Wire.u8(buf, offset + OFF_FLAGS)
        if (flags ushr VERSION_SHIFT != VERSION) return RtpError.BAD_VERSION
        val cc = flags and CC_MASK
        val hasExtension = flags and EXTENSION_BIT != 0
        val csrcEnd = FIXED_HEADER_LENGTH + cc * CSRC_SIZE
        if (csrcEnd > length) return RtpError.CSRC_OVERRUN
        var headerLen = csrcEnd
        var profile = -1
        var extWords = 0
        if (hasExtension) {
            headerLen += EXTENSION_PREAMBLE_SIZE
            if (headerLen > length) return RtpError.EXTENSION_OVERRUN
            profile = Wire.u16(buf, offset + csrcEnd)
            extWords = Wire.u16(buf, offset + csrcEnd + 2)
            // Holds for ciphertext as well: AEAD ciphertext is as long as the plaintext it hides.
            if (extWords * WORD > length - headerLen) return RtpError.EXTENSION_OVERRUN
        }
        val hasPadding = flags and PADDING_BIT != 0
        var packed = PackedRange.NONE
        if (unencrypted) {
            packed = RtpPayload.locate(buf, offset + headerLen, length - headerLen, hasPadding, extWords)
            if (packed == PackedRange.NONE) return RtpError.BAD_PADDING
        }

        val markerPt = Wire.u8(buf, offset + OFF_MARKER_PT)
        this.buffer = buf
        this.offset = offset
        this.length = length
        this.isValid = true
        this.version = VERSION
        this.padding = hasPadding
        this.extension = hasExtension
        this.csrcCount = cc
        this.marker = markerPt and MARKER_BIT != 0
        this.payloadType = markerPt and PT_MASK
        this.sequence = Wire.u16(buf, offset + OFF_SEQUENCE)
        this.timestamp = Wire.u32(buf, offset + OFF_TIMESTAMP)
        this.ssrc = Wire.u32(buf, offset + OFF_SSRC)
        this.headerLength = headerLen
        this.extensionProfile = profile
        this.extensionLengthWords = extWords
        if (unencrypted) {
            this.payloadOffset = PackedRange.offset(packed)
            this.payloadLength = PackedRange.length(packed)
        }
        return null
    }

    private fun clear() {
        buffer = EMPTY
        offset = 0
        length = 0
        isValid = false
        version = 0
        padding = false
        extension = false
        csrcCount = 0
        marker = false
        payloadType = 0
        sequence = 0
        timestamp = 0
        ssrc = 0
        headerLength = 0
        extensionProfile = -1
        extensionLengthWords = 0
        payloadOffset = -1
        payloadLength = 0
    }

    /** RTP layout constants. */
    public companion object {
        /** The only RTP version in use. */
        public const val VERSION: Int = 2

        /** Size of the fixed RTP header in bytes (V..SSRC). */
        public const val FIXED_HEADER_LENGTH: Int = 12

        /** Largest CSRC count the 4-bit CC field can carry. */
        public const val MAX_CSRC_COUNT: Int = 15

        private val EMPTY = ByteArray(0)
    }
}
