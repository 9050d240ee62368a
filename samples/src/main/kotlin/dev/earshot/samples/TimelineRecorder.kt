package dev.earshot.samples

import dev.earshot.voice.model.VoiceTick
import dev.earshot.voice.sink.AudioFormat
import dev.earshot.voice.sink.AudioSink
import dev.earshot.voice.sink.SinkOverflow
import dev.earshot.voice.model.AudioFrame
import dev.earshot.voice.sink.VoiceUser

/**
 * A sink that notes, for every tick it is given, which users had a frame and of what kind: the data of the PNG
 * timeline. Memory is one byte per user and tick (180 KB per user and hour). [snapshot] may be called from any
 * thread, also while the sink runs.
 */
class TimelineRecorder : AudioSink {
    private val lock = Any()
    private var startTick = -1L
    private var ticks = 0
    private val byUser = LinkedHashMap<Long, ByteArray>()

    // Needs no audio, only the frames' kinds; in a tee with PCM sinks it gets the PCM frames anyway.
    override val wants: AudioFormat get() = AudioFormat.Opus
    override val overflow: SinkOverflow get() = SinkOverflow.Buffer()

    override suspend fun write(user: VoiceUser?, data: AudioFrame) {
        // Whole ticks are needed to see time pass; onTick does the work.
    }

    override suspend fun onTick(tick: VoiceTick) {
        synchronized(lock) { note(tick) }
    }

    private fun note(tick: VoiceTick) {
        if (startTick < 0) startTick = tick.tick
        val index = tick.tick - startTick
        // Ticks come in order and none is skipped; a tick from before the start (never expected) is ignored.
        if (index < 0 || index >= Int.MAX_VALUE) return
        val i = index.toInt()
        ticks = maxOf(ticks, i + 1)
        for (frame in tick.speaking) {
            val user = frame.userId ?: continue // not attributable yet: the per-user files skip it too
            var marks = byUser.getOrPut(user) { ByteArray(INITIAL) }
            if (i >= marks.size) {
                marks = marks.copyOf(maxOf(i + 1, marks.size * 2))
                byUser[user] = marks
            }
            marks[i] = Mark.of(frame.kind).ordinal.toByte()
        }
    }

    /**
     * The timeline so far. Users come in [preferredOrder] first (those with frames), then the others in the order
     * they first spoke.
     */
    fun snapshot(preferredOrder: List<Long> = emptyList()): Timeline = synchronized(lock) {
        val users = preferredOrder.filter { it in byUser } + byUser.keys.filter { it !in preferredOrder }
        Timeline(maxOf(startTick, 0), ticks, users, byUser.mapValues { it.value.copyOf(ticks) })
    }

    private companion object {
        const val INITIAL = 1024
    }
}
