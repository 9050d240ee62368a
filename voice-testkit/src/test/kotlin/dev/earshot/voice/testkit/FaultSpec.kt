package dev.earshot.voice.testkit

import dev.earshot.voice.crypto.EncryptionMode
import dev.earshot.voice.crypto.TransportCipher
import dev.earshot.voice.send.RtpPacketizer
import dev.earshot.voice.testkit.internal.Emission
import dev.earshot.voice.testkit.internal.FaultInjector
import dev.earshot.voice.testkit.internal.FaultOutcome
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.collections.shouldContainExactly
import io.kotest.matchers.doubles.shouldBeBetween
import io.kotest.matchers.ints.shouldBeInRange
import io.kotest.matchers.longs.shouldBeInRange
import io.kotest.matchers.shouldBe
import kotlinx.coroutines.delay

/** Packet i: 12 header bytes of i, then 20 bytes of i+1, so a flipped byte and the packet's origin are both visible. */
private fun packet(i: Int) = ByteArray(32) { if (it < 12) i.toByte() else (i + 1).toByte() }.also {
    it[0] = (i shr 24).toByte(); it[1] = (i shr 16).toByte(); it[2] = (i shr 8).toByte(); it[3] = i.toByte()
}

private fun idOf(bytes: ByteArray) =
    ((bytes[0].toInt() and 0xFF) shl 24) or ((bytes[1].toInt() and 0xFF) shl 16) or ((bytes[2].toInt() and 0xFF) shl 8) or (bytes[3].toInt() and 0xFF)

/** Feeds [n] packets through an injector and returns, per input packet, what came out (flattened, in order). */
private class Run(config: FaultConfig, n: Int = 10_000, before: (FaultInjector) -> Unit = {}) {
    val emitted = ArrayList<Emission>()
    val outcomes = ArrayList<FaultOutcome>()
    init {
        val injector = FaultInjector(config).also(before)
        for (i in 0 until n) {
            val o = FaultOutcome()
            injector.process(packet(i), 12, i * 20_000_000L, emitted, o)
            outcomes += o
        }
        injector.releaseExpired(Long.MAX_VALUE, 0, emitted)
    }
    val droppedIds get() = outcomes.indices.filter { outcomes[it].dropped }
}

