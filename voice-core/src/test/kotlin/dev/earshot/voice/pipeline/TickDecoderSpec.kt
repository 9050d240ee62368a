package dev.earshot.voice.pipeline

import dev.earshot.voice.ReceiveConfig
import dev.earshot.voice.base.Counter
import dev.earshot.voice.base.Counters
import dev.earshot.voice.base.NanoClock
import dev.earshot.voice.codec.ConcentusDecoderFactory
import dev.earshot.voice.codec.OpusDecoderFactory
import dev.earshot.voice.codec.OpusFrameDecoder
import dev.earshot.voice.codec.SpeechFixtures
import dev.earshot.voice.crypto.EncryptionMode
import dev.earshot.voice.crypto.TransportCipher
import dev.earshot.voice.e2ee.FrameDecryptor
import dev.earshot.voice.identity.SsrcDirectory
import dev.earshot.voice.model.FrameKind
import dev.earshot.voice.model.VoiceTick
import dev.earshot.voice.pipelineSettings
import dev.earshot.voice.testing.ChannelDatagramSource
import dev.earshot.voice.testing.FakeSpeaker
import dev.earshot.voice.testing.Speech
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.collections.shouldContain
import io.kotest.matchers.collections.shouldContainAll
import io.kotest.matchers.ints.shouldBeGreaterThanOrEqual
import io.kotest.matchers.ints.shouldBeLessThanOrEqual
import io.kotest.matchers.longs.shouldBeGreaterThan
import io.kotest.matchers.longs.shouldBeLessThanOrEqual
import io.kotest.matchers.shouldBe
import io.kotest.matchers.shouldNotBe
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.ExperimentalCoroutinesApi
import kotlinx.coroutines.async
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.launch
import kotlinx.coroutines.test.StandardTestDispatcher
import kotlinx.coroutines.test.runTest
import kotlinx.coroutines.withContext
import java.time.Instant
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.CountDownLatch
import java.util.concurrent.Executor
import java.util.concurrent.Semaphore
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicBoolean
import java.util.concurrent.locks.LockSupport
import kotlin.random.Random
import kotlin.time.Duration.Companion.seconds

/**
 * Decoding off the pipeline's thread ([TickDecoder]): the receive loop goes on while a tick decodes, the output is the
 * same as decoding inline, ticks leave in order, at most [TICKS_IN_FLIGHT] are in flight, and a departed speaker's
 * decoder closes only after its pending work.
 */
