package dev.earshot.voice.pipeline

import dev.earshot.voice.base.Counter
import dev.earshot.voice.base.Counters
import dev.earshot.voice.crypto.TransportCipher
import dev.earshot.voice.rtp.HeaderExtensions
import dev.earshot.voice.rtp.PacketDemux
import dev.earshot.voice.rtp.PacketKind
import dev.earshot.voice.rtp.RtpPayload
import dev.earshot.voice.rtp.RtpView
import org.slf4j.LoggerFactory
import java.util.concurrent.atomic.AtomicReference

/**
 * Pure core of the decrypt stage: classifies a datagram, authenticates and decrypts it with the session's transport
 * cipher, strips padding and the decrypted header-extension body, and reads the audio level and speaker flags.
 * Every outcome is counted; nothing throws. [open]'s result follows the per-packet convention of ARCHITECTURE.md
 * ("Errors"): a primitive, with named values for what is not a length.
 *
 * A new key (new session description) is installed with [setCipher] from any thread; the previous cipher stays as a
 * fallback for [KEY_GRACE_NANOS] so packets already in flight under the old key still play.
 */
internal class PacketOpener(private val counters: Counters) {
    private val view = RtpView()
    private val pending = AtomicReference<TransportCipher?>(null)
    private var current: TransportCipher? = null
    private var previous: TransportCipher? = null
    private var previousUntil = 0L

    fun setCipher(cipher: TransportCipher) {
        pending.set(cipher)
    }

    /**
     * Opens [p] in place and returns what it holds: [AUDIO] for an audio packet, whose payload fields
     * ([ReceivedPacket.payloadOffset], [ReceivedPacket.payloadLength], ...) are now set; for RTCP, the length of the
     * decrypted compound packet at the start of [p]'s data (at least [RTCP_CLEAR_BYTES], so never [AUDIO]); or
     * [DROPPED] (negative) for anything else, already counted under its reason.
     */
    fun open(p: ReceivedPacket): Int {
        // A plain read first: the swap is an atomic write, which every packet would otherwise pay for.
        if (pending.get() != null) {
            pending.getAndSet(null)?.let {
                previous = current
                previousUntil = p.arrivalNanos + KEY_GRACE_NANOS
                current = it
            }
        }
        val buf = p.data
        val len = p.length
        return when (PacketDemux.classify(buf, 0, len)) {
            PacketKind.RTP_AUDIO -> openAudio(p)
            PacketKind.RTCP -> openRtcp(p)
            PacketKind.IP_DISCOVERY -> drop(Counter.DISCOVERY)
            PacketKind.KEEPALIVE -> drop(Counter.KEEPALIVE)
            PacketKind.RTP_OTHER -> drop(Counter.OTHER_PAYLOAD)
            PacketKind.MALFORMED -> drop(Counter.MALFORMED)
        }
    }

    private fun openAudio(p: ReceivedPacket): Int {
        val buf = p.data
        if (view.wrap(buf, 0, p.length) != null) return drop(Counter.MALFORMED)
        counters.incOwned(Counter.RTP_AUDIO)
        val header = view.headerLength
        val plain = decrypt(p, header)
        if (plain == NO_KEY) return drop(Counter.NO_KEY)
        if (plain < 0) {
            log.debug("transport authentication failed for ssrc {} seq {}", view.ssrc, view.sequence)
            return drop(Counter.AUTH_FAILURES)
        }
        val extWords = if (view.extension) view.extensionLengthWords else 0
        val packed = RtpPayload.locate(buf, header, plain, view.padding, extWords)
        if (packed < 0) return drop(Counter.MALFORMED_AUDIO)
        p.ssrc = view.ssrc
        p.sequence = view.sequence
        p.timestamp = view.timestamp
        p.payloadOffset = RtpPayload.payloadOffset(packed)
        p.payloadLength = RtpPayload.payloadLength(packed)
        if (extWords > 0) {
            val profile = view.extensionProfile
            p.audioLevel = HeaderExtensions.audioLevel(buf, header, extWords * 4, profile)
            p.speakerFlags = HeaderExtensions.speakerFlags(buf, header, extWords * 4, profile)
        }
        counters.incOwned(Counter.DECRYPTED)
        return AUDIO
    }

    private fun openRtcp(p: ReceivedPacket): Int {
        counters.inc(Counter.RTCP)
        val plain = decrypt(p, RTCP_CLEAR_BYTES)
        if (plain < 0) {
            counters.inc(Counter.RTCP_AUTH_FAILURES)
            return DROPPED
        }
        return RTCP_CLEAR_BYTES + plain
    }

    /** Decrypts with the current key, then the previous one during its grace period. */
    private fun decrypt(p: ReceivedPacket, aad: Int): Int {
        val cipher = current ?: return NO_KEY
        val n = cipher.decrypt(p.data, 0, p.length, aad)
        if (n >= 0) return n
        val old = previous ?: return n
        if (p.arrivalNanos - previousUntil > 0) {
            previous = null
            return n
        }
        return old.decrypt(p.data, 0, p.length, aad)
    }

    private fun drop(counter: Counter): Int {
        counters.inc(counter)
        return DROPPED
    }

    companion object {
        /** [open]'s result for an audio packet: its payload fields are set. */
        const val AUDIO = 0
        /** [open]'s result for a datagram that was dropped (and counted). */
        const val DROPPED = -1
        /** RTCP keeps its first 8 bytes (header and sender SSRC) in the clear in the rtpsize modes. */
        const val RTCP_CLEAR_BYTES = 8
        /** How long packets under the previous key are still accepted after a key change. */
        const val KEY_GRACE_NANOS = 2_000_000_000L
        private const val NO_KEY = Int.MIN_VALUE
        private val log = LoggerFactory.getLogger(PacketOpener::class.java)
    }
}
