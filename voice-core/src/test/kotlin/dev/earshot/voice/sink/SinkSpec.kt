package dev.earshot.voice.sink

import dev.earshot.voice.model.AudioFrame
import dev.earshot.voice.base.NanoClock
import dev.earshot.voice.ReceiveConfig
import dev.earshot.voice.VoiceReceiver
import dev.earshot.voice.codec.PcmFormat
import dev.earshot.voice.identity.SsrcDirectory
import dev.earshot.voice.model.FrameKind
import dev.earshot.voice.model.VoiceEvent
import dev.earshot.voice.model.VoiceTick
import dev.earshot.voice.datagram.DatagramSource
import dev.earshot.voice.testing.FakeSpeaker
import dev.earshot.voice.testing.ReceiverHarness
import dev.earshot.voice.testing.Speech
import io.kotest.assertions.throwables.shouldThrow
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.collections.shouldContainExactly
import io.kotest.matchers.longs.shouldBeGreaterThan
import io.kotest.matchers.shouldBe
import io.kotest.matchers.string.shouldContain
import io.kotest.matchers.types.shouldBeInstanceOf
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.ExperimentalCoroutinesApi
import kotlinx.coroutines.async
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.delay
import kotlinx.coroutines.launch
import kotlinx.coroutines.test.StandardTestDispatcher
import kotlinx.coroutines.test.TestScope
import kotlinx.coroutines.test.runTest
import kotlin.time.Duration.Companion.seconds

private const val ALICE = 111L
private const val BOB = 222L

/** Two members talking at once for [count] packets each (Bob 10 packets later), each ending with silence frames. */
private fun TestScope.twoSpeakers(h: ReceiverHarness, count: Int) = launch {
    val alice = FakeSpeaker(1, h.key)
    val bob = FakeSpeaker(2, h.key)
    for (i in 0 until count + 15) {
        when {
            i < count -> h.source.offer(alice.datagram(Speech.packets[i]))
            i < count + 5 -> h.source.offer(alice.datagram(FakeSpeaker.SILENCE))
        }
        when {
            i < 10 -> Unit
            i < count + 10 -> h.source.offer(bob.datagram(Speech.packets[i - 10]))
            else -> h.source.offer(bob.datagram(FakeSpeaker.SILENCE))
        }
        delay(20)
    }
    h.source.close()
}

private fun directory() = SsrcDirectory().apply {
    map(1, ALICE)
    map(2, BOB)
}

/** Records what it is given. */
private class Recorder(override val overflow: SinkOverflow = SinkOverflow.Buffer()) : AudioSink {
    val frames = mutableListOf<AudioFrame>()
    val ticks = mutableListOf<Long>()
    val events = mutableListOf<VoiceEvent>()
    var cleanups = 0

    override suspend fun write(user: VoiceUser?, data: AudioFrame) {
        frames += data
    }

    override suspend fun onTick(tick: VoiceTick) {
        ticks += tick.tick
        super.onTick(tick)
    }

    override suspend fun onEvent(event: VoiceEvent) {
        events += event
    }

    override suspend fun cleanup() {
        cleanups++
    }
}

