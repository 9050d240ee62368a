package dev.earshot.voice.pipeline

import dev.earshot.voice.model.AudioFrame
import dev.earshot.voice.model.ReceiveTimeline
import dev.earshot.voice.model.VoiceOutput
import dev.earshot.voice.model.VoiceTick
import dev.earshot.voice.sink.AudioFormat
import dev.earshot.voice.sink.AudioSink
import dev.earshot.voice.sink.Listening
import dev.earshot.voice.sink.VoiceUser
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.Job
import kotlinx.coroutines.cancel
import kotlinx.coroutines.delay
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import java.util.concurrent.CompletableFuture
import java.util.concurrent.CopyOnWriteArrayList
import java.util.concurrent.TimeUnit
import java.util.concurrent.TimeoutException
import java.util.concurrent.atomic.AtomicLong
import kotlin.time.Duration.Companion.seconds

/** Where sinks of one recording end when the recording is stopped while ticks keep coming, on real threads. */
class SinkHostSpec : FunSpec({

    /** Records the ticks it handles and the end tick its cleanup sees. */
    class TickLog : AudioSink {
        val handled = CopyOnWriteArrayList<Long>()
        val cleanedUp = CompletableFuture<Long?>()
        var listening: Listening? = null
        override val wants: AudioFormat get() = AudioFormat.Opus
        override suspend fun onStart(listening: Listening) { this.listening = listening }
        override suspend fun write(user: VoiceUser?, data: AudioFrame) {}
        override suspend fun onTick(tick: VoiceTick) { handled += tick.tick }
        override suspend fun cleanup() { cleanedUp.complete(listening?.endTick) }
    }

    test("a tick emitted while a recording's end is being given to its sinks never reaches a sink past that end") {
        val outputs = Broadcaster<VoiceOutput>(100) {}
        val timeline = ReceiveTimeline()
        val host = SinkHost(outputs, timeline, null) { null }
        val scope = CoroutineScope(Dispatchers.Default)
        fun emit(t: Long) {
            val tick = VoiceTick(t, emptyList(), emptySet())
            timeline.onTick(tick)
            outputs.emit(tick)
        }
        val last = 5L
        try {
            val recording = host.newRecording()
            val b = TickLog()
            // A member ahead of b in the recording that has handled its last tick: giving it the end stops its job,
            // whose completion runs on the stopping thread. The tick emitted there is what the pipeline's thread
            // could emit at that moment on another core: after the end was chosen, before b may have been told.
            val a = Listening(TickLog(), recording, 0, AtomicLong())
            a.lastTick.set(last)
            a.job = Job().apply {
                invokeOnCompletion {
                    emit(last + 1)
                    try {
                        b.cleanedUp.get(5, TimeUnit.SECONDS)
                    } catch (_: TimeoutException) {
                        // b handled the tick and waits for more: the assertions below say so.
                    }
                }
            }
            recording.join(a) shouldBe true
            val listening = host.listen(scope, b, recording) {}
            for (t in 0..last) emit(t)
            withTimeout(10.seconds) { while (b.handled.size.toLong() < last + 1) delay(5) }

            runBlocking { withTimeout(20.seconds) { recording.stop() } }

            recording.endTick shouldBe last
            listening.endTick shouldBe last
            b.cleanedUp.get(5, TimeUnit.SECONDS) shouldBe last
            b.handled.toList() shouldBe (0..last).toList()
        } finally {
            scope.cancel()
        }
    }
})
