package dev.earshot.voice.dave

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.longs.shouldBeLessThan
import io.kotest.matchers.shouldBe
import java.lang.management.ManagementFactory

/**
 * The frame layer's own per-frame allocation is nil; what remains is BouncyCastle's GCM, which allocates its
 * working blocks on every init and doFinal (about 700 bytes per frame in 1.84). The bound catches anything we add.
 */
class DaveAllocationSpec : FunSpec({
    test("decrypting and encrypting allocate less than 1 KiB per frame (all of it BouncyCastle's GCM)") {
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
        decrypt shouldBeLessThan 1_024L
        encrypt shouldBeLessThan 1_024L
    }
})
