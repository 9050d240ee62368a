package dev.earshot.voice.dave

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe

class DaveCryptorManagerSpec : FunSpec({
    test("generations advancing faster than the cipher expiry: old ciphers still expire and the generation byte wraps past 255") {
        // Found by the DaveDecryptor fuzz: each new generation pushed every older cipher's deadline 10 s back, so
        // generation 0 never expired, the oldest generation stayed 0, and generation 256 (byte 0) unwrapped to 0:
        // every frame from then on was refused as a replay.
        val clock = ManualClock()
        val d = DaveDecryptor(clock).apply { transitionToKeyRatchet(DaveKeyRatchet(BASE_A)) }
        clock.advanceSeconds(400.0 * 86_400) // old enough for 170 frames/s to reach any generation used here
        var secret = BASE_A
        val out = ByteArray(256)
        for (frame in 0 until 300 * 40) {
            val g = frame / 40
            if (frame % 40 == 0 && g > 0) secret = DaveReference.expandWithLabel(secret, "secret", g - 1, 32)
            val plain = opusFrame(frame)
            val sealed = DaveReference.sealOpus(DaveReference.expandWithLabel(secret, "key", g, 16), (g shl 24) or frame, plain)
            val n = d.decrypt(sealed, 0, sealed.size, out, 0)
            if (n != plain.size) throw AssertionError("frame $frame of generation $g: $n, $d")
            clock.advanceSeconds(0.02)
        }
        d.stats.decrypted shouldBe 300 * 40L
        // A frame of generation 5 is refused: its byte now unwraps relative to the oldest live generation (near 300),
        // to 517, more generations than 400 days at 170 frames/s allow.
        val stale = DaveReference.sealOpus(DaveReference.ratchetKey(BASE_A, 5), (5 shl 24) or 999_999, opusFrame(1))
        d.decrypt(stale, 0, stale.size, out, 0) shouldBe DaveDecryptor.FAILED
    }
})
