package dev.earshot.voice.pipeline

import dev.earshot.voice.jitter.PlayoutDelay
import dev.earshot.voice.testing.readOggResource
import dev.earshot.voice.codec.OpusPacketInfo
import dev.earshot.voice.codec.ConcentusDecoderFactory
import dev.earshot.voice.codec.OpusDecoderFactory
import dev.earshot.voice.codec.OpusFrameDecoder
import dev.earshot.voice.codec.PcmFormat
import io.kotest.matchers.ints.shouldBeGreaterThan
import dev.earshot.voice.crypto.EncryptionMode
import dev.earshot.voice.crypto.TransportCipher
import dev.earshot.voice.e2ee.FrameDecryptor
import dev.earshot.voice.identity.SsrcDirectory
import dev.earshot.voice.model.FrameKind
import dev.earshot.voice.model.RtcpPacket
import dev.earshot.voice.testing.FakeSpeaker
import dev.earshot.voice.files.OggOpusReader
import dev.earshot.voice.testing.ReceiverHarness
import dev.earshot.voice.testing.Speech
import dev.earshot.voice.testing.play
import io.kotest.core.spec.style.FunSpec
import io.kotest.datatest.withData
import io.kotest.matchers.collections.shouldContainExactly
import io.kotest.matchers.longs.shouldBeGreaterThan
import io.kotest.matchers.shouldBe
import io.kotest.matchers.types.shouldBeInstanceOf
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.async
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.flow.map
import kotlinx.coroutines.flow.take
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.launch
import kotlinx.coroutines.test.runTest
import kotlin.random.Random
import kotlin.time.Duration.Companion.milliseconds

private const val SSRC = 0xCAFE_F00DL

