package dev.earshot.voice.dave

import dev.earshot.voice.base.NanoClock
import io.kotest.assertions.withClue
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.nulls.shouldBeNull
import io.kotest.matchers.shouldBe
import io.kotest.matchers.shouldNotBe
import kotlin.time.Duration.Companion.seconds

class DaveDecryptorSpec : FunSpec({
    fun DaveDecryptor.code(frame: ByteArray): Int = decrypt(frame, 0, frame.size, ByteArray(frame.size), 0)

    fun DaveDecryptor.open(frame: ByteArray): ByteArray? {
        val out = ByteArray(frame.size)
        val n = decrypt(frame, 0, frame.size, out, 0)
        return if (n < 0) null else out.copyOf(n)
    }

    fun decryptor(clock: ManualClock = ManualClock(), vararg bases: ByteArray) =
        DaveDecryptor(clock).apply { for (b in bases) transitionToKeyRatchet(DaveKeyRatchet(b)) }

    /** A frame of generation [g] sealed by the independent reference; [low] is the nonce's low 24 bits. */
    fun refFrame(base: ByteArray, g: Int, low: Int, plain: ByteArray = opusFrame(low)): ByteArray =
        DaveReference.sealOpus(DaveReference.ratchetKey(base, g), (g shl 24) or low, plain)

    /** A decryptor whose ratchet is old enough (400 days) for any generation up to 255 at 170 frames/s. */
    fun agedDecryptor(clock: ManualClock, base: ByteArray): DaveDecryptor {
        val d = decryptor(clock, base)
        clock.advanceSeconds(400.0 * 86_400)
        return d
    }

    test("frames sealed by the independent reference decrypt (known answers without our encryptor)") {
        val d = decryptor(bases = arrayOf(BASE_A))
        for (n in 1..20) d.open(refFrame(BASE_A, 0, n)) shouldBe opusFrame(n)
        d.stats.decrypted shouldBe 20
    }

    test("round trip with the encryptor: 1000 frames, in place, and into another array at an offset") {
        val frames = encryptFrames(BASE_A, 1000)
        val inPlace = decryptor(bases = arrayOf(BASE_A))
        val other = decryptor(bases = arrayOf(BASE_A))
        for ((plain, frame) in frames) {
            val buf = hex("0102") + frame
            val n = inPlace.decrypt(buf, 2, frame.size, buf, 2)
            buf.copyOfRange(2, 2 + n) shouldBe plain
            val out = ByteArray(frame.size + 5)
            other.decrypt(frame, 0, frame.size, out, 5).let { out.copyOfRange(5, 5 + it) } shouldBe plain
        }
        inPlace.stats.decrypted shouldBe 1000
        inPlace.stats.failures shouldBe 0
    }

    test("the clock is read for the first frame of a generation and for deadlines, not for every frame") {
        var reads = 0
        val manual = ManualClock()
        val clock = NanoClock { reads++; manual.nanoTime() }
        val d = DaveDecryptor(clock).apply { transitionToKeyRatchet(DaveKeyRatchet(BASE_A)) }
        reads = 0
        for (n in 1..50) d.open(refFrame(BASE_A, 0, n)) shouldBe opusFrame(n)
        // Generation 0's cipher is made at the first frame, which checks the ratchet's age; the others need no time.
        reads shouldBe 1
        // A second epoch gives the first one a deadline: from then on each of its frames checks it.
        d.transitionToKeyRatchet(DaveKeyRatchet(BASE_B))
        reads = 0
        for (n in 51..60) d.open(refFrame(BASE_A, 0, n)) shouldBe opusFrame(n)
        reads shouldBe 10
        manual.advanceSeconds(10.0)
        d.code(refFrame(BASE_A, 0, 61)) shouldBe DaveDecryptor.FAILED
        d.stats.decrypted shouldBe 60
    }

    test("silence frames always pass, with no key and passthrough off") {
        val d = DaveDecryptor(ManualClock())
        d.open(hex("f8fffe"))!!.hex() shouldBe "f8fffe"
        d.stats.silence shouldBe 1
    }

    test("a DAVE frame before any ratchet gives NO_KEY; non-DAVE frames fail unless passthrough is on") {
        val d = DaveDecryptor(ManualClock())
        val (_, frame) = encryptFrames(BASE_A, 1)[0]
        d.code(frame) shouldBe DaveDecryptor.NO_KEY
        d.stats.noKey shouldBe 1
        d.code(opusFrame(1)) shouldBe DaveDecryptor.FAILED
        d.stats.malformed shouldBe 1
        d.transitionToPassthrough(true)
        d.open(opusFrame(1)) shouldBe opusFrame(1)
        d.stats.passthrough shouldBe 1
        // The held frame decrypts once the ratchet arrives.
        d.transitionToKeyRatchet(DaveKeyRatchet(BASE_A))
        d.open(frame) shouldNotBe null
    }

    test("passthrough windows: forever, for a duration, and a grace period when turned off") {
        val clock = ManualClock()
        val d = DaveDecryptor(clock)
        val plain = opusFrame(1)
        d.canPassthrough() shouldBe false
        d.transitionToPassthrough(true, 120.seconds)
        clock.advanceSeconds(119.9)
        d.open(plain) shouldBe plain
        clock.advanceSeconds(0.2)
        d.code(plain) shouldBe DaveDecryptor.FAILED

        d.transitionToPassthrough(true)
        clock.advanceSeconds(1e6)
        d.canPassthrough() shouldBe true
        d.transitionToPassthrough(false, 10.seconds)
        clock.advanceSeconds(9.9)
        d.canPassthrough() shouldBe true
        // A later, longer grace does not extend the running one.
        d.transitionToPassthrough(false, 30.seconds)
        clock.advanceSeconds(0.2)
        d.canPassthrough() shouldBe false

        d.transitionToPassthrough(true)
        d.transitionToPassthrough(false)
        d.canPassthrough() shouldBe false
    }

    test("a replayed frame is rejected and counted; the first copy decrypted") {
        val d = decryptor(bases = arrayOf(BASE_A))
        val (plain, frame) = encryptFrames(BASE_A, 1)[0]
        d.open(frame) shouldBe plain
        d.code(frame) shouldBe DaveDecryptor.FAILED
        d.stats.replay shouldBe 1
        d.stats.decrypted shouldBe 1
    }

    test("reordered frames within the window decrypt once each; replays of any of them fail") {
        val frames = encryptFrames(BASE_A, 50)
        val d = decryptor(bases = arrayOf(BASE_A))
        // The first frame sets the window's start (below); the rest arrive in any order.
        val order = listOf(0) + (1 until 50).shuffled(java.util.Random(3))
        for (i in order) d.open(frames[i].second) shouldBe frames[i].first
        for (i in order) d.code(frames[i].second) shouldBe DaveDecryptor.FAILED
        d.stats.decrypted shouldBe 50
        d.stats.replay shouldBe 50
    }

    test("frames older than the first one a ratchet accepted still open once (libdave and davey refuse them)") {
        // A sender's first frames under a new key, reordered or held until the key came, must not be lost.
        val d = decryptor(bases = arrayOf(BASE_A))
        d.open(refFrame(BASE_A, 0, 5)) shouldNotBe null
        for (n in listOf(4, 0, 2, 1, 3)) d.open(refFrame(BASE_A, 0, n)) shouldBe opusFrame(n)
        for (n in 0..5) d.code(refFrame(BASE_A, 0, n)) shouldBe DaveDecryptor.FAILED
        d.stats.replay shouldBe 6
    }

    test("below the first accepted nonce the window keeps 1000 nonces, as it does for any gap") {
        val d = decryptor(bases = arrayOf(BASE_A))
        d.open(refFrame(BASE_A, 0, 1500)) shouldNotBe null
        d.code(refFrame(BASE_A, 0, 499)) shouldBe DaveDecryptor.FAILED
        d.open(refFrame(BASE_A, 0, 500)) shouldBe opusFrame(500)
        d.code(refFrame(BASE_A, 0, 500)) shouldBe DaveDecryptor.FAILED
        d.stats.replay shouldBe 2
    }

    test("the replay window keeps 1000 missing nonces: older gaps are refused, newer gaps accepted once") {
        val d = decryptor(bases = arrayOf(BASE_A))
        d.open(refFrame(BASE_A, 0, 1)) shouldNotBe null
        d.open(refFrame(BASE_A, 0, 1500)) shouldNotBe null
        d.code(refFrame(BASE_A, 0, 499)) shouldBe DaveDecryptor.FAILED // 1500 - 1001: gone
        d.stats.replay shouldBe 1
        d.open(refFrame(BASE_A, 0, 500)) shouldNotBe null // 1500 - 1000: still missing
        d.open(refFrame(BASE_A, 0, 1499)) shouldNotBe null
        d.code(refFrame(BASE_A, 0, 1499)) shouldBe DaveDecryptor.FAILED
        d.open(refFrame(BASE_A, 0, 1501)) shouldNotBe null
        d.stats.replay shouldBe 2
    }

    test("a frame sealed with another key fails authentication") {
        val d = decryptor(bases = arrayOf(BASE_A))
        d.code(refFrame(BASE_B, 0, 1)) shouldBe DaveDecryptor.FAILED
        d.stats.auth shouldBe 1
        // The failed nonce was not consumed: the genuine frame with it still decrypts.
        d.open(refFrame(BASE_A, 0, 1)) shouldBe opusFrame(1)
    }

    test("generations beyond what 170 frames/s allow for the ratchet's age are refused") {
        val clock = ManualClock()
        val d = decryptor(clock, BASE_A)
        d.code(refFrame(BASE_A, 1, 5)) shouldBe DaveDecryptor.FAILED
        d.stats.generation shouldBe 1
        // 2^24 frames at 170 frames/s take 98,689 s.
        clock.advanceSeconds(98_680.0)
        d.code(refFrame(BASE_A, 1, 6)) shouldBe DaveDecryptor.FAILED
        clock.advanceSeconds(10.0)
        d.open(refFrame(BASE_A, 1, 7)) shouldBe opusFrame(7)
    }

    test("more than 250 generations ahead of the newest is refused") {
        val clock = ManualClock()
        val d = agedDecryptor(clock, BASE_A)
        d.code(refFrame(BASE_A, 251, 1)) shouldBe DaveDecryptor.FAILED
        d.stats.generation shouldBe 1
        d.open(refFrame(BASE_A, 250, 1)) shouldBe opusFrame(1)
        d.open(refFrame(BASE_A, 251, 2)) shouldBe opusFrame(2)
    }

    test("older generations' keys expire 10 s after a newer generation decrypts, and are erased") {
        val clock = ManualClock()
        val ratchet = DaveKeyRatchet(BASE_A)
        val d = DaveDecryptor(clock).apply { transitionToKeyRatchet(ratchet) }
        clock.advanceSeconds(400.0 * 86_400)
        // The last frames of generation 0 and the first of generation 1, reordered a little.
        d.open(refFrame(BASE_A, 0, 0xFFFFF0)) shouldNotBe null
        d.open(refFrame(BASE_A, 1, 1)) shouldNotBe null
        clock.advanceSeconds(9.9)
        d.open(refFrame(BASE_A, 0, 0xFFFFF1)) shouldNotBe null // late frame of the old generation
        clock.advanceSeconds(0.2)
        d.code(refFrame(BASE_A, 0, 0xFFFFF2)) shouldBe DaveDecryptor.FAILED
        d.stats.generation shouldBe 1
        ratchet.key(0).shouldBeNull()
        d.open(refFrame(BASE_A, 1, 2)) shouldNotBe null
    }

    test("generation bytes are unwrapped past 255 relative to the oldest live generation") {
        val clock = ManualClock()
        val d = DaveDecryptor(clock).apply { transitionToKeyRatchet(DaveKeyRatchet(BASE_A)) }
        clock.advanceSeconds(800.0 * 86_400)
        d.open(refFrame(BASE_A, 200, 1)) shouldNotBe null
        d.open(refFrame(BASE_A, 255, 1)) shouldNotBe null
        clock.advanceSeconds(11.0)
        d.open(refFrame(BASE_A, 255, 2)) shouldNotBe null // drops generation 200, oldest becomes 255
        // Generation 256 is sent with generation byte 0; the frame is sealed with key 256.
        val plain = opusFrame(3)
        val frame = DaveReference.sealOpus(DaveReference.ratchetKey(BASE_A, 256), 3, plain)
        d.open(frame) shouldBe plain
    }

    test("after a transition the previous epoch's frames decrypt for 10 s; the newest ratchet is tried first") {
        val clock = ManualClock()
        val d = decryptor(clock, BASE_A)
        val oldFrames = encryptFrames(BASE_A, 3)
        val newFrames = encryptFrames(BASE_B, 3)
        d.open(oldFrames[0].second) shouldBe oldFrames[0].first
        d.transitionToKeyRatchet(DaveKeyRatchet(BASE_B))
        d.open(newFrames[0].second) shouldBe newFrames[0].first
        clock.advanceSeconds(9.9)
        d.open(oldFrames[1].second) shouldBe oldFrames[1].first
        d.stats.auth shouldBe 0
        clock.advanceSeconds(0.2)
        d.code(oldFrames[2].second) shouldBe DaveDecryptor.FAILED
        d.stats.auth shouldBe 1
        d.open(newFrames[1].second) shouldBe newFrames[1].first
    }

    test("a null ratchet (sender left): old keys work 10 s more, then DAVE frames get NO_KEY") {
        val clock = ManualClock()
        val d = decryptor(clock, BASE_A)
        val frames = encryptFrames(BASE_A, 2)
        d.transitionToKeyRatchet(null)
        d.open(frames[0].second) shouldBe frames[0].first
        clock.advanceSeconds(10.0)
        d.code(frames[1].second) shouldBe DaveDecryptor.NO_KEY
        d.hasKey shouldBe false
    }

    test("each transition restarts the older ratchets' 10 s, as libdave's UpdateExpiry does") {
        // Members switch keys at slightly different moments: quick successive joins must not expire a ratchet that a
        // sender still uses. Before, the first deadline stood and frames of the first epoch failed 10 s after the first
        // transition although a later one had come since.
        val clock = ManualClock()
        val d = decryptor(clock, BASE_A)
        val frames = encryptFrames(BASE_A, 3)
        d.transitionToKeyRatchet(DaveKeyRatchet(BASE_B))
        clock.advanceSeconds(6.0)
        d.transitionToKeyRatchet(DaveKeyRatchet(hex("ffeeddccbbaa99887766554433221100")))
        clock.advanceSeconds(4.5) // 10.5 s after the first transition, 4.5 s after the second
        d.open(frames[0].second) shouldBe frames[0].first
        clock.advanceSeconds(5.4) // 9.9 s after the second
        d.open(frames[1].second) shouldBe frames[1].first
        clock.advanceSeconds(0.2)
        d.code(frames[2].second) shouldBe DaveDecryptor.FAILED
    }

    test("at most MAX_RATCHETS key ratchets live: a flood of transitions closes the oldest, counted") {
        val clock = ManualClock()
        val d = decryptor(clock, BASE_A)
        val first = encryptFrames(BASE_A, 1)[0]
        repeat(DaveDecryptor.MAX_RATCHETS + 3) { i ->
            clock.advanceSeconds(0.1)
            d.transitionToKeyRatchet(DaveKeyRatchet(ByteArray(16) { (it + i + 1).toByte() }))
        }
        d.stats.ratchetsDropped shouldBe 4
        d.code(first.second) shouldBe DaveDecryptor.FAILED
    }

    test("a nonce in a non-shortest ULEB128 encoding decrypts, as libdave reads it") {
        val d = decryptor(bases = arrayOf(BASE_A))
        val plain = opusFrame(5)
        val shortest = DaveReference.sealOpus(DaveReference.ratchetKey(BASE_A, 0), 5, plain)
        // Nonce 5 written as 85 80 80 00 (4 bytes) instead of 05; the supplemental size grows by 3.
        val body = shortest.copyOf(plain.size + 8)
        val overlong = body + hex("85808000") + byteArrayOf((8 + 4 + 1 + 2).toByte(), 0xFA.toByte(), 0xFA.toByte())
        d.open(overlong) shouldBe plain
        d.code(overlong) shouldBe DaveDecryptor.FAILED // and it is the same nonce: a replay now
        d.stats.replay shouldBe 1
    }

    test("the replay window keeps up to 1000 missing nonces by count, however old, as libdave does") {
        // Before, a nonce more than 1000 behind the newest was refused even with a single gap on record.
        val d = decryptor(bases = arrayOf(BASE_A))
        d.open(refFrame(BASE_A, 0, 1)) shouldNotBe null
        for (n in 3..2500) d.open(refFrame(BASE_A, 0, n)) shouldNotBe null // nonce 2 lost on the way
        d.open(refFrame(BASE_A, 0, 2)) shouldNotBe null
        d.code(refFrame(BASE_A, 0, 2)) shouldBe DaveDecryptor.FAILED
        d.stats.replay shouldBe 1
        // 1000 newer gaps push the oldest out, by count.
        d.open(refFrame(BASE_A, 0, 2510)) shouldNotBe null // 2501..2509 missing
        d.open(refFrame(BASE_A, 0, 4000)) shouldNotBe null // 1489 skipped: 3000..3999 kept (1000), older ones pushed out
        d.code(refFrame(BASE_A, 0, 2505)) shouldBe DaveDecryptor.FAILED
        d.code(refFrame(BASE_A, 0, 2999)) shouldBe DaveDecryptor.FAILED
        d.open(refFrame(BASE_A, 0, 3000)) shouldNotBe null
        d.stats.replay shouldBe 3
    }

    test("close zeroes the ratchets; afterwards frames get NO_KEY") {
        val ratchet = DaveKeyRatchet(BASE_A)
        val d = DaveDecryptor(ManualClock()).apply { transitionToKeyRatchet(ratchet) }
        d.close()
        ratchet.key(0).shouldBeNull()
        d.code(encryptFrames(BASE_A, 1)[0].second) shouldBe DaveDecryptor.NO_KEY
    }

    test("a frame with clear ranges (video-style) decrypts with the ranges as AAD and re-interleaves") {
        // interleaved: [0,2) clear, [2,6) encrypted, [6,9) clear, [9,12) encrypted.
        val plain = hex("aabb" + "01020304" + "ccddee" + "050607")
        val key = DaveReference.ratchetKey(BASE_A, 0)
        val aad = hex("aabb" + "ccddee")
        val secret = hex("01020304" + "050607")
        val iv = ByteArray(12).also { it[8] = 9 }
        val c = javax.crypto.Cipher.getInstance("AES/GCM/NoPadding")
        c.init(javax.crypto.Cipher.ENCRYPT_MODE, javax.crypto.spec.SecretKeySpec(key, "AES"), javax.crypto.spec.GCMParameterSpec(128, iv))
        c.updateAAD(aad)
        val sealed = c.doFinal(secret)
        val interleaved = hex("aabb") + sealed.copyOfRange(0, 4) + hex("ccddee") + sealed.copyOfRange(4, 7)
        val supplemental = sealed.copyOfRange(7, 15) + hex("09" + "0002" + "0603") + byteArrayOf((8 + 5 + 3).toByte()) + hex("fafa")
        val frame = interleaved + supplemental
        val d = decryptor(bases = arrayOf(BASE_A))
        d.open(frame) shouldBe plain
        // Changing a clear byte breaks authentication.
        val d2 = decryptor(bases = arrayOf(BASE_A))
        d2.code(frame.copyOf().also { it[7] = 0 }) shouldBe DaveDecryptor.FAILED
        d2.stats.auth shouldBe 1
    }

    test("flipping any bit pattern of any byte is rejected and counted, never throws, leaves the input alone") {
        val (plain, frame) = encryptFrames(BASE_A, 1)[0]
        val d = decryptor(bases = arrayOf(BASE_A))
        var attempts = 0
        for (i in frame.indices) {
            for (mask in intArrayOf(0x01, 0x80, 0xFF)) {
                val bad = frame.copyOf().also { it[i] = (it[i].toInt() xor mask).toByte() }
                val before = bad.copyOf()
                withClue("byte $i ^ $mask") {
                    d.code(bad) shouldBe DaveDecryptor.FAILED
                    bad shouldBe before
                }
                attempts++
            }
        }
        d.stats.failures shouldBe attempts.toLong()
        d.stats.decrypted shouldBe 0
        // Failures left no state behind: the genuine frame decrypts, once.
        d.open(frame) shouldBe plain
        d.code(frame) shouldBe DaveDecryptor.FAILED
    }

    test("every truncation and every shifted window fails without throwing") {
        val (_, frame) = encryptFrames(BASE_A, 1)[0]
        val d = decryptor(bases = arrayOf(BASE_A))
        for (len in 0 until frame.size) {
            withClue("prefix $len") { d.decrypt(frame, 0, len, ByteArray(frame.size), 0) shouldBe DaveDecryptor.FAILED }
            withClue("suffix $len") { d.decrypt(frame, frame.size - len, len, ByteArray(frame.size), 0) shouldBe DaveDecryptor.FAILED }
        }
        d.decrypt(frame, 0, frame.size, ByteArray(frame.size - 1), 0) shouldBe DaveDecryptor.FAILED
        d.decrypt(frame, -1, 5, ByteArray(10), 0) shouldBe DaveDecryptor.FAILED
        d.decrypt(frame, 0, frame.size + 1, ByteArray(100), 0) shouldBe DaveDecryptor.FAILED
        d.decrypt(frame, 0, frame.size, ByteArray(100), -1) shouldBe DaveDecryptor.FAILED
        d.stats.decrypted shouldBe 0
    }

    test("random bytes, many ending in a plausible trailer, never throw and never decrypt") {
        val r = java.util.Random(11)
        val d = decryptor(bases = arrayOf(BASE_A))
        repeat(20_000) {
            val len = r.nextInt(300)
            val b = ByteArray(len).also(r::nextBytes)
            if (len >= 3 && r.nextBoolean()) {
                b[len - 1] = 0xFA.toByte(); b[len - 2] = 0xFA.toByte()
                b[len - 3] = (11 + r.nextInt(maxOf(1, minOf(len, 255) - 10))).toByte()
            }
            d.code(b) shouldBe DaveDecryptor.FAILED
        }
        d.stats.decrypted shouldBe 0
    }
})
