package dev.earshot.voice.javaapi;

import java.time.Duration;
import java.time.Instant;

/**
 * One user's stretch of speech as 16 kHz mono PCM, for speech-to-text; see {@link Sinks#speechSegments}. Placed on
 * the connection's timeline three ways: receive-clock ticks, wall-clock instants, and the speaker's own RTP
 * timestamp, so a transcript can carry true times and be matched with other recordings of the same call.
 *
 * @param userId       the speaker's Discord user id, or {@link UserIds#UNKNOWN} when the SSRC had no known user
 * @param ssrc         the speaker's SSRC
 * @param startTick    the tick of its first audio (20 ms ticks)
 * @param endTick      the tick of its last audio
 * @param start        wall-clock time of the start of {@code startTick}
 * @param end          wall-clock time of the end of {@code endTick} ({@code start} plus {@link #duration()})
 * @param rtpTimestamp the RTP timestamp (32-bit, 48 kHz) the speaker stamped on its first sample
 * @param pcm          16 kHz mono PCM of every tick from start to end, 320 samples each, short pauses as zeros
 */
public record Utterance(long userId, long ssrc, long startTick, long endTick, Instant start, Instant end, long rtpTimestamp, short[] pcm) {
    /** Its length in 20 ms ticks, pauses included. */
    public long ticks() {
        return endTick - startTick + 1;
    }

    /** Its length, pauses included: {@link #ticks()} times 20 ms. */
    public Duration duration() {
        return Duration.ofMillis(ticks() * 20);
    }

    /** The PCM as 16-bit little-endian bytes (a new array), as most recognisers take raw audio. */
    public byte[] pcmLittleEndian() {
        return Pcm.toLittleEndian(pcm);
    }

    /** The PCM as floats in [-1, 1) (a new array). */
    public float[] pcmFloats() {
        return Pcm.toFloats(pcm);
    }

    @Override
    public String toString() {
        return "Utterance(user=" + userId + ", ssrc=" + ssrc + ", ticks=" + startTick + ".." + endTick + ", start=" + start
                + ", rtpTimestamp=" + rtpTimestamp + ", samples=" + pcm.length + ")";
    }
}
