package dev.earshot.voice.crypto

import javax.crypto.Cipher
import javax.crypto.spec.GCMParameterSpec
import javax.crypto.spec.SecretKeySpec

/**
 * Transport AES-256-GCM decryption loops for `GcmBenchmark`, which cannot reach voice-core's internal classes:
 * [count] rtpsize datagrams (16-byte RTP header with a one-word extension as AAD, [payload]-byte ciphertext, tag, nonce
 * suffix) sealed by the JDK's own `AES/GCM/NoPadding`, and one decryption loop per implementation. Every loop copies
 * the datagram into a receive buffer (as a receive loop does), decrypts it and checks the length; [checkAll]
 * compares every plaintext.
 */
class GcmBench(count: Int, private val payload: Int) {
    private val key = ByteArray(TransportCipher.KEY_LENGTH) { (it * 7 + 3).toByte() }
    private val aadLength = 16
    private val plaintexts = Array(count) { i -> ByteArray(payload) { (it * 31 + i).toByte() } }
    private val datagrams: Array<ByteArray> = Array(count) { i -> seal(i, plaintexts[i]) }
    private val buffer = ByteArray(2048)

    private val current = JdkAesGcmCipher(key, wideTables = true)
    private val narrow = JdkAesGcmCipher(key, wideTables = false)
    private val sodium: TransportCipher? = if (Sodium.aesGcmAvailable) SodiumAesGcmCipher(Sodium.bindings!!, key) else null
    private val jce = JceGcmPerPacket(key)

    private val impls: List<Impl> = listOfNotNull(Impl.NEW, Impl.NARROW, sodium?.let { Impl.SODIUM }, Impl.JCE)

    /** Names of the loops [run] takes, in order; libsodium's only where it loads here. */
    val loops: List<String> = impls.map { it.label }

    /** Decrypts every datagram once with loop [index] of [loops], checking each length; returns the plaintext bytes. */
    fun run(index: Int): Long {
        val impl = impls[index]
        var sum = 0L
        for (i in datagrams.indices) {
            val n = decryptOne(impl, datagrams[i])
            if (n != payload) throw IllegalStateException("${impl.label}: datagram $i did not decrypt")
            sum += n
        }
        return sum
    }

    /** Decrypts every datagram with each loop and compares the plaintext; throws on the first difference. */
    fun checkAll() {
        for (impl in impls) {
            for (i in datagrams.indices) {
                val n = decryptOne(impl, datagrams[i])
                check(n == payload && buffer.copyOfRange(aadLength, aadLength + n).contentEquals(plaintexts[i])) { "${impl.label}: datagram $i wrong" }
            }
        }
    }

    private fun decryptOne(impl: Impl, d: ByteArray): Int {
        System.arraycopy(d, 0, buffer, 0, d.size)
        return when (impl) {
            Impl.NEW -> current.decrypt(buffer, 0, d.size, aadLength)
            Impl.NARROW -> narrow.decrypt(buffer, 0, d.size, aadLength)
            Impl.SODIUM -> sodium!!.decrypt(buffer, 0, d.size, aadLength)
            Impl.JCE -> jce.decrypt(buffer, d.size, aadLength)
        }
    }

    private enum class Impl(val label: String) {
        NEW("GcmCore, 8-bit tables (64 KiB per key; JdkAesGcmCipher's default)"),
        NARROW("GcmCore, 4-bit tables (8 KiB per key)"),
        SODIUM("libsodium over JNA (SodiumAesGcmCipher)"),
        JCE("JDK AES/GCM Cipher re-initialised per packet"),
    }

    private fun seal(i: Int, plain: ByteArray): ByteArray {
        val out = ByteArray(aadLength + plain.size + RtpsizeLayout.OVERHEAD)
        out[0] = 0x90.toByte(); out[1] = 0x78; out[3] = i.toByte(); out[11] = 42
        out[12] = 0xBE.toByte(); out[13] = 0xDE.toByte(); out[15] = 1
        val iv = ByteArray(12)
        for (b in 0 until 4) iv[b] = (i ushr (24 - 8 * b)).toByte()
        val c = Cipher.getInstance("AES/GCM/NoPadding")
        c.init(Cipher.ENCRYPT_MODE, SecretKeySpec(key, "AES"), GCMParameterSpec(128, iv))
        c.updateAAD(out, 0, aadLength)
        c.doFinal(plain, 0, plain.size, out, aadLength)
        System.arraycopy(iv, 0, out, out.size - 4, 4)
        return out
    }
}

/**
 * AES-256-GCM through the JCE as most Java code uses it: a fresh `init` per packet, plaintext into a scratch array.
 * The benchmarks' bare JCE loop (`GcmBenchmark`, `PeerBenchmark`).
 */
class JceGcmPerPacket(key: ByteArray) {
    private val spec = SecretKeySpec(key, "AES")
    private val cipher = Cipher.getInstance("AES/GCM/NoPadding")
    private val iv = ByteArray(12)
    private val scratch = ByteArray(4096)

    fun decrypt(packet: ByteArray, length: Int, aad: Int): Int {
        System.arraycopy(packet, length - 4, iv, 0, 4)
        cipher.init(Cipher.DECRYPT_MODE, spec, GCMParameterSpec(128, iv))
        cipher.updateAAD(packet, 0, aad)
        val n = cipher.doFinal(packet, aad, length - aad - 4, scratch, 0)
        System.arraycopy(scratch, 0, packet, aad, n)
        return n
    }
}
