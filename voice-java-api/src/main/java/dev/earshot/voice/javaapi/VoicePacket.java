package dev.earshot.voice.javaapi;

import java.time.Instant;

/**
 * One received Opus packet after decryption, as the speaker sent it, in playout order. The byte array is shared and
 * must not be modified.
 *
 * @param ssrc         the sender's RTP SSRC
 * @param userId       the sender's Discord user id, or {@link UserIds#UNKNOWN} while unknown
 * @param sequence     RTP sequence number (16-bit)
 * @param rtpTimestamp RTP timestamp (32-bit, 48 kHz clock) as the sender stamped it
 * @param tick         the receive-clock tick in which the packet started playing
 * @param start        wall-clock time of the start of that tick
 * @param opus         the Opus packet
 */
public record VoicePacket(long ssrc, long userId, int sequence, long rtpTimestamp, long tick, Instant start, byte[] opus) {
    /** Whether this is the 3-byte Opus silence frame {@code F8 FF FE}. */
    public boolean isSilence() {
        return opus.length == 3 && opus[0] == (byte) 0xF8 && opus[1] == (byte) 0xFF && opus[2] == (byte) 0xFE;
    }

    @Override
    public String toString() {
        return "VoicePacket(ssrc=" + ssrc + ", user=" + userId + ", seq=" + sequence + ", ts=" + rtpTimestamp + ", bytes=" + opus.length + ")";
    }
}
