package dev.earshot.voice.fuzz

import dev.earshot.voice.base.NanoClock
import dev.earshot.voice.dave.BASE_A
import dev.earshot.voice.dave.DaveCallbacks
import dev.earshot.voice.dave.DaveDecryptor
import dev.earshot.voice.dave.DaveReference
import dev.earshot.voice.dave.ManualClock
import dev.earshot.voice.dave.opusFrame
import dev.earshot.voice.dave.DaveEncryptor
import dev.earshot.voice.dave.DaveKeyRatchet
import dev.earshot.voice.dave.JvmDaveSession
import dev.earshot.voice.dave.joinedSession
import dev.earshot.voice.e2ee.FrameDecryptor
import dev.earshot.voice.identity.SsrcDirectory
import dev.earshot.voice.model.FrameKind
import dev.earshot.voice.testing.FakeSpeaker
import dev.earshot.voice.testing.ReceiverHarness
import dev.earshot.voice.testing.Speech
import io.kotest.assertions.withClue
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.ints.shouldBeLessThanOrEqual
import io.kotest.matchers.longs.shouldBeGreaterThan
import io.kotest.matchers.longs.shouldBeLessThan
import io.kotest.matchers.shouldBe
import kotlinx.coroutines.ExperimentalCoroutinesApi
import kotlinx.coroutines.delay
import kotlinx.coroutines.launch
import kotlinx.coroutines.test.TestScope
import kotlinx.coroutines.test.runTest
import kotlin.random.Random
import kotlin.time.Duration.Companion.hours

private const val CHANNEL = 4242L
private const val SELF = 1000L
private const val SPEAKER = 77L
private const val STRANGER = 78L
private const val HONEST_SSRC = 0x1234L
private const val FORGER_SSRC = 0x5678L
private const val STRANGER_SSRC = 0x9ABCL

/**
 * The end-to-end decryptor with per-SSRC outcome counts and a bound on what one call may allocate. A call in which
 * the session re-initialised (37 failures in a row: a new MLS key package, built on the receive path) is counted
 * apart, in [reinitCalls], as that is MLS work rather than the frame layer's.
 */
private class CountingDecryptor(private val session: JvmDaveSession) : FrameDecryptor {
    val ok = HashMap<Long, Long>()
    val dropped = HashMap<Long, Long>()
    val notReady = HashMap<Long, Long>()
    /** Frames answered NOT_READY that the pipeline gave up on (no key opened them within the hold time). */
    val gaveUp = HashMap<Long, Long>()
    var maxAllocation = 0L
    var overAllocations = 0
    var reinitCalls = 0
    override val requiresUser: Boolean get() = session.requiresUser
    override fun decrypt(userId: Long, ssrc: Long, frame: ByteArray, offset: Int, length: Int): Int {
        val reinits = session.stats().reinits
        val before = threadAllocatedBytes()
        val n = session.decrypt(userId, frame, offset, length)
        val allocated = threadAllocatedBytes() - before
        if (session.stats().reinits != reinits) {
            reinitCalls++
        } else {
            maxAllocation = maxOf(maxAllocation, allocated)
            // A frame is at most a datagram; the decryptor's scratch grows to fit one once, BouncyCastle's GCM state is small.
            if (allocated > 64 * 1024 + 4L * length) overAllocations++
        }
        val map = when {
            n >= 0 -> ok
            n == FrameDecryptor.NOT_READY -> notReady
            else -> dropped
        }
        map.merge(ssrc, 1, Long::plus)
        return n
    }

    override fun dropped(userId: Long, ssrc: Long) {
        gaveUp.merge(ssrc, 1, Long::plus)
        session.frameDropped(userId)
    }
}

/** A real [JvmDaveSession] that joined a DAVE group with member [SPEAKER], on the virtual clock; and the speaker's secret. */
private fun joinedSession(scope: TestScope): Pair<JvmDaveSession, ByteArray> {
    val quiet = object : DaveCallbacks {
        override fun sendKeyPackage(keyPackage: ByteArray) {}
        override fun sendReadyForTransition(transitionId: Int) {}
        override fun sendCommitWelcome(commitWelcome: ByteArray) {}
        override fun sendInvalidCommitWelcome(transitionId: Int) {}
    }
    val (session, speaker) = joinedSession(SELF, SPEAKER, CHANNEL, quiet, NanoClock { scope.testScheduler.currentTime * 1_000_000L })
    return session to speaker.exportSenderBaseSecret(SPEAKER)
}

