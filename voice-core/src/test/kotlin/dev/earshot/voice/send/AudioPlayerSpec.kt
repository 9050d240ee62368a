package dev.earshot.voice.send

import dev.earshot.voice.codec.SpeechFixtures
import dev.earshot.voice.crypto.EncryptionMode
import dev.earshot.voice.crypto.TransportCipher
import io.kotest.assertions.throwables.shouldThrow
import io.kotest.core.spec.style.FunSpec
import io.kotest.datatest.withData
import io.kotest.matchers.collections.shouldContainExactly
import io.kotest.matchers.ints.shouldBeLessThanOrEqual
import io.kotest.matchers.shouldBe
import io.kotest.matchers.shouldNotBe
import io.kotest.matchers.string.shouldContain
import kotlinx.coroutines.ExperimentalCoroutinesApi
import kotlinx.coroutines.delay
import kotlinx.coroutines.isActive
import kotlinx.coroutines.launch
import kotlinx.coroutines.test.runTest

private val speech = SpeechFixtures.speech.packets

/** The datagrams of [r] opened with [cipher]; fails if one does not authenticate. */
private fun opened(r: PlayerRecorder, cipher: TransportCipher): List<Opened> = r.datagrams.map { open(it, cipher)!! }

/** Checks that [packets] are consecutive: sequence +1 (wrapping) and timestamp +960 (wrapping) each. */
private fun shouldBeConsecutive(packets: List<Opened>) {
    for (i in 1 until packets.size) {
        packets[i].sequence shouldBe ((packets[i - 1].sequence + 1) and 0xFFFF)
        packets[i].timestamp shouldBe ((packets[i - 1].timestamp + 960) and 0xFFFF_FFFFL)
    }
}

