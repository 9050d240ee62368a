package dev.earshot.voice.testing

import dev.earshot.voice.crypto.EncryptionMode
import dev.earshot.voice.crypto.TransportCipher
import dev.earshot.voice.rtp.RtpWriter
import dev.earshot.voice.send.RtpPacketizer

/**
 * Plays the part of Discord forwarding one member's audio: turns Opus packets into encrypted rtpsize datagrams the
 * way the SFU sends them (0x90 header with a one-word 0xBEDE extension carrying audio level and speaker flags).
 */
class FakeSpeaker(
    val ssrc: Long,
    key: ByteArray,
    mode: EncryptionMode = EncryptionMode.AEAD_AES256_GCM_RTPSIZE,
    sequence: Int = 0,
    timestamp: Long = 0,
) {
    private val packetizer = RtpPacketizer(ssrc, TransportCipher.create(mode, key), sequence, timestamp, nonce = 1)
    private val out = ByteArray(2048)

    val sequence: Int get() = packetizer.sequence
    val timestamp: Long get() = packetizer.timestamp

    /** The datagram carrying [opus] ([samples] long), with audio level [level] (RFC 6464, bit 7 = voice). */
    fun datagram(opus: ByteArray, samples: Int = 960, level: Int = 0x80 or 30, withExtension: Boolean = true): ByteArray {
        val ext = if (withExtension) RtpWriter.oneByteElements(1 to byteArrayOf(level.toByte()), 9 to byteArrayOf(0x02)) else null
        val n = packetizer.packetize(opus, out = out, samples = samples, extensionElements = ext)
        return out.copyOf(n)
    }

    /** Moves the RTP timestamp on by [samples] without sending (a pause in speech). */
    fun pause(samples: Int) = packetizer.skip(samples)

    companion object {
        val SILENCE = byteArrayOf(0xF8.toByte(), 0xFF.toByte(), 0xFE.toByte())
        fun key(seed: Int): ByteArray = ByteArray(32) { (it * 7 + seed).toByte() }
    }
}