class FaultSpec : FunSpec({
    test("no faults: every packet once, in order, at once") {
        val run = Run(FaultConfig.NONE, 1000)
        run.emitted.map { idOf(it.bytes) } shouldContainExactly (0 until 1000).toList()
        run.emitted.all { it.delayMillis == 0 } shouldBe true
    }

    test("random loss drops about its percentage") {
        Run(FaultConfig(lossPercent = 10.0, seed = 7)).droppedIds.size shouldBeInRange 850..1150
    }

    test("burst loss drops runs of exactly burstLength packets; dropNext drops the next n") {
        val run = Run(FaultConfig(burstPercent = 2.0, burstLength = 5, seed = 7))
        val runs = ArrayList<Int>()
        var len = 0
        for (o in run.outcomes) if (o.dropped) len++ else if (len > 0) { runs += len; len = 0 }
        runs.all { it % 5 == 0 } shouldBe true
        runs.sumOf { it / 5 } shouldBeInRange 120..260
        Run(FaultConfig.NONE, 10) { it.dropNext(3) }.droppedIds shouldContainExactly listOf(0, 1, 2)
    }

    test("duplication sends about its percentage twice, byte-identical") {
        val run = Run(FaultConfig(duplicatePercent = 10.0, seed = 7))
        val dups = run.emitted.size - 10_000
        dups shouldBeInRange 850..1150
        run.outcomes.count { it.duplicated } shouldBe dups
        run.emitted.groupBy { idOf(it.bytes) }.values.filter { it.size == 2 }.all { it[0].bytes contentEquals it[1].bytes } shouldBe true
    }

    test("reordering lets exactly reorderDepth later packets overtake; nothing is lost") {
        val run = Run(FaultConfig(reorderPercent = 10.0, reorderDepth = 3, seed = 7))
        val order = run.emitted.map { idOf(it.bytes) }
        order.sorted() shouldContainExactly (0 until 10_000).toList()
        val late = run.outcomes.indices.filter { run.outcomes[it].reordered }
        late.size shouldBeInRange 850..1150
        // A held packet comes out right after the packet that arrives reorderDepth packets later (checked where that
        // packet was not held back itself).
        val lateSet = late.toSet()
        val checked = late.filter { it < 9_990 && (it + 3) !in lateSet }
        checked.size shouldBeInRange 700..1100
        for (id in checked) order.indexOf(id) shouldBe order.indexOf(id + 3) + 1
    }

    test("jitter delays each packet by a uniform 0..jitterMillis") {
        val delays = Run(FaultConfig(jitterMillis = 30, seed = 7)).emitted.map { it.delayMillis }
        delays.min() shouldBe 0
        delays.max() shouldBe 30
        delays.average().shouldBeBetween(14.0, 16.0, 0.0)
    }

    test("corruption flips one byte after the cleartext header, so authentication fails") {
        val run = Run(FaultConfig(corruptPercent = 10.0, seed = 7))
        val corrupted = run.outcomes.indices.filter { run.outcomes[it].corrupted }
        corrupted.size shouldBeInRange 850..1150
        for (id in corrupted) {
            val sent = run.emitted.first { idOf(it.bytes) == id }.bytes
            val diff = sent.indices.filter { sent[it] != packet(id)[it] }
            diff.size shouldBe 1
            (diff.single() >= 12) shouldBe true
        }
        val key = ByteArray(32) { 1 }
        val cipher = TransportCipher.create(EncryptionMode.AEAD_AES256_GCM_RTPSIZE, key)
        val out = ByteArray(2048)
        val n = RtpPacketizer(5, cipher).packetize(byteArrayOf(0x78, 1, 2, 3), out = out)
        val real = out.copyOf(n)
        val emitted = ArrayList<Emission>()
        FaultInjector(FaultConfig(corruptPercent = 100.0)).process(real, 12, 0, emitted, FaultOutcome())
        val bad = emitted.single().bytes
        cipher.decrypt(bad, 0, bad.size, 12) shouldBe -1
        cipher.decrypt(real.copyOf(), 0, real.size, 12) shouldBe 4
    }

    test("a seed repeats a run exactly; another seed does not") {
        val config = FaultConfig(lossPercent = 5.0, duplicatePercent = 5.0, reorderPercent = 5.0, jitterMillis = 10, corruptPercent = 5.0, seed = 42)
        fun trace(c: FaultConfig) = Run(c, 2000).emitted.map { idOf(it.bytes) to it.delayMillis }
        // Plain equality: kotest's diffing of two 2000-element lists costs a second and a half.
        (trace(config) == trace(config)) shouldBe true
        (trace(config) == trace(config.copy(seed = 43))) shouldBe false
    }

    test("end to end: faults set on a session apply to what it receives, and the counters agree with what arrived") {
        VoiceTestServer.start().use { server ->
            RawVoiceClient.connect(server).use { a ->
                RawVoiceClient.connect(server).use { b ->
                    val ha = a.handshake(server.grant("1", "2", "a"))
                    val hb = b.handshake(server.grant("1", "2", "b"))
                    val sessionB = server.session("1", "b")!!
                    sessionB.faults = FaultConfig(lossPercent = 20.0, duplicatePercent = 10.0, corruptPercent = 10.0, seed = 3)
                    val toServer = RtpPacketizer(ha.ssrc, TransportCipher.create(ha.mode, ha.key))
                    val out = ByteArray(2048)
                    repeat(200) { i ->
                        val n = toServer.packetize(byteArrayOf(0x78, i.toByte(), 1, 2), out = out)
                        a.sendUdp(out.copyOf(n), ha.udpPort)
                        if (i % 20 == 19) delay(2) // stay well inside the socket buffers
                    }
                    val failures = IntArray(1)
                    val got = b.receiveRtp(TransportCipher.create(hb.mode, hb.key), 400, timeoutMs = 700, failures = failures)
                    val stats = sessionB.stats
                    stats.droppedByFaults.toInt() shouldBeInRange 20..60
                    stats.packetsOut shouldBe 200 - stats.droppedByFaults + stats.duplicated
                    // Every datagram sent arrived (loopback) and either decrypted or failed: a corrupted packet that was
                    // also duplicated fails twice, so failures lie between the corrupted count and twice it.
                    got.size + failures[0] shouldBe stats.packetsOut.toInt()
                    failures[0].toLong() shouldBeInRange stats.corrupted..(2 * stats.corrupted)
                    (stats.corrupted > 0) shouldBe true
                    server.stats.droppedByFaults shouldBe stats.droppedByFaults
                    // Back to no faults: everything arrives.
                    sessionB.faults = FaultConfig.NONE
                    repeat(20) { i ->
                        val n = toServer.packetize(byteArrayOf(0x78, i.toByte()), out = out)
                        a.sendUdp(out.copyOf(n), ha.udpPort)
                    }
                    b.receiveRtp(TransportCipher.create(hb.mode, hb.key), 20).size shouldBe 20
                }
            }
        }
    }
})
