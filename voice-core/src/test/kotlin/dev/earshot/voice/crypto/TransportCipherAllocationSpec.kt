package dev.earshot.voice.crypto

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.ints.shouldBeLessThanOrEqual
import io.kotest.matchers.shouldBe
import java.lang.management.ManagementFactory

/**
 * Measures bytes allocated and time per warm decrypt of a typical voice packet (0x90, one-word extension,
 * 100-byte Opus payload; every iteration restores the packet first, as a receive loop would fill a buffer) and prints them. Only the allocation of the shipped
 * paths is asserted (it is deterministic: none); times are printed for information, never asserted.
 */
class TransportCipherAllocationSpec : FunSpec({
    val threads = ManagementFactory.getThreadMXBean() as? com.sun.management.ThreadMXBean

    for (mode in EncryptionMode.entries) {
        for ((impl, factory) in cipherFactories(mode)) {
            test("$mode via $impl: bytes allocated and ns per decrypt").config(
                enabled = threads != null && threads.isThreadAllocatedMemorySupported,
            ) {
                val key = ByteArray(32) { (it * 7).toByte() }
                val aad = byteArrayOf(0x90.toByte(), 0x78, 0, 1, 0, 0, 0x03, 0xC0.toByte(), 0, 0, 0, 42, 0xBE.toByte(), 0xDE.toByte(), 0, 1)
                val plain = ByteArray(104) { (it * 31).toByte() }
                val template = ByteArray(aad.size + plain.size + RtpsizeLayout.OVERHEAD)
                factory(key).encrypt(aad, 0, aad.size, plain, 0, plain.size, 7, template, 0)
                val cipher = factory(key)
                val packet = template.copyOf()
                fun run(iterations: Int): Int {
                    var sum = 0
                    repeat(iterations) {
                        System.arraycopy(template, 0, packet, 0, template.size)
                        sum += cipher.decrypt(packet, 0, packet.size, aad.size)
                    }
                    return sum
                }
                run(WARMUP)
                val tid = Thread.currentThread().id
                val bytesBefore = threads!!.getThreadAllocatedBytes(tid)
                val cpu0 = threads.currentThreadCpuTime
                val t0 = System.nanoTime()
                val sum = run(MEASURED)
                val elapsed = System.nanoTime() - t0
                val cpu = threads.currentThreadCpuTime - cpu0
                val bytesPerCall = (threads.getThreadAllocatedBytes(tid) - bytesBefore).toDouble() / MEASURED
                // Thread CPU time is printed next to wall time because builds share this machine's cores.
                println("[crypto] %-32s %-9s %7.1f B/decrypt %6.0f ns wall %6.0f ns cpu (%d-byte packet)".format(
                    mode.wireName, impl, bytesPerCall, elapsed.toDouble() / MEASURED, cpu.toDouble() / MEASURED, template.size))
                sum.toLong() shouldBe plain.size.toLong() * MEASURED
                // The BouncyCastle XChaCha20 candidate is benchmark material, not a shipped path.
                if (impl != "BouncyCastle") bytesPerCall.toInt() shouldBeLessThanOrEqual 8
            }
        }
    }
}) {
    private companion object {
        const val WARMUP = 100_000
        const val MEASURED = 200_000
    }
}