/**
 * Fuzzes DAVE media frames inside the real receive pipeline (`VoiceReceiver`, virtual time) with DAVE on: a real
 * [JvmDaveSession] keyed for [SPEAKER] decrypts; an honest speaker sends its DAVE-encrypted speech on one SSRC while
 * transport-valid packets carrying mutated DAVE frames (trailer rebuilt with boundary values, bytes mutated, replays
 * of the speaker's frames) arrive on a second SSRC of the same user (same decryptor, same nonce window) and on an SSRC
 * of a user who is not in the group.
 *
 * Invariants: the receiver ends without an error; every forged frame is refused and counted (none decrypts except
 * the Opus silence frame, which DAVE passes by design); the honest speaker's every frame comes out, in order and
 * intact; no decrypt call allocates beyond a datagram's worth; the speakers stay within the configured limit.
 * `-Dearshot.fuzz.inputs=N` forged frames (CI: 100 000).
 */
@OptIn(ExperimentalCoroutinesApi::class)
class DavePipelineFuzzSpec : FunSpec({
    test("a DaveDecryptor old enough for every generation: forged frames among honest ones across a generation wrap").config(timeout = 2.hours) {
        // In the pipeline a ratchet is minutes old, so only generation 0 is ever allowed (170 frames/s of age); here
        // the ratchet is 30 years old (enough for 9 500 generations at 170 frames/s) and the honest sender moves one
        // generation every 40 frames, past 255, so the generation window, the wrap, key derivation ahead and cipher
        // expiry all see forged input.
        val seed = FuzzConfig.seed(17)
        val forged = FuzzConfig.inputs(100_000)
        val random = Random(seed)
        val inputs = DaveFrameInputs(random)
        val clock = ManualClock()
        val decryptor = DaveDecryptor(clock).apply { transitionToKeyRatchet(DaveKeyRatchet(BASE_A)) }
        clock.advanceSeconds(30.0 * 365 * 86_400)
        val keys = HashMap<Int, ByteArray>()
        var secret = BASE_A
        var secretGeneration = 0
        fun keyOf(g: Int): ByteArray = keys.getOrPut(g) {
            // Walk the reference chain forward once: generations come in order.
            while (secretGeneration < g) secret = DaveReference.expandWithLabel(secret, "secret", secretGeneration++, 32)
            DaveReference.expandWithLabel(secret, "key", g, 16)
        }
        val recent = ArrayDeque<ByteArray>()
        val out = ByteArray(2048)
        var honest = 0
        var sent = 0
        var forgedOk = 0
        var forgedSilence = 0
        var maxAllocation = 0L
        val start = System.nanoTime()
        while (sent < forged) {
            val g = honest / 40
            val plain = opusFrame(honest)
            val frame = DaveReference.sealOpus(keyOf(g), (g shl 24) or (honest and 0xFFFFFF), plain)
            val n = decryptor.decrypt(frame, 0, frame.size, out, 0)
            if (n != plain.size || !out.copyOf(n).contentEquals(plain)) throw AssertionError("honest frame $honest (generation $g) failed: $n, $decryptor")
            honest++
            clock.advanceSeconds(0.02)
            recent.addLast(frame)
            if (recent.size > 64) recent.removeFirst()
            repeat(random.nextInt(1, 10)) {
                val bad = inputs.mutate(recent[random.nextInt(recent.size)], recent)
                val before = threadAllocatedBytes()
                val r = decryptor.decrypt(bad, 0, bad.size, if (random.nextBoolean()) bad else ByteArray(bad.size), 0)
                maxAllocation = maxOf(maxAllocation, threadAllocatedBytes() - before)
                if (r >= 0) {
                    if (bad.size == 3 && bad[0] == 0xF8.toByte()) forgedSilence++ else forgedOk++
                }
                sent++
            }
        }
        FuzzConfig.report("dave-decryptor-aged", seed, sent, start, "honest=$honest generations=${honest / 40} maxAllocation=$maxAllocation ${decryptor.stats}")
        forgedOk shouldBe 0
        decryptor.stats.decrypted shouldBe honest.toLong()
        (decryptor.stats.failures + forgedSilence) shouldBe sent.toLong()
        // Deriving up to 250 generations ahead for a forged nonce is the most one frame may cost.
        maxAllocation shouldBeLessThan (2L shl 20)
    }

    test("forged and mutated DAVE frames among a real speaker's: all refused and counted, the speaker loses nothing").config(timeout = 2.hours) {
        val seed = FuzzConfig.seed(16)
        val forged = FuzzConfig.inputs(100_000)
        val start = System.nanoTime()
        runTest(timeout = 2.hours) {
            val (session, speakerSecret) = joinedSession(this)
            val counting = CountingDecryptor(session)
            val ssrcs = SsrcDirectory()
            ssrcs.map(HONEST_SSRC, SPEAKER)
            ssrcs.map(FORGER_SSRC, SPEAKER)
            ssrcs.map(STRANGER_SSRC, STRANGER)
            val h = ReceiverHarness(this, ssrcs = ssrcs, decryptor = counting) { decode = null; maxSsrcs = 8 }
            val random = Random(seed)
            val inputs = DaveFrameInputs(random)
            val encryptor = DaveEncryptor().apply { setKeyRatchet(DaveKeyRatchet(speakerSecret)) }
            val honest = FakeSpeaker(HONEST_SSRC, h.key)
            val forger = FakeSpeaker(FORGER_SSRC, h.key)
            val stranger = FakeSpeaker(STRANGER_SSRC, h.key)
            val honestSent = ArrayList<ByteArray>()
            val recent = ArrayDeque<ByteArray>()
            var forgedSent = 0
            var forgedSilence = 0
                    var maxSpeakers = 0
            launch {
                var k = 0
                while (forgedSent < forged) {
                    val plain = Speech.packets[k++ % Speech.packets.size]
                    val out = ByteArray(encryptor.maxEncryptedSize(plain.size))
                    val frame = out.copyOf(encryptor.encryptOpus(plain, 0, plain.size, out))
                    h.source.offer(honest.datagram(frame))
                    honestSent += plain
                    recent.addLast(frame)
                    if (recent.size > 32) recent.removeFirst()
                    // Mostly a handful per 20 ms; now and then a burst past the session's failure tolerance.
                    val burst = if (random.nextInt(50) == 0) random.nextInt(40, 120) else random.nextInt(1, 12)
                    repeat(minOf(burst, forged - forgedSent)) {
                        val base = recent[random.nextInt(recent.size)]
                        val bad = if (random.nextInt(40) == 0) base else inputs.mutate(base, recent)
                        if (bad.size == 3 && bad[0] == 0xF8.toByte() && bad[1] == 0xFF.toByte() && bad[2] == 0xFE.toByte()) forgedSilence++
                        if (random.nextInt(10) == 0) {
                            h.source.offer(stranger.datagram(bad))
                        } else {
                            h.source.offer(forger.datagram(bad))
                        }
                        forgedSent++
                        if (forgedSent % 100_000 == 0) FuzzConfig.report("dave-pipeline", seed, forgedSent, start, "", progress = true)
                    }
                    delay(20)
                    maxSpeakers = maxOf(maxSpeakers, h.receiver.speakerCount())
                }
                repeat(5) {
                    h.source.offer(honest.datagram(FakeSpeaker.SILENCE))
                    delay(20)
                }
                h.source.close()
            }
            val ticks = h.ticks.await()
            h.receiver.awaitClose() shouldBe null
            val s = h.receiver.stats()
            val received = ticks.flatMap { t -> t.speaking.filter { it.ssrc == HONEST_SSRC && it.kind == FrameKind.DECODED } }
                .mapNotNull { it.opus }.filterNot { it.size == 3 && it[0] == 0xF8.toByte() }
            val forgerOk = counting.ok[FORGER_SSRC] ?: 0
            val strangerOk = counting.ok[STRANGER_SSRC] ?: 0
            FuzzConfig.report(
                "dave-pipeline", seed, forgedSent, start,
                "honest=${honestSent.size} receivedHonest=${received.size} forgerOk=$forgerOk forgerDropped=${counting.dropped[FORGER_SSRC]} " +
                    "strangerNotReady=${counting.notReady[STRANGER_SSRC]} gaveUp=${counting.gaveUp} silence=$forgedSilence e2eeFailures=${s.e2eeFailures} " +
                    "maxDecryptAllocation=${counting.maxAllocation} reinitCalls=${counting.reinitCalls} dave=${session.stats()}",
            )
            // The honest speaker's frames all arrive, intact and in order.
            withClue("honest frames") { received.size shouldBe honestSent.size }
            for (i in received.indices) if (!received[i].contentEquals(honestSent[i])) throw AssertionError("honest frame $i differs")
            (counting.ok[HONEST_SSRC] ?: 0) shouldBe honestSent.size + 5L
            // Forged frames: only silence frames pass; every other one is refused and counted by the pipeline.
            (forgerOk + strangerOk) shouldBe forgedSilence.toLong()
            s.droppedDatagrams shouldBe 0
            s.e2eeFailures shouldBe listOf(counting.dropped, counting.gaveUp).sumOf { (it[FORGER_SSRC] ?: 0) + (it[STRANGER_SSRC] ?: 0) }
            // Each forged packet ends exactly once: refused by DAVE at once (malformed), given up after waiting for a
            // key that might open it (none does: forged, or the stranger is not in the group), refused as malformed
            // audio (empty payloads), or passed as silence.
            (s.e2eeFailures + s.droppedUnknownSsrc + s.malformedAudio + forgedSilence) shouldBe forgedSent.toLong()
            (counting.gaveUp[STRANGER_SSRC] ?: 0) shouldBeGreaterThan 0L
            counting.overAllocations shouldBe 0
            maxSpeakers shouldBeLessThanOrEqual 8
        }
    }
})