@OptIn(ExperimentalCoroutinesApi::class)
class SinkSpec : FunSpec({

    test("a slow sink and a throwing sink beside a healthy one: the healthy one gets every frame") {
        runTest {
            val h = ReceiverHarness(this, ssrcs = directory())
            val healthy = Recorder()
            val slowSeen = mutableListOf<Long>()
            val slow = object : AudioSink {
                override val overflow = SinkOverflow.DropOldest(capacity = 5)
                override suspend fun write(user: VoiceUser?, data: AudioFrame) {}
                override suspend fun onTick(tick: VoiceTick) {
                    slowSeen += tick.tick
                    delay(200) // ten times slower than real time
                }
            }
            var thrownCleanups = 0
            val thrower = object : AudioSink {
                var n = 0
                override suspend fun write(user: VoiceUser?, data: AudioFrame) {
                    if (++n == 10) throw IllegalStateException("boom at frame 10")
                }
                override suspend fun cleanup() { thrownCleanups++ }
            }
            val afters = mutableMapOf<String, Throwable?>()
            val healthyDone = CompletableDeferred<Unit>()
            h.receiver.listen(healthy) { afters["healthy"] = it; healthyDone.complete(Unit) }
            val slowDone = CompletableDeferred<Unit>()
            val slowListening = h.receiver.listen(slow) { afters["slow"] = it; slowDone.complete(Unit) }
            h.receiver.listen(thrower) { afters["thrower"] = it }
            twoSpeakers(h, 100)
            val ticks = h.ticks.await()
            healthyDone.await()

            healthy.frames.size shouldBe ticks.sumOf { it.speaking.size }
            healthy.frames.count { it.userId == ALICE } shouldBe 100
            healthy.frames.count { it.userId == BOB } shouldBe 100
            healthy.ticks shouldContainExactly ticks.map { it.tick }
            healthy.cleanups shouldBe 1
            afters["healthy"] shouldBe null

            afters["thrower"].shouldBeInstanceOf<IllegalStateException>().message shouldBe "boom at frame 10"
            thrownCleanups shouldBe 1

            // The slow sink drains its last queued ticks after the receiver has stopped, then ends normally.
            slowDone.await()
            afters["slow"] shouldBe null
            slowListening.dropped shouldBeGreaterThan 0
            (slowSeen.size < ticks.size) shouldBe true
        }
    }

    test("stopListening ends every sink once: cleanup runs and after gets null") {
        runTest {
            val h = ReceiverHarness(this, ssrcs = directory())
            val a = Recorder()
            val b = Recorder()
            val afters = mutableListOf<Throwable?>()
            h.receiver.listen(a) { afters += it }
            h.receiver.listen(b) { afters += it }
            h.receiver.isListening shouldBe true
            twoSpeakers(h, 100)
            delay(500)
            h.receiver.stopListening()
            h.receiver.isListening shouldBe false
            afters shouldBe listOf(null, null)
            a.cleanups shouldBe 1
            b.cleanups shouldBe 1
            val seen = a.ticks.size
            h.ticks.await()
            a.ticks.size shouldBe seen
        }
    }

    test("while paused nothing is delivered, and delivery resumes after") {
        runTest {
            val h = ReceiverHarness(this, ssrcs = directory())
            val r = Recorder()
            h.receiver.listen(r)
            twoSpeakers(h, 100)
            delay(400)
            h.receiver.pauseListening()
            val before = r.ticks.toList()
            delay(600)
            h.receiver.resumeListening()
            h.ticks.await()
            val gap = r.ticks.zipWithNext().single { (x, y) -> y != x + 1 }
            (gap.second - gap.first) shouldBe 31L
            r.ticks.take(before.size) shouldContainExactly before
        }
    }

    test("TimedFilter ends the listening normally after its duration of receive-clock time") {
        runTest {
            val h = ReceiverHarness(this, ssrcs = directory())
            val r = Recorder()
            var after: Result<Throwable?>? = null
            h.receiver.listen(TimedFilter(r, 1.seconds)) { after = Result.success(it) }
            twoSpeakers(h, 100)
            h.ticks.await()
            r.ticks.size shouldBe 50
            after shouldBe Result.success(null)
            r.cleanups shouldBe 1
        }
    }

    test("UserFilter passes one user's frames and still every tick") {
        runTest {
            val h = ReceiverHarness(this, ssrcs = directory())
            val r = Recorder()
            h.receiver.listen(UserFilter(r, setOf(BOB)))
            twoSpeakers(h, 60)
            val ticks = h.ticks.await()
            r.frames.map { it.userId }.toSet() shouldBe setOf(BOB)
            r.frames.size shouldBe 60
            r.ticks shouldContainExactly ticks.map { it.tick }
        }
    }

    test("GainSink scales (Q16, rounded) and clamps PCM, checked against a plain Long computation") {
        runTest {
            val h = ReceiverHarness(this, ssrcs = directory())
            val plain = Recorder()
            val loud = Recorder()
            h.receiver.listen(plain)
            h.receiver.listen(GainSink(loud, 3.5f))
            twoSpeakers(h, 40)
            h.ticks.await()
            loud.frames.size shouldBe plain.frames.size
            var clamped = 0
            plain.frames.zip(loud.frames).forEach { (p, l) ->
                val expected = p.pcm!!.map { s ->
                    // Q16 gain, rounded half up: the mixer's rule.
                    val v = (s.toLong() * Math.round(3.5 * 65536.0) + 32768) shr 16
                    if (v > 32767 || v < -32768) clamped++
                    v.coerceIn(-32768, 32767).toShort()
                }
                l.pcm!!.toList() shouldBe expected
            }
            (clamped > 0) shouldBe true
        }
    }

    test("PerUserSink makes one child per user on first audio and gives it every later tick") {
        runTest {
            val h = ReceiverHarness(this, ssrcs = directory())
            val made = mutableMapOf<Long, Recorder>()
            val perUser = PerUserSink { user, _ -> Recorder().also { made[user.id] = it } }
            h.receiver.listen(perUser)
            twoSpeakers(h, 60)
            val ticks = h.ticks.await()
            made.keys shouldBe setOf(ALICE, BOB)
            made.getValue(ALICE).frames.all { it.userId == ALICE } shouldBe true
            made.getValue(BOB).frames.all { it.userId == BOB } shouldBe true
            made.getValue(BOB).frames.size shouldBe 60
            // Bob's child exists from his first frame on and sees every tick after it.
            val bobFirst = ticks.first { t -> t.frameOf(BOB) != null }.tick
            made.getValue(BOB).ticks shouldContainExactly ticks.map { it.tick }.filter { it >= bobFirst }
            made.values.all { it.cleanups == 1 } shouldBe true
        }
    }

    test("TeeSink gives both children the same frames; events arrive in order with ticks") {
        runTest {
            val h = ReceiverHarness(this, ssrcs = directory())
            val a = Recorder()
            val b = Recorder()
            h.receiver.listen(TeeSink(a, b))
            twoSpeakers(h, 100)
            val ticks = h.ticks.await()
            a.frames.map { it.tick to it.userId } shouldBe b.frames.map { it.tick to it.userId }
            val stats = a.events.filterIsInstance<VoiceEvent.Stats>()
            stats.size shouldBe ticks.size / 50
            stats.last().stats.ticks shouldBe (ticks.size / 50) * 50L
        }
    }

    test("speaking start and stop come from the audio itself, with the hang time, in order with the ticks") {
        runTest {
            val h = ReceiverHarness(this, ssrcs = directory())
            val outputs = async(start = CoroutineStart.UNDISPATCHED) { h.receiver.outputsFlow.toList() }
            twoSpeakers(h, 60)
            val ticks = h.ticks.await()
            val all = outputs.await()
            for (user in listOf(ALICE, BOB)) {
                val audible = ticks.filter { it.frameOf(user) != null }.map { it.tick }
                val started = all.filterIsInstance<VoiceEvent.SpeakingStarted>().single { it.userId == user }
                val stopped = all.filterIsInstance<VoiceEvent.SpeakingStopped>().single { it.userId == user }
                started.tick shouldBe audible.first()
                stopped.tick shouldBe audible.last()
                // The start precedes the tick with the first audio; the stop comes 10 ticks (200 ms) after the last.
                val startAt = all.indexOf(started)
                (all[startAt + 1] as VoiceTick).tick shouldBe audible.first()
                val stopAt = all.indexOf(stopped)
                if (stopAt + 1 < all.size) {
                    (all[stopAt + 1] as VoiceTick).tick shouldBe audible.last() + 10
                } else {
                    // The stream ended within the hang time: the stop is flushed at the very end.
                    (ticks.last().tick < audible.last() + 10) shouldBe true
                }
            }
        }
    }

    test("opusPackets gives every sent packet once, in order, per user and for everyone") {
        runTest {
            val h = ReceiverHarness(this, ssrcs = directory())
            val bob = async(start = CoroutineStart.UNDISPATCHED) { h.receiver.opusPackets(BOB).toList() }
            val all = async(start = CoroutineStart.UNDISPATCHED) { h.receiver.opusPackets.toList() }
            twoSpeakers(h, 60)
            h.ticks.await()
            bob.await().map { it.opus.toList() } shouldBe Speech.packets.take(60).map { it.toList() }
            bob.await().all { it.userId == BOB && !it.isSilence } shouldBe true
            all.await().size shouldBe 120
            all.await().filter { it.userId == ALICE }.map { it.opus.toList() } shouldBe Speech.packets.take(60).map { it.toList() }
        }
    }

    test("the mixed flow is the clamped sum of every speaker's frame, one frame per tick") {
        runTest {
            val h = ReceiverHarness(this, ssrcs = directory())
            val mixed = async(start = CoroutineStart.UNDISPATCHED) { h.receiver.mixed().toList() }
            twoSpeakers(h, 60)
            val ticks = h.ticks.await()
            val frames = mixed.await()
            frames.map { it.tick } shouldContainExactly ticks.map { it.tick }
            ticks.zip(frames).forEach { (t, m) ->
                val expected = ShortArray(1920) { i -> t.speaking.sumOf { it.pcm!![i].toLong() }.coerceIn(-32768, 32767).toShort() }
                m.pcm!!.contentEquals(expected) shouldBe true
                m.kind shouldBe if (t.speaking.isEmpty()) FrameKind.SILENCE else FrameKind.DECODED
            }
        }
    }

    test("the speech segmenter hands over one 16 kHz mono utterance per talk spurt, per user") {
        runTest {
            val h = ReceiverHarness(this, ssrcs = directory()) { decode = PcmFormat.MONO_16K }
            val utterances = mutableListOf<Pair<VoiceUser?, dev.earshot.voice.audio.Utterance>>()
            val done = CompletableDeferred<Unit>()
            h.receiver.listen(SpeechSegmenterSink(endSilenceTicks = 40) { user, u -> utterances += user to u }) { done.complete(Unit) }
            twoSpeakers(h, 150)
            val ticks = h.ticks.await()
            done.await()
            for (user in listOf(ALICE, BOB)) {
                val audible = ticks.filter { it.frameOf(user) != null }.map { it.tick }
                val mine = utterances.filter { it.first?.id == user }.map { it.second }
                // The speech has pauses shorter than 800 ms only, so each user's spurt is one utterance.
                mine.size shouldBe 1
                mine[0].startTick shouldBe audible.first()
                mine[0].endTick shouldBe audible.last()
                mine[0].pcm.size shouldBe (audible.last() - audible.first() + 1).toInt() * 320
            }
        }
    }

    test("when the receiver fails (the socket breaks), every sink's after gets that error") {
        runTest {
            val broken = java.io.IOException("socket closed under us")
            val source = object : DatagramSource {
                var calls = 0
                override fun poll(buffer: ByteArray): Int = if (++calls > 3) throw broken else DatagramSource.EMPTY
                override suspend fun awaitReadable() = delay(20)
            }
            val dispatcher = StandardTestDispatcher(testScheduler)
            val receiver = VoiceReceiver(source, ReceiveConfig {
                clock = NanoClock { testScheduler.currentTime * 1_000_000L }
                readDispatcher = dispatcher
                pipelineDispatcher = dispatcher
            })
            receiver.start(this)
            val after = CompletableDeferred<Throwable?>()
            val r = Recorder()
            receiver.listen(r) { after.complete(it) }
            receiver.awaitClose() shouldBe broken
            after.await() shouldBe broken
            r.cleanups shouldBe 1
        }
    }

    test("a sink that wants a PCM format the receiver cannot make from what it decodes is refused with a clear message") {
        runTest {
            // 16 kHz mono from a 48 kHz stereo receiver is converted (FormatsSpec); the other way round is not.
            val h = ReceiverHarness(this) { decode = PcmFormat.MONO_16K }
            val e = shouldThrow<IllegalArgumentException> {
                h.receiver.listen(CallbackSink(wants = AudioFormat.Pcm(PcmFormat.STEREO_48K)) { _, _ -> })
            }
            e.message shouldContain "ReceiveConfig { decode = PcmFormat.STEREO_48K }"
            h.source.close()
        }
    }
})
