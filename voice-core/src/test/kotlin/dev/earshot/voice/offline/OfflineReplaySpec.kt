package dev.earshot.voice.offline

import dev.earshot.voice.base.NanoClock
import dev.earshot.voice.ReceiveConfig
import dev.earshot.voice.VoiceReceiver
import dev.earshot.voice.crypto.EncryptionMode
import dev.earshot.voice.files.OggOpusReader
import dev.earshot.voice.identity.SsrcDirectory
import dev.earshot.voice.sink.RecordingSinks
import dev.earshot.voice.testing.ChannelDatagramSource
import dev.earshot.voice.testing.FakeSpeaker
import dev.earshot.voice.testing.Speech
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.collections.shouldContainExactlyInAnyOrder
import io.kotest.matchers.ints.shouldBeGreaterThan
import io.kotest.matchers.longs.shouldBeGreaterThan
import io.kotest.matchers.shouldBe
import kotlinx.coroutines.delay
import kotlinx.coroutines.launch
import kotlinx.coroutines.test.StandardTestDispatcher
import kotlinx.coroutines.test.runTest
import java.nio.file.Files
import java.nio.file.Path
import java.time.Instant
import kotlin.io.path.listDirectoryEntries
import kotlin.io.path.name
import kotlin.random.Random
import kotlin.time.Duration.Companion.milliseconds

private val MODE = EncryptionMode.AEAD_AES256_GCM_RTPSIZE

private fun files(dir: Path): Map<String, ByteArray> =
    dir.listDirectoryEntries().associate { it.name to Files.readAllBytes(it) }

/**
 * The public offline path: a live receiver's datagrams captured to a file, then replayed in virtual time with
 * [OfflineReceiver] (no test library), give byte-identical recordings.
 */
