package dev.earshot.voice.audio

import dev.earshot.voice.internal.LongMap

/**
 * A segmenter that cuts each user's 16 kHz mono audio into utterances for speech-to-text. An utterance starts at a
 * user's first audio and ends after [endSilenceTicks] ticks without audio (default 30 = 600 ms; shorter pauses stay
 * inside it as zeros), or when it reaches [maxTicks] ticks (default 1500 = 30 s; the next audio starts a new one).
 * An utterance with fewer than [minTicks] ticks of audio (default 10 = 200 ms) is dropped as a click or cough.
 *
 * Feed it per tick: [onFrame] for each user with audio (320 samples, e.g. from a per-user [Mono16kConverter]), then
 * [onTickEnd]. Not thread-safe; allocates when an utterance is emitted and when a user's buffer grows, never per
 * frame otherwise. A user's buffer (up to [maxTicks] frames) is kept for reuse until [forget].
 */
public class SpeechSegmenter(
    public val endSilenceTicks: Int = 30,
    public val maxTicks: Int = 1500,
    public val minTicks: Int = 10,
) {
    init {
        require(endSilenceTicks >= 1) { "endSilenceTicks must be at least 1, was $endSilenceTicks" }
        require(maxTicks >= 1) { "maxTicks must be at least 1, was $maxTicks" }
        require(minTicks in 0..maxTicks) { "minTicks must be in 0..maxTicks ($maxTicks), was $minTicks" }
    }

    private class State(val key: Long) {
        var active = false
        var startTick = 0L
        var lastTick = Long.MIN_VALUE
        var audioTicks = 0
        var startRtp = -1L
        var pcm = ShortArray(0)
    }

    private val states = LongMap<State>()
    private val all = ArrayList<State>()

    /**
     * Adds [key]'s audio for [tick]: [pcm] is 16 kHz mono, 320 samples (a shorter frame is padded with zeros, a
     * longer one cut). Emits to [out] an utterance this frame ends (a pause too long before it, or the length limit).
     * A frame for a tick not after [key]'s previous frame is ignored.
     */
    public fun onFrame(key: Long, tick: Long, pcm: ShortArray, out: (Utterance) -> Unit) {
        onFrame(key, tick, pcm, -1L, out)
    }

    /**
     * [onFrame] with the RTP timestamp of the frame's first sample, so that an utterance starting with it carries the
     * sender's timestamp ([Utterance.rtpTimestamp]).
     */
    public fun onFrame(key: Long, tick: Long, pcm: ShortArray, rtpTimestamp: Long, out: (Utterance) -> Unit) {
        val s = states[key] ?: State(key).also { states[key] = it; all.add(it) }
        if (tick <= s.lastTick) return
        if (s.active && (tick - s.lastTick > endSilenceTicks || tick - s.startTick >= maxTicks)) emit(s, out)
        if (!s.active) {
            s.active = true
            s.startTick = tick
            s.startRtp = rtpTimestamp
            s.audioTicks = 0
        }
        val at = offset(s, tick)
        ensureCapacity(s, at + FRAME)
        // The pause since the last audio stays in the utterance as silence; the buffer may hold an older one.
        if (s.audioTicks > 0) s.pcm.fill(0, offset(s, s.lastTick + 1), at)
        val n = minOf(pcm.size, FRAME)
        System.arraycopy(pcm, 0, s.pcm, at, n)
        if (n < FRAME) s.pcm.fill(0, at + n, at + FRAME)
        s.lastTick = tick
        s.audioTicks++
        if (tick - s.startTick + 1 >= maxTicks) emit(s, out)
    }

    /** Ends [tick]: emits to [out] the utterances whose users have now been silent for [endSilenceTicks] ticks. */
    public fun onTickEnd(tick: Long, out: (Utterance) -> Unit) {
        for (i in all.indices) {
            val s = all[i]
            if (s.active && tick - s.lastTick >= endSilenceTicks) emit(s, out)
        }
    }

    /** Emits every unfinished utterance that is long enough (at the end of a recording). */
    public fun flush(out: (Utterance) -> Unit) {
        for (i in all.indices) if (all[i].active) emit(all[i], out)
    }

    /** Drops [key]'s unfinished utterance and buffer (the user left). */
    public fun forget(key: Long) {
        all.remove(states.remove(key) ?: return)
    }

    private fun offset(s: State, tick: Long): Int = ((tick - s.startTick) * FRAME).toInt()

    private fun ensureCapacity(s: State, size: Int) {
        if (s.pcm.size >= size) return
        val grown = maxOf(size, minOf(s.pcm.size * 2, maxTicks * FRAME), INITIAL_TICKS * FRAME)
        s.pcm = s.pcm.copyOf(grown)
    }

    private fun emit(s: State, out: (Utterance) -> Unit) {
        s.active = false
        if (s.audioTicks < minTicks) return
        out(Utterance(s.key, s.startTick, s.lastTick, s.pcm.copyOf(offset(s, s.lastTick + 1)), s.startRtp))
    }

    private companion object {
        /** Samples in 20 ms of 16 kHz mono. */
        const val FRAME = 320
        const val INITIAL_TICKS = 50
    }
}
