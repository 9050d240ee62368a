package dev.earshot.voice.dave

import java.security.MessageDigest
import javax.crypto.Cipher
import javax.crypto.spec.GCMParameterSpec
import javax.crypto.spec.IvParameterSpec
import javax.crypto.spec.SecretKeySpec

/**
 * DAVE's frame crypto alone (AES-128-GCM, 8-byte tag) for `GcmBenchmark`: [count] frames of [payload] bytes from
 * [senders] senders, interleaved, each sender with its own key, sealed by [DaveAesGcm] before measuring. One loop per
 * implementation decrypts every frame once with one cipher per sender made in advance, as `DaveCryptorManager` keeps
 * one per key and generation:
 * - [DaveAesGcm] with 4-bit tables (its default) and 8-bit tables;
 * - the JDK's intrinsified GCM reached the only way an 8-byte tag allows: `AES/CTR/NoPadding` decrypts, then
 *   `AES/GCM/NoPadding` re-encrypts the plaintext to recompute the full tag, whose first 8 bytes are compared in
 *   constant time (both ciphers re-initialised per frame).
 */
class DaveGcmBench(count: Int, senders: Int, private val payload: Int) {
    private val keys = List(senders) { s -> ByteArray(16) { (it * 13 + s * 101 + 1).toByte() } }
    private val senderOf = IntArray(count) { it % senders }
    private val nonces = IntArray(count) { it / senders + 1 }
    private val plaintexts = Array(count) { i -> ByteArray(payload) { (it * 7 + i).toByte() } }
    private val frames: Array<ByteArray> = Array(count) { i ->
        val gcm = DaveAesGcm(keys[senderOf[i]])
        val out = ByteArray(payload + DaveFrame.TAG_LENGTH)
        gcm.begin(true, nonces[i])
        gcm.process(plaintexts[i], 0, payload, out, 0)
        gcm.finishEncrypt(out, 0)
        out
    }
    private val out = ByteArray(4096)

    private val current = keys.map { DaveAesGcm(it, wideTables = true) }
    private val narrow = keys.map { DaveAesGcm(it, wideTables = false) }
    private val jdk = keys.map { JdkCtrThenGcm(it) }

    /** Names of the loops [run] takes, in order. */
    val loops: List<String> = listOf(
        "DaveAesGcm, 4-bit tables (8 KiB per key; the default)",
        "DaveAesGcm, 8-bit tables (64 KiB per key)",
        "JDK AES/CTR decrypt + AES/GCM re-encryption for the tag, re-initialised per frame",
    )

    /** Decrypts every frame once with loop [index] of [loops], checking each length; returns the plaintext bytes. */
    fun run(index: Int): Long {
        var sum = 0L
        for (i in frames.indices) {
            val n = decryptOne(index, i)
            if (n != payload) throw IllegalStateException("${loops[index]}: frame $i did not decrypt")
            sum += n
        }
        return sum
    }

    /** Decrypts every frame with each loop and compares the plaintext; throws on the first difference. */
    fun checkAll() {
        for (index in loops.indices) {
            for (i in frames.indices) {
                val n = decryptOne(index, i)
                check(n == payload && out.copyOf(n).contentEquals(plaintexts[i])) { "${loops[index]}: frame $i wrong" }
            }
        }
    }

    private fun decryptOne(index: Int, i: Int): Int {
        val f = frames[i]
        val s = senderOf[i]
        return when (index) {
            1 -> current[s].let { it.begin(false, nonces[i]); it.process(f, 0, f.size, out, 0); it.finishDecrypt(out, 0) }
            0 -> narrow[s].let { it.begin(false, nonces[i]); it.process(f, 0, f.size, out, 0); it.finishDecrypt(out, 0) }
            else -> jdk[s].decrypt(nonces[i], f, out)
        }
    }
}

/** DAVE frame decryption on the JDK's ciphers only: CTR for the plaintext, a GCM encryption for the tag. */
internal class JdkCtrThenGcm(key: ByteArray) {
    private val spec = SecretKeySpec(key, "AES")
    private val ctr = Cipher.getInstance("AES/CTR/NoPadding")
    private val gcm = Cipher.getInstance("AES/GCM/NoPadding")
    private val iv = ByteArray(DaveAesGcm.NONCE_LENGTH)
    private val counter = ByteArray(16)
    private val resealed = ByteArray(4096)
    private val tag = ByteArray(DaveFrame.TAG_LENGTH)
    private val expected = ByteArray(DaveFrame.TAG_LENGTH)

    fun decrypt(nonce: Int, frame: ByteArray, out: ByteArray): Int {
        for (b in 0 until 4) iv[8 + b] = (nonce ushr (8 * b)).toByte()
        System.arraycopy(iv, 0, counter, 0, iv.size)
        counter[15] = 2 // GCM's first text block is counter 2 (J0 + 1)
        val textLength = frame.size - DaveFrame.TAG_LENGTH
        ctr.init(Cipher.DECRYPT_MODE, spec, IvParameterSpec(counter))
        ctr.doFinal(frame, 0, textLength, out, 0)
        gcm.init(Cipher.ENCRYPT_MODE, spec, GCMParameterSpec(128, iv))
        gcm.doFinal(out, 0, textLength, resealed, 0)
        System.arraycopy(resealed, textLength, tag, 0, tag.size)
        System.arraycopy(frame, textLength, expected, 0, expected.size)
        return if (MessageDigest.isEqual(tag, expected)) textLength else -1
    }
}