@OptIn(ExperimentalCoroutinesApi::class)
class AudioPlayerSpec : FunSpec({

    context("a whole playback, in both transport modes") {
        withData(EncryptionMode.entries.filter { it.isAvailable }) { mode ->
            runTest {
                val r = PlayerRecorder(this)
                val player = r.player()
                val c = cipher(1, mode)
                player.attach(r.sink, 4242, c)
                val source = ScriptedSource(speech.take(50))
                val playback = player.play(source)
                player.isPlaying shouldBe true
                playback.await()
                playback.isActive shouldBe false
                player.isPlaying shouldBe false

                // speaking(1) before the first packet, speaking(0) after the last silence frame.
                r.seen.first() shouldBe Seen.Speaking(0, 1)
                r.seen.last() shouldBe Seen.Speaking(r.seen[r.seen.size - 2].atMs, 0)
                r.speakingFlags shouldContainExactly listOf(1, 0)
                val packets = opened(r, cipher(1, mode))
                packets.size shouldBe 55
                packets.map { it.payload.toList() } shouldBe (speech.take(50) + List(5) { SILENCE }).map { it.toList() }
                packets.forEach { it.ssrc shouldBe 4242L }
                shouldBeConsecutive(packets)
                // Paced on the virtual clock: one packet per 20 ms, from the start.
                packets.map { it.atMs } shouldBe (0 until 55).map { 20L * it }
                player.framesSent shouldBe 55
                player.framesDropped shouldBe 0
                source.closed shouldBe 1
                // The packets are what RtpPacketizer makes of them (0x80, payload type 120).
                r.datagrams.forEach { it.bytes[0] shouldBe 0x80.toByte(); it.bytes[1] shouldBe 120.toByte() }
            }
        }
    }

    test("stop mid-play: no further source frames, the silence tail and speaking(0) still follow") {
        runTest {
            val r = PlayerRecorder(this)
            val player = r.player()
            player.attach(r.sink, 1, cipher(1))
            val source = ScriptedSource(speech.take(100))
            val playback = player.play(source)
            launch { delay(210); playback.stop() }
            playback.await()
            val packets = opened(r, cipher(1))
            // Frames 0..10 went out at 0..200 ms; frame 11 was due at 220 and is not sent.
            packets.map { it.payload.toList() } shouldBe (speech.take(11) + List(5) { SILENCE }).map { it.toList() }
            packets.map { it.atMs } shouldBe (0 until 16).map { 20L * it }
            shouldBeConsecutive(packets)
            r.speakingFlags shouldContainExactly listOf(1, 0)
            source.closed shouldBe 1
            player.isPlaying shouldBe false
        }
    }

    test("play while playing replaces: the first stops without a tail, the second follows in the next slot") {
        runTest {
            val r = PlayerRecorder(this)
            val player = r.player()
            player.attach(r.sink, 1, cipher(1))
            val first = ScriptedSource(speech.take(100))
            val second = ScriptedSource(speech.drop(200).take(10))
            val a = player.play(first)
            delay(210)
            val b = player.play(second)
            a.await()
            first.closed shouldBe 1
            b.isActive shouldBe true
            b.await()
            val packets = opened(r, cipher(1))
            packets.map { it.payload.toList() } shouldBe
                (speech.take(11) + speech.drop(200).take(10) + List(5) { SILENCE }).map { it.toList() }
            packets.map { it.atMs } shouldBe (0 until 26).map { 20L * it }
            shouldBeConsecutive(packets)
            r.speakingFlags shouldContainExactly listOf(1, 0)
        }
    }

    test("detach drops the frames due meanwhile; re-attach with the same SSRC and a new key continues seq and ts") {
        runTest {
            val r = PlayerRecorder(this)
            val player = r.player()
            player.attach(r.sink, 7, cipher(1))
            r.onDatagram = { if (it == 10) player.detach() }
            launch { delay(410); player.attach(r.sink, 7, cipher(2)) }
            player.play(ScriptedSource(speech.take(40))).await()
            val before = r.datagrams.take(11).map { open(it, cipher(1))!! }
            val after = r.datagrams.drop(11).map { open(it, cipher(2))!! }
            // Slots 11..20 (220..400 ms) fell while detached.
            player.framesDropped shouldBe 10
            after.first().atMs shouldBe 420
            after.first().payload.toList() shouldBe speech[21].toList()
            after.first().sequence shouldBe ((before.last().sequence + 1) and 0xFFFF)
            after.first().timestamp shouldBe ((before.last().timestamp + 11 * 960) and 0xFFFF_FFFFL)
            shouldBeConsecutive(before)
            shouldBeConsecutive(after)
            after.size shouldBe 19 + 5
            // The new attachment gets its own speaking(1) before audio.
            r.speakingFlags shouldContainExactly listOf(1, 1, 0)
            r.seen.indexOfFirst { it is Seen.Speaking && it.atMs == 420L } shouldBe r.seen.indexOf(r.datagrams[11]) - 1
        }
    }

    test("attach with a new SSRC starts sequence and timestamp afresh") {
        runTest {
            val r = PlayerRecorder(this)
            val player = r.player()
            player.attach(r.sink, 7, cipher(1))
            r.onDatagram = { if (it == 10) player.detach() }
            launch { delay(410); player.attach(r.sink, 8, cipher(2)) }
            player.play(ScriptedSource(speech.take(40))).await()
            val before = r.datagrams.take(11).map { open(it, cipher(1))!! }
            val after = r.datagrams.drop(11).map { open(it, cipher(2))!! }
            before.forEach { it.ssrc shouldBe 7L }
            after.forEach { it.ssrc shouldBe 8L }
            shouldBeConsecutive(after)
            // Random starts: continuing by chance has probability 2^-48.
            (after.first().sequence == ((before.last().sequence + 1) and 0xFFFF) &&
                after.first().timestamp == ((before.last().timestamp + 11 * 960) and 0xFFFF_FFFFL)) shouldBe false
        }
    }

    test("a key change mid-play: packets switch keys with no gap in sequence or timestamp") {
        runTest {
            val r = PlayerRecorder(this)
            val player = r.player()
            player.attach(r.sink, 9, cipher(1, EncryptionMode.AEAD_AES256_GCM_RTPSIZE))
            val other = EncryptionMode.AEAD_XCHACHA20_POLY1305_RTPSIZE.takeIf { it.isAvailable }
                ?: EncryptionMode.AEAD_AES256_GCM_RTPSIZE
            launch { delay(210); player.attach(r.sink, 9, cipher(2, other)) }
            player.play(ScriptedSource(speech.take(30))).await()
            val d = r.datagrams
            d.take(11).forEach { open(it, cipher(2, other)) shouldBe null }
            d.drop(11).forEach { open(it, cipher(1)) shouldBe null }
            val packets = d.take(11).map { open(it, cipher(1))!! } + d.drop(11).map { open(it, cipher(2, other))!! }
            packets.map { it.payload.toList() } shouldBe (speech.take(30) + List(5) { SILENCE }).map { it.toList() }
            packets.map { it.atMs } shouldBe (0 until 35).map { 20L * it }
            shouldBeConsecutive(packets)
            player.framesDropped shouldBe 0
        }
    }

    test("a throwing source ends its playback with the error; the tail is sent and the player plays on") {
        runTest {
            val r = PlayerRecorder(this)
            val player = r.player(this) // in the test's own scope: a failure would fail the test
            player.attach(r.sink, 1, cipher(1))
            val broken = ScriptedSource(speech.take(20), failAt = 5)
            val failed = player.play(broken)
            val e = shouldThrow<IllegalStateException> { failed.await() }
            e.message shouldBe "source broke at frame 5"
            broken.closed shouldBe 1
            r.speakingFlags shouldContainExactly listOf(1, 0)
            opened(r, cipher(1)).map { it.payload.toList() } shouldBe (speech.take(5) + List(5) { SILENCE }).map { it.toList() }
            player.play(ScriptedSource(speech.take(3))).await()
            r.datagrams.size shouldBe 10 + 8
            isActive shouldBe true
            player.close()
        }
    }

    test("a frame that is not a 20 ms Opus packet fails the playback") {
        runTest {
            val r = PlayerRecorder(this)
            val player = r.player()
            player.attach(r.sink, 1, cipher(1))
            val forty = SpeechFixtures.stereo40.packets.first()
            val e = shouldThrow<IllegalArgumentException> { player.play(ScriptedSource(speech.take(3) + listOf(forty))).await() }
            e.message shouldContain "frame 3"
            e.message shouldContain "40.0 ms"
            shouldThrow<IllegalArgumentException> { player.play(ScriptedSource(listOf(ByteArray(0)))).await() }
            r.datagrams.size shouldBe 3 + 5
        }
    }

    test("across a pause between two playbacks the timestamp advances by the time elapsed; sequence by one") {
        runTest {
            val r = PlayerRecorder(this)
            val player = r.player()
            player.attach(r.sink, 1, cipher(1))
            player.play(ScriptedSource(speech.take(5))).await()
            delay(1000)
            player.play(ScriptedSource(speech.take(5))).await()
            val packets = opened(r, cipher(1))
            val last = packets[9]
            val next = packets[10]
            next.sequence shouldBe ((last.sequence + 1) and 0xFFFF)
            (next.atMs - last.atMs) shouldBe 1000L // await returns with the last silence frame and speaking(0)
            next.timestamp shouldBe ((last.timestamp + (next.atMs - last.atMs) * 48) and 0xFFFF_FFFFL)
            r.speakingFlags shouldContainExactly listOf(1, 0, 1, 0)
        }
    }

    test("a late wakeup sends the due frames at once, at most 3 back to back, then catches up without dropping") {
        runTest {
            val r = PlayerRecorder(this)
            val player = r.player()
            player.attach(r.sink, 1, cipher(1))
            // After packet 10 (at 200 ms) the player loses 100 ms, as in a GC pause.
            r.onDatagram = { if (it == 10) r.stallMs = 100 }
            player.play(ScriptedSource(speech.take(40))).await()
            val packets = opened(r, cipher(1))
            packets.map { it.payload.toList() } shouldBe (speech.take(40) + List(5) { SILENCE }).map { it.toList() }
            shouldBeConsecutive(packets)
            player.framesDropped shouldBe 0
            val times = packets.map { it.atMs }
            println("send times after a 100 ms stall: ${times.subList(9, 20)}")
            // Frames 11..13 (due 220..260) go at 300; then two per 20 ms until back on the grid (due 20 k).
            times.subList(11, 14) shouldBe listOf(300L, 300L, 300L)
            times.groupingBy { it }.eachCount().values.max() shouldBe 3
            times.zipWithNext { a, b -> b - a }.drop(14).count { it == 0L } shouldBeLessThanOrEqual 2
            // From frame 16 on the grid again: frame k at 20 k + 0 ms (the stall moved the clock, not the grid).
            (16 until 45).forEach { times[it] shouldBe 20L * it }
        }
    }

    test("more than 200 ms behind: the missed slots' frames are dropped and counted, the timestamp moves over them") {
        runTest {
            val r = PlayerRecorder(this)
            val player = r.player()
            player.attach(r.sink, 1, cipher(1))
            r.onDatagram = { if (it == 10) r.stallMs = 300 }
            player.play(ScriptedSource(speech.take(40))).await()
            val packets = opened(r, cipher(1))
            // Frame 11 was due at 220, seen at 500: 280 ms = 14 slots behind; frames 11..24 are dropped.
            player.framesDropped shouldBe 14
            packets[11].payload.toList() shouldBe speech[25].toList()
            packets[11].atMs shouldBe 500L
            packets[11].sequence shouldBe ((packets[10].sequence + 1) and 0xFFFF)
            packets[11].timestamp shouldBe ((packets[10].timestamp + 15 * 960) and 0xFFFF_FFFFL)
            shouldBeConsecutive(packets.drop(11))
            packets.drop(11).map { it.atMs } shouldBe (25 until 45).map { 20L * it }
        }
    }

    test("a live source that is late leaves its slots empty: nothing dropped, timestamp moves over the pause") {
        runTest {
            val r = PlayerRecorder(this)
            val player = r.player()
            player.attach(r.sink, 1, cipher(1))
            player.play(ScriptedSource(speech.take(30), beforeFrame = slowAt(10, 500))).await()
            val packets = opened(r, cipher(1))
            player.framesDropped shouldBe 0
            packets.map { it.payload.toList() } shouldBe (speech.take(30) + List(5) { SILENCE }).map { it.toList() }
            // Frame 10 was asked for at 180 ms (after frame 9) and came at 680: sent at once, 24 slots later.
            packets[10].atMs shouldBe 680L
            packets[10].sequence shouldBe ((packets[9].sequence + 1) and 0xFFFF)
            packets[10].timestamp shouldBe ((packets[9].timestamp + 25 * 960) and 0xFFFF_FFFFL)
            shouldBeConsecutive(packets.drop(10))
            packets.drop(10).map { it.atMs } shouldBe (0 until 25).map { 680L + 20 * it }
        }
    }

    test("before the first attach frames are consumed on the clock and dropped; no speaking update is sent") {
        runTest {
            val r = PlayerRecorder(this)
            val player = r.player()
            val source = ScriptedSource(speech.take(10))
            player.play(source).await()
            source.served shouldBe 10
            player.framesDropped shouldBe 10
            player.framesSent shouldBe 0
            testScheduler.currentTime shouldBe 180L // frame 9 was due at 180
            r.seen shouldBe emptyList()
        }
    }

    test("a sink that refuses a datagram: counted as dropped, playback goes on") {
        runTest {
            val r = PlayerRecorder(this)
            val player = r.player()
            player.attach(r.sink, 1, cipher(1))
            r.onDatagram = { r.accept = it % 2 == 0 }
            player.play(ScriptedSource(speech.take(10))).await()
            r.datagrams.size shouldBe 15
            player.framesSent shouldBe 8
            player.framesDropped shouldBe 7
        }
    }

    test("speaking updates that throw are logged; playback goes on") {
        runTest {
            val r = PlayerRecorder(this)
            val player = AudioPlayer(backgroundScope, { throw IllegalStateException("gateway down") }, r.clock)
            player.attach(r.sink, 1, cipher(1))
            player.play(ScriptedSource(speech.take(10))).await()
            r.datagrams.size shouldBe 15
        }
    }

    test("close stops at once without a tail and refuses further plays; the caller's scope lives on") {
        runTest {
            val r = PlayerRecorder(this)
            val player = r.player(this)
            player.attach(r.sink, 1, cipher(1))
            val source = ScriptedSource(speech.take(100))
            val playback = player.play(source)
            delay(110)
            player.close()
            playback.await()
            source.closed shouldBe 1
            r.datagrams.size shouldBe 6
            r.speakingFlags shouldContainExactly listOf(1)
            val refused = ScriptedSource(speech)
            shouldThrow<IllegalStateException> { player.play(refused) }
            refused.closed shouldBe 1
            isActive shouldBe true
        }
    }

    test("stopPlaying with nothing playing does nothing; a stopped playback's stop does nothing") {
        runTest {
            val r = PlayerRecorder(this)
            val player = r.player()
            player.stopPlaying()
            player.attach(r.sink, 1, cipher(1))
            val p = player.play(ScriptedSource(speech.take(2)))
            p.await()
            p.stop()
            player.stopPlaying()
            r.datagrams.size shouldBe 7
            p shouldNotBe null
        }
    }
})
