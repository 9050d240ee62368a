package dev.earshot.voice.dave

import dev.earshot.voice.base.NanoClock

/** A clock the test moves by hand. */
class ManualClock(var now: Long = 1_000_000_000L) : NanoClock {
    override fun nanoTime(): Long = now
    fun advanceSeconds(s: Double) {
        now += (s * 1e9).toLong()
    }
}

/** Base secrets for tests (16 bytes, as MLS exports them). */
val BASE_A: ByteArray = hex("cedd61b1b8a1ca69046554282cf70b7b")
val BASE_B: ByteArray = hex("00112233445566778899aabbccddeeff")

/** Speech-like Opus payloads of varying size: a TOC byte then filler. */
fun opusFrame(i: Int, size: Int = 40 + (i * 7) % 80): ByteArray = ByteArray(size) { (if (it == 0) 0x78 else it * 31 + i).toByte() }

/** Encrypts [count] frames with a fresh encryptor on a fresh ratchet from [base]; returns plaintexts and frames. */
fun encryptFrames(base: ByteArray, count: Int): List<Pair<ByteArray, ByteArray>> {
    val enc = DaveEncryptor()
    enc.setKeyRatchet(DaveKeyRatchet(base))
    return (0 until count).map { i ->
        val plain = opusFrame(i)
        val out = ByteArray(enc.maxEncryptedSize(plain.size))
        val n = enc.encryptOpus(plain, 0, plain.size, out)
        check(n > 0)
        plain to out.copyOf(n)
    }
}
