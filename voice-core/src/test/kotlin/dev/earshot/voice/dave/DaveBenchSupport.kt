package dev.earshot.voice.dave

import dev.earshot.voice.base.NanoClock

/**
 * The DAVE frame layer seen from the benchmarks module, which cannot reach voice-core's internal classes: [senders]
 * remote users, each with its own ratchet, each sending the Opus [packets] in turn, encrypted by [DaveEncryptor]
 * before measuring. Frames are interleaved sender by sender, as they reach one receiver.
 */
class DaveFrameBench(packets: List<ByteArray>, private val senders: Int, count: Int) {
    private val bases = List(senders) { s -> ByteArray(16) { (it * 13 + s * 101 + 1).toByte() } }
    private val plaintexts: Array<ByteArray> = Array(count) { i -> packets[(i / senders) % packets.size] }

    /** The encrypted frames, `frames[i]` from sender `i % senders`. */
    val frames: Array<ByteArray>

    /** Mean plaintext size in bytes. */
    val meanPlainBytes: Double = plaintexts.sumOf { it.size }.toDouble() / count

    init {
        val encryptors = List(senders) { s -> DaveEncryptor().apply { setKeyRatchet(DaveKeyRatchet(bases[s])) } }
        frames = Array(count) { i -> encryptOne(encryptors[i % senders], plaintexts[i]) }
    }

    private val out = ByteArray(4096)

    /** Decrypts every frame once with fresh decryptors (replay protection forbids a second pass); checks each. */
    fun decryptAll(): Long {
        val decryptors = List(senders) { s ->
            DaveDecryptor(NanoClock.SYSTEM).apply { transitionToKeyRatchet(DaveKeyRatchet(bases[s])) }
        }
        var bytes = 0L
        for (i in frames.indices) {
            val f = frames[i]
            val n = decryptors[i % senders].decrypt(f, 0, f.size, out, 0)
            check(n == plaintexts[i].size) { "frame $i did not decrypt: ${decryptors[i % senders].stats}" }
            bytes += n
        }
        return bytes
    }

    /** Encrypts every plaintext once, one encryptor per sender. */
    fun encryptAll(): Long {
        val encryptors = List(senders) { s -> DaveEncryptor().apply { setKeyRatchet(DaveKeyRatchet(bases[s])) } }
        var bytes = 0L
        for (i in plaintexts.indices) {
            val p = plaintexts[i]
            bytes += encryptors[i % senders].encryptOpus(p, 0, p.size, out)
        }
        return bytes
    }

    private fun encryptOne(enc: DaveEncryptor, plain: ByteArray): ByteArray {
        val buf = ByteArray(enc.maxEncryptedSize(plain.size))
        return buf.copyOf(enc.encryptOpus(plain, 0, plain.size, buf))
    }
}
