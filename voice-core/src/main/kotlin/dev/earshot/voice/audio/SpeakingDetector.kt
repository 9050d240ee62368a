package dev.earshot.voice.audio

import dev.earshot.voice.internal.LongMap

/**
 * A packet-derived speaking detector: a key (user id or SSRC) starts speaking on the first tick it has audio and
 * stops after [hangTicks] consecutive ticks without audio (default 10 ticks = 200 ms), so short pauses inside
 * speech do not flap. Pure: it knows only the tick numbers it is given. Not thread-safe; allocates only when a key
 * starts speaking for the first time.
 */
public class SpeakingDetector(public val hangTicks: Int = 10) {
    init {
        require(hangTicks >= 1) { "hangTicks must be at least 1, was $hangTicks" }
    }

    private class State(val key: Long) {
        var lastAudio = 0L
        var speaking = false
        var slot = -1
    }

    private val states = LongMap<State>()

    /** The speaking states, densely packed so each tick scans only those. */
    private var active = arrayOfNulls<State>(16)
    private var activeCount = 0
    private var lastTick = Long.MIN_VALUE

    /** How many keys are speaking now. */
    public val speakingCount: Int get() = activeCount

    /** Whether [key] is speaking now. */
    public fun isSpeaking(key: Long): Boolean = states[key]?.speaking == true

    /**
     * Processes [tick], in which the keys in [speaking] had audio, and reports changes to [out]: stops first (in no
     * particular order), then starts in the order of [speaking]. Ticks may be skipped (a skipped tick counts as
     * silent); a tick not after the previous one is ignored, and duplicate keys count once.
     */
    public fun onTick(tick: Long, speaking: Collection<Long>, out: (SpeakingChange) -> Unit) {
        if (tick <= lastTick) return
        lastTick = tick
        // Stops first: a key silent for the whole hang before this tick has stopped even if it speaks again now.
        var i = 0
        while (i < activeCount) {
            val s = active[i]!!
            if (tick - s.lastAudio > hangTicks) stop(s, out) else i++
        }
        if (speaking is List<Long> && speaking is RandomAccess) {
            for (k in speaking.indices) heard(speaking[k], tick, out)
        } else {
            for (key in speaking) heard(key, tick, out)
        }
        i = 0
        while (i < activeCount) {
            val s = active[i]!!
            if (tick - s.lastAudio >= hangTicks) stop(s, out) else i++
        }
    }

    /** Stops every speaking key now (at the end of a recording), each with the tick of its last audio. */
    public fun finish(out: (SpeakingChange) -> Unit) {
        while (activeCount > 0) stop(active[activeCount - 1]!!, out)
    }

    /** Forgets [key] without reporting a stop (it left the call and its stop was already reported or is unwanted). */
    public fun forget(key: Long) {
        val s = states.remove(key) ?: return
        if (s.speaking) unlink(s)
    }

    private fun heard(key: Long, tick: Long, out: (SpeakingChange) -> Unit) {
        val s = states[key] ?: State(key).also { states[key] = it }
        s.lastAudio = tick
        if (s.speaking) return
        s.speaking = true
        if (activeCount == active.size) active = active.copyOf(activeCount * 2)
        s.slot = activeCount
        active[activeCount++] = s
        out(SpeakingChange(key, true, tick))
    }

    private fun stop(s: State, out: (SpeakingChange) -> Unit) {
        unlink(s)
        out(SpeakingChange(s.key, false, s.lastAudio))
    }

    private fun unlink(s: State) {
        s.speaking = false
        val last = active[--activeCount]!!
        active[s.slot] = last
        last.slot = s.slot
        active[activeCount] = null
        s.slot = -1
    }
}
