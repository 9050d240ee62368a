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
}) {
    private companion object {
        const val SHORT = 20_000
        const val EXTRA = 100_000
    }
}