class OfflineReplaySpec : FunSpec({

    test("a capture replayed offline produces the same files as the live receiver it was captured from") {
        val dir = Files.createTempDirectory("earshot-replay")
        val capture = dir.resolve("call.escap")
        val key = FakeSpeaker.key(3)
        val startedAt = Instant.parse("2026-03-01T12:00:00Z")
        // Users 101 and 202 mapped from the start; SSRC 3 is user 303 from 707 ms on.
        fun directory() = SsrcDirectory().apply { map(1, 101); map(2, 202) }
        var sourceEndNanos = 0L

        // The live run: the receiver reads through a capturing source (the test's virtual time as its clock).
        runTest {
            val dispatcher = StandardTestDispatcher(testScheduler)
            val clock = NanoClock { testScheduler.currentTime * 1_000_000L }
            val channel = ChannelDatagramSource()
            val writer = CaptureWriter(capture, startedAt)
            val ssrcs = directory()
            val receiver = VoiceReceiver(
                CapturingDatagramSource(channel, writer, clock),
                ReceiveConfig { this.clock = clock; readDispatcher = dispatcher; pipelineDispatcher = dispatcher },
                ssrcs,
            )
            receiver.setTransportKey(MODE, key)
            receiver.start(this)
            receiver.listen(RecordingSinks.perUserWav(dir.resolve("live")))
            launch {
                delay(90)
                receiver.listen(RecordingSinks.mixedWav(dir.resolve("live/mixed.wav")))
                receiver.listen(RecordingSinks.perUserOgg(dir.resolve("live")))
            }
            launch { delay(707); ssrcs.map(3, 303) }
            launch {
                val rnd = Random(11)
                val speakers = (1L..3L).map { FakeSpeaker(it, key, sequence = rnd.nextInt(65536), timestamp = rnd.nextLong(1L shl 32)) }
                // Arrivals jittered within each 20 ms, never on a tick boundary; 3 % loss.
                val sends = ArrayList<Pair<Long, ByteArray>>()
                speakers.forEachIndexed { i, s ->
                    val from = 100L + 300 * i
                    for (k in 0 until 80) {
                        val d = s.datagram(Speech.packets[k + 40 * i])
                        if (k == 0 || rnd.nextDouble() >= 0.03) sends += (from + 20 * k + 1 + rnd.nextLong(0, 17)) to d
                    }
                    repeat(5) { k -> sends += (from + 20 * (80 + k) + 1) to s.datagram(FakeSpeaker.SILENCE) }
                }
                sends.sortBy { it.first }
                var now = 0L
                for ((at, d) in sends) {
                    delay(at - now)
                    now = at
                    channel.offer(d)
                }
                delay(150)
                sourceEndNanos = testScheduler.currentTime * 1_000_000L
                channel.close()
            }
            receiver.awaitClose() shouldBe null
            receiver.awaitSinks()
            writer.close()
        }

        // The replay: the capture file, the same key and mappings, no kotlinx-coroutines-test.
        val result = CaptureReader(capture).use { cap ->
            cap.startedAt shouldBe startedAt
            val ssrcs = directory()
            OfflineReceiver.replay(cap, MODE, key, ssrcs = ssrcs) {
                listen(RecordingSinks.perUserWav(dir.resolve("replayed")))
                at(90.milliseconds) {
                    listen(RecordingSinks.mixedWav(dir.resolve("replayed/mixed.wav")))
                    listen(RecordingSinks.perUserOgg(dir.resolve("replayed")))
                }
                at(707.milliseconds) { ssrcs.map(3, 303) }
            }.also {
                cap.truncated shouldBe false
                cap.endedAt shouldBe startedAt.plusNanos(sourceEndNanos)
            }
        }
        result.failure shouldBe null
        result.datagrams shouldBeGreaterThan 200L
        result.stats.decoded shouldBeGreaterThan 200L
        result.timeline.origin shouldBe startedAt
        result.timeline.instantOf(50) shouldBe startedAt.plusSeconds(1)

        val live = files(dir.resolve("live"))
        val replayed = files(dir.resolve("replayed"))
        live.keys shouldContainExactlyInAnyOrder listOf(
            "user-101.wav", "user-202.wav", "user-303.wav", "mixed.wav", "user-101.opus", "user-202.opus", "user-303.opus",
        )
        replayed.keys shouldBe live.keys
        for ((name, bytes) in live) {
            bytes.size shouldBeGreaterThan 2_000
            withClue(name) {
                if (name.endsWith(".wav")) {
                    replayed.getValue(name).contentEquals(bytes) shouldBe true
                } else {
                    // Ogg stream serial numbers are random per file: compare the packets and the timing instead.
                    val a = OggOpusReader.read(bytes)
                    val b = OggOpusReader.read(replayed.getValue(name))
                    b.finalGranule shouldBe a.finalGranule
                    b.packets.size shouldBe a.packets.size
                    b.packets.indices.all { b.packets[it].contentEquals(a.packets[it]) } shouldBe true
                }
            }
        }
    }

    test("a truncated capture replays what it holds and says it was cut") {
        val dir = Files.createTempDirectory("earshot-replay-cut")
        val capture = dir.resolve("cut.escap")
        val key = FakeSpeaker.key(5)
        val start = Instant.parse("2026-03-01T12:00:00Z")
        CaptureWriter(capture, start).use { w ->
            val s = FakeSpeaker(9, key)
            for (k in 0 until 50) w.write(k * 20_000_000L + 3_000_000L, s.datagram(Speech.packets[k]))
        }
        // Cut the last record in half.
        val bytes = Files.readAllBytes(capture)
        Files.write(capture, bytes.copyOf(bytes.size - 40))
        var frames = 0
        val result = CaptureReader(capture).use { cap ->
            OfflineReceiver.replay(cap.datagrams(), MODE, key, start = cap.startedAt) {
                scope.launch { receiver.framesOfSsrc(9).collect { frames++ } }
            }.also { cap.truncated shouldBe true }
        }
        result.datagrams shouldBe 49L
        frames shouldBeGreaterThan 45
        result.failure shouldBe null
    }
})

private inline fun <T> withClue(clue: String, block: () -> T): T = io.kotest.assertions.withClue(clue, block)