class ReceivePipelineSpec : FunSpec({

    context("in-order packets come out one decoded frame per tick, bit-exact, after the playout delay") {
        withData(EncryptionMode.entries) { mode ->
            runTest {
                val h = ReceiverHarness(this, mode = mode)
                val speaker = FakeSpeaker(SSRC, h.key, mode, sequence = 65500, timestamp = 0xFFFF_0000L)
                val packets = Speech.packets.take(150)
                launch { h.play(speaker, packets) }
                val frames = h.ticks.await().mapNotNull { it.frameOfSsrc(SSRC) }
                frames.size shouldBe packets.size
                frames.first().tick shouldBe 3L
                frames.map { it.tick } shouldContainExactly (3L until 3L + packets.size).toList()
                frames.map { it.sequence } shouldContainExactly packets.indices.map { (65500 + it) and 0xFFFF }
                frames.map { it.kind }.toSet() shouldBe setOf(FrameKind.DECODED)
                frames.all { it.audioLevel == (0x80 or 30) && it.speakerFlags == 2 } shouldBe true
                val expected = Speech.decodeAll(packets)
                frames.forEachIndexed { i, f -> f.pcm!!.contentEquals(expected[i]) shouldBe true }
                frames.forEachIndexed { i, f -> f.opus!!.contentEquals(packets[i]) shouldBe true }
                val s = h.receiver.stats()
                s.decrypted shouldBe packets.size + 5L
                s.decoded shouldBe packets.size.toLong()
                s.silenceFrames shouldBe 5
                s.lost shouldBe 0
                s.authFailures shouldBe 0
            }
        }
    }

    context("40 and 60 ms packets are split across ticks, bit-exact") {
        withData(listOf("/audio/speech-stereo-40ms.opus", "/audio/speech-stereo-60ms.opus")) { file ->
            runTest {
                val packets = readOggResource(file).packets
                val h = ReceiverHarness(this)
                val speaker = FakeSpeaker(SSRC, h.key)
                launch {
                    for (p in packets) {
                        val samples = OpusPacketInfo.samplesPerChannel48k(p, 0, p.size)
                        h.source.offer(speaker.datagram(p, samples = samples))
                        delay(samples / 48L)
                    }
                    repeat(5) { h.source.offer(speaker.datagram(FakeSpeaker.SILENCE)); delay(20) }
                    h.source.close()
                }
                val frames = h.ticks.await().mapNotNull { it.frameOfSsrc(SSRC) }
                val pcm = Speech.decodeAll(packets).reduce { a, b -> a + b }
                frames.size shouldBe pcm.size / 1920
                frames.map { it.tick } shouldContainExactly (3L until 3L + frames.size).toList()
                frames.forEachIndexed { i, f -> f.pcm!!.contentEquals(pcm.copyOfRange(i * 1920, (i + 1) * 1920)) shouldBe true }
                frames.count { it.opus != null } shouldBe packets.size
            }
        }
    }

    test("a new talk spurt starts a fresh decoder and is placed by its RTP timestamp, not its arrival") {
        runTest {
            // A fixed delay: the adaptive one may take a tick off at the spurt boundary (PlacementSpec covers that).
            val h = ReceiverHarness(this) { playout = PlayoutDelay.Fixed(60.milliseconds) }
            val speaker = FakeSpeaker(SSRC, h.key)
            val first = Speech.packets.subList(0, 50)
            val second = Speech.packets.subList(100, 150)
            launch {
                for (p in first) { h.source.offer(speaker.datagram(p)); delay(20) }
                repeat(5) { h.source.offer(speaker.datagram(FakeSpeaker.SILENCE)); delay(20) }
                // 1.5 s of silence on the sender's clock; the first packet after it arrives 40 ms late.
                speaker.pause(75 * 960)
                delay(75 * 20L + 40)
                h.play(speaker, second)
            }
            val frames = h.ticks.await().mapNotNull { it.frameOfSsrc(SSRC) }
            frames.size shouldBe 100
            frames[50].tick - frames[0].tick shouldBe 50L + 5 + 75
            val expected = Speech.decodeAll(first) + Speech.decodeAll(second)
            frames.forEachIndexed { i, f -> f.pcm!!.contentEquals(expected[i]) shouldBe true }
        }
    }

    test("many speakers are decoded on several threads with exactly the output of one thread, losses included") {
        val threads = java.util.concurrent.ConcurrentHashMap.newKeySet<String>()
        val recording = OpusDecoderFactory { format ->
            val d = ConcentusDecoderFactory.create(format)
            object : OpusFrameDecoder by d {
                override fun decode(packet: ByteArray, offset: Int, length: Int, out: ShortArray): Int {
                    threads += Thread.currentThread().name
                    return d.decode(packet, offset, length, out)
                }
            }
        }
        fun run(decodeThreads: Int): List<Pair<Triple<Long, Long, FrameKind>, List<Short>>> {
          var result: List<Pair<Triple<Long, Long, FrameKind>, List<Short>>> = emptyList()
          runTest {
            val h = ReceiverHarness(this) {
                this.decodeThreads = decodeThreads
                decoderFactory = recording
            }
            val rnd = Random(7)
            val speakers = List(PARALLEL_FROM_SPEAKERS + 4) { FakeSpeaker(100L + it, h.key, sequence = rnd.nextInt(65536)) }
            launch {
                for (k in 0 until 60) {
                    speakers.forEachIndexed { s, sp ->
                        val d = sp.datagram(Speech.packets[(k + 17 * s) % Speech.packets.size])
                        if (rnd.nextDouble() >= 0.05) h.source.offer(d) // the same 5 % lost in both runs
                    }
                    delay(20)
                }
                h.source.close()
            }
            result = h.ticks.await().flatMap { t -> t.speaking.map { Triple(t.tick, it.ssrc, it.kind) to it.pcm!!.toList() } }
          }
          return result
        }
        val serial = run(1)
        threads.clear()
        val parallel = run(4)
        parallel.size shouldBe serial.size
        parallel shouldBe serial
        serial.map { it.first.third }.toSet().size shouldBeGreaterThan 1 // concealed or FEC frames, not only decoded
        if (DecodePool.size > 0) threads.any { it.startsWith("earshot-decode-") } shouldBe true
    }

    test("16 kHz mono is decoded directly: 320 samples per tick, identical to a 16 kHz decoder") {
        runTest {
            val h = ReceiverHarness(this) { decode = PcmFormat.MONO_16K }
            val speaker = FakeSpeaker(SSRC, h.key)
            val packets = Speech.packets.take(60)
            launch { h.play(speaker, packets) }
            val frames = h.ticks.await().mapNotNull { it.frameOfSsrc(SSRC) }
            val expected = Speech.decodeAll(packets, PcmFormat.MONO_16K)
            frames.size shouldBe 60
            frames.forEachIndexed { i, f ->
                val pcm = f.pcm!!
                pcm.size shouldBe 320
                pcm.contentEquals(expected[i]) shouldBe true
            }
        }
    }

    test("without decoding, Opus packets pass through untouched and lost ones are marked missing") {
        runTest {
            val h = ReceiverHarness(this) { decode = null }
            val speaker = FakeSpeaker(SSRC, h.key)
            val packets = Speech.packets.take(40)
            launch { h.play(speaker, packets, drop = setOf(20)) }
            val frames = h.ticks.await().mapNotNull { it.frameOfSsrc(SSRC) }
            frames.size shouldBe 40
            frames[20].kind shouldBe FrameKind.MISSING
            frames[20].pcm shouldBe null
            frames.filter { it.kind == FrameKind.DECODED }.map { it.opus!!.toList() } shouldBe
                packets.filterIndexed { i, _ -> i != 20 }.map { it.toList() }
            h.receiver.stats().lost shouldBe 1
            h.receiver.stats().late shouldBe 0
        }
    }

    test("packets held up past their slot by a stall are concealed there, then counted late, and playout goes on") {
        runTest {
            val h = ReceiverHarness(this)
            val speaker = FakeSpeaker(SSRC, h.key)
            val packets = Speech.packets.take(40)
            launch {
                // Packets 20-24 are stuck for 100 ms (a stall upstream) and then arrive together with packet 25.
                val stuck = ArrayList<ByteArray>()
                packets.forEachIndexed { i, p ->
                    val d = speaker.datagram(p)
                    if (i in 20..24) stuck += d else {
                        if (i == 25) stuck.forEach { h.source.offer(it) }
                        h.source.offer(d)
                    }
                    delay(20)
                }
                repeat(5) { h.source.offer(speaker.datagram(FakeSpeaker.SILENCE)); delay(20) }
                h.source.close()
            }
            val frames = h.ticks.await().mapNotNull { it.frameOfSsrc(SSRC) }
            // Slots 20 and 21 play while their packets are stuck (delay 60 ms): concealed, the rest decoded.
            frames.size shouldBe 40
            frames.filter { it.kind == FrameKind.CONCEALED }.map { it.sequence } shouldContainExactly listOf(20, 21)
            frames.filter { it.kind == FrameKind.DECODED }.map { it.opus!!.toList() } shouldBe
                packets.filterIndexed { i, _ -> i != 20 && i != 21 }.map { it.toList() }
            val s = h.receiver.stats()
            s.late shouldBe 2
            s.concealed shouldBe 2
            s.lost shouldBe 0
        }
    }

    test("a new transport key mid-stream loses nothing: packets in flight under the old key still decrypt") {
        runTest {
            val h = ReceiverHarness(this)
            val newKey = FakeSpeaker.key(99)
            val old = FakeSpeaker(SSRC, h.key)
            val packets = Speech.packets.take(100)
            launch {
                val renewed = FakeSpeaker(SSRC, newKey, sequence = 50, timestamp = 50L * 960)
                packets.take(50).forEachIndexed { i, p ->
                    h.source.offer(old.datagram(p))
                    // The key is swapped while two old-key packets are still on their way.
                    if (i == 47) h.receiver.setTransportKey(EncryptionMode.AEAD_AES256_GCM_RTPSIZE, newKey)
                    delay(20)
                }
                h.play(renewed, packets.drop(50))
            }
            val frames = h.ticks.await().mapNotNull { it.frameOfSsrc(SSRC) }
            frames.size shouldBe 100
            h.receiver.stats().authFailures shouldBe 0
            frames.map { it.kind }.toSet() shouldBe setOf(FrameKind.DECODED)
        }
    }

    test("packets of an SSRC without a user wait in the hold queue and go on with the user once op 5 maps it") {
        runTest {
            val ssrcs = SsrcDirectory()
            // Stands in for DAVE: needs the user, and XORs the frame with the user's low byte.
            val xor = object : FrameDecryptor {
                override val requiresUser = true
                override fun decrypt(userId: Long, ssrc: Long, frame: ByteArray, offset: Int, length: Int): Int {
                    // Like DAVE, silence frames travel unencrypted.
                    if (length == 3 && frame[offset] == 0xF8.toByte()) return length
                    if (userId < 0) return FrameDecryptor.NOT_READY
                    for (i in offset until offset + length) frame[i] = (frame[i].toInt() xor userId.toInt()).toByte()
                    return length
                }
            }
            val h = ReceiverHarness(this, ssrcs = ssrcs, decryptor = xor) { decode = null }
            val user = 0x5AL
            val speaker = FakeSpeaker(SSRC, h.key)
            val stranger = FakeSpeaker(SSRC + 1, h.key)
            val packets = Speech.packets.take(50)
            launch {
                packets.forEachIndexed { i, p ->
                    val scrambled = ByteArray(p.size) { (p[it].toInt() xor user.toInt()).toByte() }
                    h.source.offer(speaker.datagram(scrambled))
                    h.source.offer(stranger.datagram(p))
                    if (i == 10) ssrcs.map(SSRC, user)
                    delay(20)
                }
                repeat(5) { h.source.offer(speaker.datagram(FakeSpeaker.SILENCE)); delay(20) }
                h.source.close()
            }
            val ticks = h.ticks.await()
            val frames = ticks.mapNotNull { it.frameOfSsrc(SSRC) }
            frames.size shouldBe 50
            frames.all { it.userId == user } shouldBe true
            frames.map { it.opus!!.toList() } shouldBe packets.map { it.toList() }
            // The stranger never gets a user, so with a user-keyed decryptor its frames are dropped after the hold.
            ticks.none { it.frameOfSsrc(SSRC + 1) != null } shouldBe true
            val s = h.receiver.stats()
            s.droppedUnknownSsrc shouldBe 50
            s.heldUnknownSsrc shouldBeGreaterThan 50
        }
    }

    test("without a user-keyed decryptor nothing waits: audio flows at once and carries the user once op 5 maps it") {
        runTest {
            val ssrcs = SsrcDirectory()
            val h = ReceiverHarness(this, ssrcs = ssrcs) { decode = null }
            val speaker = FakeSpeaker(SSRC, h.key)
            val packets = Speech.packets.take(50)
            launch { h.play(speaker, packets, before = { if (it == 20) ssrcs.map(SSRC, 42L) }) }
            val frames = h.ticks.await().mapNotNull { it.frameOfSsrc(SSRC) }
            frames.first().tick shouldBe 3L
            frames.map { it.opus!!.toList() } shouldBe packets.map { it.toList() }
            // A frame carries the user known when it plays: frames played after the mapping (3 ticks of delay) have it.
            frames.map { it.userId } shouldBe List(17) { null } + List(33) { 42L }
            h.receiver.stats().heldUnknownSsrc shouldBe 0
        }
    }

    test("garbage, tampered and foreign datagrams are counted and dropped while audio plays on") {
        runTest {
            val h = ReceiverHarness(this)
            val speaker = FakeSpeaker(SSRC, h.key)
            val intruder = FakeSpeaker(SSRC + 7, FakeSpeaker.key(66))
            val rnd = Random(3)
            val packets = Speech.packets.take(80)
            launch {
                for (p in packets) {
                    val good = speaker.datagram(p)
                    h.source.offer(good)
                    h.source.offer(good.copyOf().also { it[it.size - 8] = (it[it.size - 8] + 1).toByte() })
                    h.source.offer(intruder.datagram(p))
                    h.source.offer(ByteArray(rnd.nextInt(0, 200)).also(rnd::nextBytes))
                    h.source.offer(byteArrayOf(0, 2, 0, 70) + ByteArray(70))
                    delay(20)
                }
                repeat(5) { h.source.offer(speaker.datagram(FakeSpeaker.SILENCE)); delay(20) }
                h.source.close()
            }
            val frames = h.ticks.await().mapNotNull { it.frameOfSsrc(SSRC) }
            frames.size shouldBe 80
            frames.map { it.kind }.toSet() shouldBe setOf(FrameKind.DECODED)
            val s = h.receiver.stats()
            // 80 tampered + 80 under a foreign key, plus any random datagram that happened to look like RTP audio.
            s.authFailures shouldBe s.rtpAudio - s.decrypted
            (s.authFailures >= 160) shouldBe true
            s.discovery shouldBe 80
            s.datagrams shouldBe 405
            (s.rtpAudio + s.rtcp + s.discovery + s.keepalive + s.otherPayload + s.malformed + s.droppedDatagrams) shouldBe s.datagrams
            (s.decrypted + s.authFailures + s.noKey + s.malformedAudio) shouldBe s.rtpAudio
            s.decrypted shouldBe 85
        }
    }

    test("the reader never waits for a slow pipeline: overflow drops the oldest datagrams and counts them") {
        runTest {
            val h = ReceiverHarness(this) { stageQueueCapacity = 8; decode = null }
            val speaker = FakeSpeaker(SSRC, h.key)
            // A thousand datagrams already waiting: the reader drains them without yielding to the stages.
            repeat(1000) { h.source.offer(speaker.datagram(Speech.packets[it % 100])) }
            h.source.close()
            h.ticks.await()
            val s = h.receiver.stats()
            s.datagrams shouldBe 1000
            s.droppedDatagrams shouldBe 992
            s.rtpAudio shouldBe 8
        }
    }

    test("a slow tick collector loses its own oldest ticks, counted; a fast one beside it gets every tick") {
        runTest {
            val h = ReceiverHarness(this) { tickQueueCapacity = 4; decode = null }
            val everything = async(start = CoroutineStart.UNDISPATCHED) { h.receiver.outputsFlow.toList() }
            var slowSeen = 0
            val slowJob = launch(start = CoroutineStart.UNDISPATCHED) {
                h.receiver.outputsFlow.collect { slowSeen++; delay(200) }
            }
            val speaker = FakeSpeaker(SSRC, h.key)
            launch { h.play(speaker, Speech.packets.take(100)) }
            val fast = h.ticks.await()
            slowJob.join()
            fast.map { it.tick } shouldContainExactly fast.indices.map { it.toLong() }
            // Everything published: the ticks plus the events (stats each second, speaking start and stop).
            val published = everything.await().size
            (slowSeen < published) shouldBe true
            h.receiver.stats().droppedTicks shouldBe (published - slowSeen).toLong()
        }
    }

    test("a burst of speaking events (30 speakers starting in one tick) takes no place in a tick collector's queue") {
        runTest {
            val h = ReceiverHarness(this) { tickQueueCapacity = 8; decode = null }
            // Behind by two ticks when the burst comes: before, 30 starts pushed its queued ticks out.
            val slow = async(start = CoroutineStart.UNDISPATCHED) {
                var first = true
                h.receiver.ticks.map { t -> if (first) { first = false; delay(50) }; t.tick }.toList()
            }
            launch { repeat(3) { h.source.offer(FakeSpeaker(SSRC + 100, h.key).datagram(FakeSpeaker.SILENCE)); delay(20) } }
            delay(30)
            val speakers = List(30) { FakeSpeaker(SSRC + it, h.key) }
            speakers.forEach { sp -> launch { h.play(sp, Speech.packets.take(10)) } }
            val fast = h.ticks.await()
            val started = fast.first { it.speaking.size == 30 }.tick
            slow.await() shouldContainExactly fast.map { it.tick }
            (started > 1) shouldBe true
            h.receiver.stats().droppedTicks shouldBe 0L
        }
    }

    test("RTCP receiver reports are decrypted, parsed and published") {
        runTest {
            val h = ReceiverHarness(this)
            val rtcp = async(start = CoroutineStart.UNDISPATCHED) { h.receiver.rtcp.first() }
            // RR from SSRC 0x01020304 with one report block, encrypted with 8 clear bytes.
            val header = byteArrayOf(0x81.toByte(), 201.toByte(), 0, 7, 1, 2, 3, 4)
            val block = ByteArray(24) { (it + 1).toByte() }
            val out = ByteArray(100)
            val n = TransportCipher.create(EncryptionMode.AEAD_AES256_GCM_RTPSIZE, h.key)
                .encrypt(header, 0, 8, block, 0, block.size, 5, out, 0)
            h.source.offer(out.copyOf(n))
            h.source.close()
            val packet = rtcp.await()
            packet.shouldBeInstanceOf<RtcpPacket.ReceiverReport>()
            packet.ssrc shouldBe 0x01020304L
            packet.reports.size shouldBe 1
        }
    }

    test("RTCP that fails authentication and RTCP that does not parse are counted apart") {
        runTest {
            val h = ReceiverHarness(this)
            val cipher = TransportCipher.create(EncryptionMode.AEAD_AES256_GCM_RTPSIZE, h.key)
            // An RR header whose length field (7 words) promises 32 bytes, with only 8 behind it: it authenticates,
            // then fails to parse.
            val header = byteArrayOf(0x81.toByte(), 201.toByte(), 0, 7, 1, 2, 3, 4)
            val body = ByteArray(8)
            val out = ByteArray(100)
            val n = cipher.encrypt(header, 0, 8, body, 0, body.size, 6, out, 0)
            h.source.offer(out.copyOf(n))
            // The same datagram with a ciphertext byte flipped fails authentication.
            h.source.offer(out.copyOf(n).also { it[9] = (it[9].toInt() xor 1).toByte() })
            h.source.close()
            h.ticks.await()
            val s = h.receiver.stats()
            s.rtcp shouldBe 2L
            s.rtcpMalformed shouldBe 1L
            s.rtcpAuthFailures shouldBe 1L
        }
    }

    test("a flow collector that cancels frees its queue") {
        runTest {
            val h = ReceiverHarness(this) { decode = null }
            val firstFive = async(start = CoroutineStart.UNDISPATCHED) { h.receiver.ticks.take(5).toList() }
            launch {
                delay(1000)
                h.source.close()
            }
            firstFive.await().map { it.tick } shouldContainExactly listOf(0L, 1, 2, 3, 4)
            h.ticks.await()
            h.receiver.stats().droppedTicks shouldBe 0
        }
    }
})
