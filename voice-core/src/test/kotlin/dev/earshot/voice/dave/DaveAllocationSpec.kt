package dev.earshot.voice.dave

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe
import java.lang.management.ManagementFactory

/**
 * Warm DAVE frames allocate nothing: the frame layer reuses its buffers and the AES-GCM runs on one JDK cipher per key
 * with GHASH tables built once (`GcmCore`). (With BouncyCastle's GCM it was about 740 bytes per frame.)
 */
class DaveAllocationSpec : FunSpec({
    test("decrypting and encrypting a warm frame allocates nothing") {
        val threads = ManagementFactory.getThreadMXBean() as com.sun.management.ThreadMXBean
        threads.isThreadAllocatedMemorySupported shouldBe true
        threads.isThreadAllocatedMemoryEnabled = true
        val frames = 100_000
        val bench = DaveFrameBench(List(50) { opusFrame(it) }, 2, frames)
        repeat(2) { bench.decryptAll(); bench.encryptAll() } // warm-up, so that JIT compilation is not measured

        var before = threads.currentThreadAllocatedBytes
        bench.decryptAll()
        val decrypt = (threads.currentThreadAllocatedBytes - before) / frames
        before = threads.currentThreadAllocatedBytes
        bench.encryptAll()
        val encrypt = (threads.currentThreadAllocatedBytes - before) / frames
        println("DAVE allocation per frame: decrypt $decrypt B, encrypt $encrypt B")
        // Integer division: under one byte per frame on average, i.e. nothing per frame.
        decrypt shouldBe 0L
        encrypt shouldBe 0L
    }
})
