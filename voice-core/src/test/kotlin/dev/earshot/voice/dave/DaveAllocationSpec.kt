package dev.earshot.voice.dave

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe
import java.lang.management.ManagementFactory

/**
 * Warm DAVE frames allocate nothing: the frame layer reuses its buffers and the AES-GCM runs on one JDK cipher per key
 * with GHASH tables built once (`GcmCore`). (With BouncyCastle's GCM it was about 740 bytes per frame.) Each pass makes
 * fresh decryptors, whose per-key setup (cipher and GHASH tables per sender) is not per frame: it cancels in
 * the difference between a short and a long pass.
 */
class DaveAllocationSpec : FunSpec({
    test("decrypting and encrypting a warm frame allocates nothing") {
        val threads = ManagementFactory.getThreadMXBean() as com.sun.management.ThreadMXBean
        threads.isThreadAllocatedMemorySupported shouldBe true
        threads.isThreadAllocatedMemoryEnabled = true
        val short = DaveFrameBench(List(50) { opusFrame(it) }, 2, SHORT)
        val long = DaveFrameBench(List(50) { opusFrame(it) }, 2, SHORT + EXTRA)
        repeat(2) { short.decryptAll(); short.encryptAll(); long.decryptAll(); long.encryptAll() } // warm-up: JIT compilation is not measured

        fun allocated(pass: () -> Long): Long {
            val before = threads.currentThreadAllocatedBytes
            pass()
            return threads.currentThreadAllocatedBytes - before
        }
        val decrypt = (allocated(long::decryptAll) - allocated(short::decryptAll)) / EXTRA
        val encrypt = (allocated(long::encryptAll) - allocated(short::encryptAll)) / EXTRA
        println("DAVE allocation per frame: decrypt $decrypt B, encrypt $encrypt B")
        // Integer division: under one byte per frame on average, i.e. nothing per frame.
        decrypt shouldBe 0L
        encrypt shouldBe 0L
    }

    test("the session's per-frame step, user lookup and counters included, allocates nothing") {
        val threads = ManagementFactory.getThreadMXBean() as com.sun.management.ThreadMXBean
        threads.isThreadAllocatedMemoryEnabled = true
        // Snowflake-sized ids: a boxed lookup would allocate a Long per frame.
        val users = List(50) { 1_100_000_000_000_000_000L + it * 7919L }
        val bench = DaveReceiveBench(users)
        val frames = List(STEP_SHORT + STEP_EXTRA) { i -> bench.encrypt(i % users.size, opusFrame(i / users.size % 50)) }

        // Frames decrypt in place, so each pass gets copies made before it is measured, and fresh decryptors.
        fun allocated(count: Int): Long {
            val copies = frames.subList(0, count).map { it.copyOf() }
            val receiver = bench.frameDecryptor()
            val before = threads.currentThreadAllocatedBytes
            for (i in copies.indices) {
                val f = copies[i]
                check(receiver.decrypt(users[i % users.size], 1L + i % users.size, f, 0, f.size) >= 0)
            }
            val bytes = threads.currentThreadAllocatedBytes - before
            check(receiver.decrypted == count.toLong())
            return bytes
        }
        repeat(2) { allocated(STEP_SHORT); allocated(STEP_SHORT + STEP_EXTRA) }
        val perFrame = (allocated(STEP_SHORT + STEP_EXTRA) - allocated(STEP_SHORT)) / STEP_EXTRA
        println("DAVE session step allocation per frame: $perFrame B")
        perFrame shouldBe 0L
    }
}) {
    private companion object {
        const val STEP_SHORT = 5_000
        const val STEP_EXTRA = 50_000
        const val SHORT = 20_000
        const val EXTRA = 100_000
    }
}
