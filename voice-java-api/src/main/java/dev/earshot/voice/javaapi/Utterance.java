package dev.earshot.voice.javaapi;

/**
 * One user's stretch of speech as 16 kHz mono PCM, for speech-to-text; see {@link Sinks#speechSegments}.
 *
 * @param ssrc      the speaker's SSRC
 * @param startTick the tick of its first audio (20 ms ticks)
 * @param endTick   the tick of its last audio
 * @param pcm       16 kHz mono PCM of every tick from start to end, 320 samples each, short pauses as zeros
 */
public record Utterance(long ssrc, long startTick, long endTick, short[] pcm) {
    /** Its length in 20 ms ticks, pauses included. */
    public long ticks() {
        return endTick - startTick + 1;
    }

    @Override
    public String toString() {
        return "Utterance(ssrc=" + ssrc + ", ticks=" + startTick + ".." + endTick + ", samples=" + pcm.length + ")";
    }
}