@OptIn(ExperimentalCoroutinesApi::class)
class TickDecoderSpec : FunSpec({

    test("decoded off the pipeline's thread, ticks are the same as decoded inline: many speakers, FEC, PLC, 40/60 ms packets, a speaker retired and one removed mid-run") {
        val threads = ConcurrentHashMap.newKeySet<String>()
        val recording = OpusDecoderFactory { format ->
            val d = ConcentusDecoderFactory.create(format)
            object : OpusFrameDecoder by d {
                override fun decode(packet: ByteArray, offset: Int, length: Int, out: ShortArray): Int {
                    threads += Thread.currentThread().name
                    return d.decode(packet, offset, length, out)
                }
            }
        }
        val inline = drive(null, recording)
        val inlineThreads = threads.toSet()
        threads.clear()
        val offThread = drive(DecodePool, recording)

        offThread.ticks.size shouldBe inline.ticks.size
        offThread.ticks.map { it.tick } shouldBe (0L until TICKS).toList()
        for (i in inline.ticks.indices) {
            val a = inline.ticks[i]
            val b = offThread.ticks[i]
            b.silent shouldBe a.silent
            b.speaking.size shouldBe a.speaking.size
            for (j in a.speaking.indices) {
                val fa = a.speaking[j]
                val fb = b.speaking[j]
                fb.toString() shouldBe fa.toString() // ssrc, user, tick, sequence, timestamp, kind
                fb.pcm!!.contentEquals(fa.pcm!!) shouldBe true
                fb.opus.contentEquals(fa.opus) shouldBe true
                fb.extraOpus.size shouldBe fa.extraOpus.size
            }
        }
        offThread.events shouldBe inline.events
        offThread.counters shouldBe inline.counters
        offThread.stats shouldBe inline.stats

        // The run covers what it claims to.
        val kinds = inline.ticks.flatMap { t -> t.speaking.map { it.kind } }.toSet()
        kinds shouldContainAll listOf(FrameKind.DECODED, FrameKind.FEC_RECOVERED, FrameKind.CONCEALED)
        val framesOf = { ssrc: Long -> inline.ticks.filter { t -> t.speaking.any { it.ssrc == ssrc } }.map { it.tick } }
        framesOf(SSRC_40).size shouldBeGreaterThanOrEqual 100
        framesOf(SSRC_60).size shouldBeGreaterThanOrEqual 100
        framesOf(RETIRED).max() shouldBeGreaterThan RETIRE_AT.toLong() // its buffered audio still played out
        inline.retired shouldBe listOf(RETIRED)
        framesOf(REMOVED).max() shouldBeLessThanOrEqual REMOVE_AT.toLong() - 1
        framesOf(REMOVED).size shouldBeGreaterThanOrEqual 50
        // Inline decoding ran on the caller and its helpers, never on a driver; off the thread, never on the caller.
        inlineThreads shouldContain Thread.currentThread().name
        threads shouldNotBe emptySet<String>()
        threads.none { it == Thread.currentThread().name } shouldBe true
        offThread.maxInFlight shouldBeGreaterThanOrEqual 2 // ticks really overlapped the planning of later ones
        offThread.maxInFlight shouldBeLessThanOrEqual TICKS_IN_FLIGHT
    }

    test("the receive loop drains datagrams while a tick's decoding blocks, and no more than 3 ticks are in flight") {
        val gate = CountDownLatch(1)
        val entered = CountDownLatch(1)
        val blockOnce = AtomicBoolean(true)
        val counters = Counters()
        // Taken on the decoding thread as it blocks, so the baseline cannot include packets decrypted afterwards.
        val decryptedAtBlock = java.util.concurrent.atomic.AtomicLong()
        val ticksAtBlock = java.util.concurrent.atomic.AtomicLong()
        val blocking = OpusDecoderFactory { format ->
            val d = ConcentusDecoderFactory.create(format)
            object : OpusFrameDecoder by d {
                override fun decode(packet: ByteArray, offset: Int, length: Int, out: ShortArray): Int {
                    if (blockOnce.getAndSet(false)) {
                        decryptedAtBlock.set(counters[Counter.DECRYPTED])
                        ticksAtBlock.set(counters[Counter.TICKS])
                        entered.countDown()
                        gate.await(20, TimeUnit.SECONDS)
                    }
                    return d.decode(packet, offset, length, out)
                }
            }
        }
        var advancedWhileBlocked = false
        var ticksPlannedWhileBlocked = -1L
        // Off the test's thread: waits for the decode to block, then for the receive loop to decrypt 20 more packets
        // (it cannot when decoding runs on the pipeline's thread, which is the test's), then releases the decoder.
        val releaser = Thread {
            if (!entered.await(20, TimeUnit.SECONDS)) return@Thread
            val before = decryptedAtBlock.get()
            val ticksBefore = ticksAtBlock.get()
            val deadline = System.nanoTime() + 10_000_000_000L
            while (counters[Counter.DECRYPTED] < before + 20 && System.nanoTime() < deadline) LockSupport.parkNanos(1_000_000)
            advancedWhileBlocked = counters[Counter.DECRYPTED] >= before + 20
            ticksPlannedWhileBlocked = counters[Counter.TICKS] - ticksBefore
            gate.countDown()
        }.apply { isDaemon = true; start() }

        var ticks: List<VoiceTick> = emptyList()
        runTest(timeout = 60.seconds) {
            val dispatcher = StandardTestDispatcher(testScheduler)
            val clock = NanoClock { testScheduler.currentTime * 1_000_000L }
            val settings = ReceiveConfig {
                this.clock = clock
                decoderFactory = blocking
                readDispatcher = dispatcher
                pipelineDispatcher = dispatcher
            }.pipelineSettings().withDecodeExecutor(DecodePool)
            val source = ChannelDatagramSource()
            val pipeline = ReceivePipeline(settings, source, SsrcDirectory(), FrameDecryptor.PASSTHROUGH, counters) { Instant.EPOCH }
            val key = FakeSpeaker.key(1)
            pipeline.setCipher(TransportCipher.create(EncryptionMode.AEAD_AES256_GCM_RTPSIZE, key))
            val outputs = async(start = CoroutineStart.UNDISPATCHED) { pipeline.outputs { it is VoiceTick }.toList() }
            val run = launch(dispatcher) { pipeline.run() }
            val speaker = FakeSpeaker(0xABCL, key)
            launch(dispatcher) {
                val packets = Speech.packets.take(SENT)
                for (p in packets.take(10)) {
                    source.offer(speaker.datagram(p))
                    delay(20)
                }
                // The rest only once a decode has blocked (real time; virtual time would otherwise run ahead of the
                // pool thread and send everything before the decode starts). This thread stays free meanwhile.
                withContext(Dispatchers.IO) { entered.await(20, TimeUnit.SECONDS) }
                for (p in packets.drop(10)) {
                    source.offer(speaker.datagram(p))
                    delay(20)
                }
                source.close()
            }
            run.join()
            pipeline.closeOutputs(null)
            ticks = outputs.await().map { it as VoiceTick }
        }
        releaser.join()
        advancedWhileBlocked shouldBe true
        // The blocked tick and at most two more planned behind it; later deadlines counted late instead.
        ticksPlannedWhileBlocked shouldBeLessThanOrEqual (TICKS_IN_FLIGHT - 1).toLong()
        counters[Counter.LATE_TICKS] shouldBeGreaterThan 0L
        // Every tick still came out, in order, and all the audio with it.
        ticks.map { it.tick } shouldBe (0L until ticks.size).toList()
        ticks.sumOf { t -> t.speaking.count { it.opus != null } } shouldBe SENT
    }

    test("a speaker removed while its tick decodes keeps its frame; its decoder closes only after that work") {
        val gate = CountDownLatch(1)
        val entered = CountDownLatch(1)
        val events = java.util.Collections.synchronizedList(ArrayList<String>())
        val gated = OpusDecoderFactory { format ->
            val d = ConcentusDecoderFactory.create(format)
            object : OpusFrameDecoder by d {
                override fun decode(packet: ByteArray, offset: Int, length: Int, out: ShortArray): Int {
                    entered.countDown()
                    gate.await(20, TimeUnit.SECONDS)
                    return d.decode(packet, offset, length, out).also { events += "decoded" }
                }

                override fun close() {
                    events += "closed"
                    d.close()
                }
            }
        }
        var now = 5_000_000_000L
        val counters = Counters()
        val pool = PacketPool()
        val settings = ReceiveConfig { clock = NanoClock { now }; decoderFactory = gated }.pipelineSettings()
            .withDecodeExecutor(DecodePool)
        val playout = Playout(settings, counters, pool)
        val decoded = Semaphore(0)
        playout.onDecoded = { decoded.release() }
        val epoch = playout.epoch()
        val packets = Speech.packets
        var tick = 0
        while (entered.count > 0L) {
            check(tick < 20) { "no frame planned in 20 ticks" }
            now = epoch + tick * TICK_NANOS + TICK_NANOS / 2
            playout.insert(packet(pool, Stream(0x77, packets, 1, 0, 10, 0L), tick, now))
            now = epoch + (tick + 1) * TICK_NANOS
            playout.planTick()
            tick++
            // Either the tick comes back (no audio in it yet) or its decoding blocks on the gate.
            val deadline = System.nanoTime() + 10_000_000_000L
            while (entered.count > 0L) {
                val back = playout.takeDecoded()
                if (back != null) {
                    back.voiceTick!!.speaking shouldBe emptyList()
                    break
                }
                check(System.nanoTime() < deadline) { "tick $tick neither came back nor started decoding" }
                decoded.tryAcquire(1, TimeUnit.MILLISECONDS)
            }
        }
        entered.count shouldBe 0L
        playout.remove(0x77)
        events shouldBe emptyList() // neither decoded nor closed yet: the decode is blocked
        gate.countDown()
        decoded.tryAcquire(5, TimeUnit.SECONDS) shouldBe true
        var t = playout.takeDecoded()
        while (t != null && t.voiceTick!!.speaking.isEmpty()) t = playout.takeDecoded()
        val frame = t?.voiceTick
        frame!!.speaking.single().ssrc shouldBe 0x77L
        frame.speaking.single().pcm!!.any { it.toInt() != 0 } shouldBe true
        events shouldBe listOf("decoded", "closed")
    }

    test("a tick with nothing to decode is assembled on the planning thread, unless an earlier tick is still decoding") {
        val handedOver = java.util.concurrent.atomic.AtomicInteger()
        val queued = java.util.concurrent.LinkedBlockingQueue<Runnable>()
        // An executor that runs nothing by itself: the test decides when the decode thread "runs".
        val executor = java.util.concurrent.Executor { handedOver.incrementAndGet(); queued.add(it) }
        val decoder = TickDecoder(executor, ParallelRound(0))
        val speaker = SpeakerDecoder(null, dev.earshot.voice.codec.ConcentusDecoderFactory, dev.earshot.voice.base.Counters())
        fun empty(tick: Long) = PlannedTick(tick, arrayOf(7L), arrayOf(null), emptyList())
        fun voiced(tick: Long) = PlannedTick(tick, arrayOf(7L), arrayOf(FrameWork(speaker, 7L).also { it.reset(tick, null) }), emptyList())

        decoder.submit(empty(0))
        handedOver.get() shouldBe 0
        decoder.poll()!!.voiceTick!!.silent shouldBe setOf(7L)

        // Behind a tick still decoding, an empty one waits its turn on the decode thread: ticks leave in order.
        decoder.submit(voiced(1))
        decoder.submit(empty(2))
        handedOver.get() shouldBe 1
        decoder.poll() shouldBe null
        queued.take().run()
        decoder.poll()!!.tick shouldBe 1L
        decoder.poll()!!.tick shouldBe 2L
        decoder.inFlight shouldBe 0

        // Once all is decoded, empty ticks are assembled at once again.
        decoder.submit(empty(3))
        handedOver.get() shouldBe 1
        decoder.poll()!!.tick shouldBe 3L
    }
}) {
    private class Stream(
        val ssrc: Long,
        val packets: List<ByteArray>,
        val ticksPer: Int,
        val startTick: Int,
        val seq0: Int,
        val ts0: Long,
        val endTick: Int = Int.MAX_VALUE,
    )

    private class Run(
        val ticks: List<VoiceTick>,
        val events: List<String>,
        val counters: List<Long>,
        val stats: List<String>,
        val retired: List<Long>,
        val maxInFlight: Int,
    )

    private companion object {
        const val TICKS = 160L
        const val SENT = 60
        const val RETIRE_AT = 60
        const val REMOVE_AT = 90
        const val RETIRED = 102L
        const val REMOVED = 103L
        const val SSRC_40 = 200L
        const val SSRC_60 = 300L

        fun PipelineSettings.withDecodeExecutor(e: Executor?) = PipelineSettings(
            decode, playout, concealTicks, jitterCapacity, maxSsrcs, unknownSsrcHold, holdPerSsrc, maxHeldSsrcs,
            speakingHangTicks, stageQueueCapacity, tickQueueCapacity, decoderFactory, decodeThreads, clock,
            readDispatcher, pipelineDispatcher, e,
        )

        fun packet(pool: PacketPool, s: Stream, i: Int, arrival: Long): ReceivedPacket {
            val p = pool.acquire()
            val opus = s.packets[i % s.packets.size]
            System.arraycopy(opus, 0, p.data, 12, opus.size)
            p.length = 12 + opus.size
            p.payloadOffset = 12
            p.payloadLength = opus.size
            p.ssrc = s.ssrc
            p.sequence = (s.seq0 + i) and 0xFFFF
            p.timestamp = (s.ts0 + i * 960L * s.ticksPer) and 0xFFFF_FFFFL
            p.arrivalNanos = arrival
            p.userId = 1_000 + s.ssrc
            return p
        }

        /**
         * Plays 22 speakers (18 with 20 ms speech, two with 40 ms and two with 60 ms packets) through a [Playout] tick by
         * tick, with the same losses and late arrivals in every run, retiring one speaker and removing another mid-run.
         * Decodes on [executor] (null: inline); plans as soon as fewer than [TICKS_IN_FLIGHT] ticks are in flight.
         */
        fun drive(executor: Executor?, factory: OpusDecoderFactory): Run {
            var now = 1_000_000_000L
            val counters = Counters()
            val pool = PacketPool()
            val settings = ReceiveConfig {
                clock = NanoClock { now }
                decoderFactory = factory
                decodeThreads = 4
            }.pipelineSettings().withDecodeExecutor(executor)
            val playout = Playout(settings, counters, pool)
            val decoded = Semaphore(0)
            playout.onDecoded = { decoded.release() }
            val epoch = playout.epoch()
            val rnd = Random(11)
            val speech = Speech.packets
            // The retired speaker's member stops sending just after leaving; the removed one's some ticks before.
            fun end(ssrc: Long) = when (ssrc) { RETIRED -> RETIRE_AT + 3; REMOVED -> REMOVE_AT - 4; else -> TICKS.toInt() - 10 }
            val streams = List(18) { Stream(100L + it, speech.drop(13 * it), 1, it % 5, rnd.nextInt(65536), rnd.nextLong(1L shl 32), end(100L + it)) } +
                listOf(SSRC_40, SSRC_40 + 1).map { Stream(it, SpeechFixtures.stereo40.packets, 2, 1, rnd.nextInt(65536), rnd.nextLong(1L shl 32)) } +
                listOf(SSRC_60, SSRC_60 + 1).map { Stream(it, SpeechFixtures.stereo60.packets, 3, 2, rnd.nextInt(65536), rnd.nextLong(1L shl 32)) }
            // Arrival tick of every packet: 6 % lost, 10 % one to three ticks late (reordered).
            val arrivals = HashMap<Int, MutableList<Pair<Stream, Int>>>()
            for (s in streams) {
                var i = 0
                while (s.startTick + i * s.ticksPer < minOf(s.endTick, TICKS.toInt() - 10)) {
                    val sent = s.startTick + i * s.ticksPer
                    val lost = rnd.nextDouble() < 0.06
                    val late = if (rnd.nextDouble() < 0.1) rnd.nextInt(1, 4) else 0
                    if (!lost) arrivals.getOrPut(sent + late) { ArrayList() } += s to i
                    i++
                }
            }
            val ticks = ArrayList<VoiceTick>()
            val events = ArrayList<String>()
            val retired = ArrayList<Long>()
            var maxInFlight = 0
            fun takeAll() {
                while (true) {
                    val t = playout.takeDecoded() ?: return
                    t.failure?.let { throw it }
                    events += t.events.map { it.toString() }
                    ticks += t.voiceTick!!
                }
            }
            fun awaitOne() {
                check(decoded.tryAcquire(20, TimeUnit.SECONDS)) { "no tick decoded within 20 s" }
                takeAll()
            }
            for (k in 0 until TICKS.toInt()) {
                now = epoch + k * TICK_NANOS + TICK_NANOS / 2
                arrivals[k]?.forEach { (s, i) -> playout.insert(packet(pool, s, i, now)) }
                if (k == RETIRE_AT) playout.retire(RETIRED) { retired += it }
                if (k == REMOVE_AT) playout.remove(REMOVED)
                now = epoch + (k + 1) * TICK_NANOS
                while (!playout.canPlan) awaitOne()
                playout.planTick()
                maxInFlight = maxOf(maxInFlight, playout.ticksInFlight)
                takeAll()
            }
            while (playout.ticksInFlight > 0) awaitOne()
            val stats = playout.speakerStats().sortedBy { it.ssrc }.map { it.toString() }
            playout.close()
            return Run(ticks, events, counters.values().toList(), stats, retired, maxInFlight)
        }
    }
}
