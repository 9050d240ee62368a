package dev.earshot.voice.pipeline

import dev.earshot.voice.base.Counter
import dev.earshot.voice.base.Counters
import dev.earshot.voice.e2ee.FrameDecryptor
import dev.earshot.voice.identity.SsrcDirectory
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.collections.shouldContainExactly
import io.kotest.matchers.shouldBe

private const val SSRC = 0x1234L
private const val USER = 42L
private const val HOLD_NANOS = 500_000_000L

/**
 * A user-keyed decryptor whose keys open frames with a sequence number below [openBelow] (payload unchanged) and
 * answer NOT_READY for the rest. It never announces new keys ([FrameDecryptor.onKeysChanged] stays null), like a
 * session whose keys arrive between two wake-ups.
 */
private class KeyedDecryptor : FrameDecryptor {
    var openBelow = 0
    override val requiresUser: Boolean get() = true
    override fun decrypt(userId: Long, ssrc: Long, frame: ByteArray, offset: Int, length: Int): Int =
        if ((frame[offset].toInt() and 0xFF) < openBelow) length else FrameDecryptor.NOT_READY
}

private class Bench {
    val decryptor = KeyedDecryptor()
    val counters = Counters()
    val out = ArrayList<Int>()
    val released = ArrayList<Int>()
    val resolver = Resolver(
        SsrcDirectory().apply { map(SSRC, USER) }, decryptor, HoldQueue(8, 16, HOLD_NANOS), counters,
        release = { released += it.sequence }, out = { out += it.sequence },
    ).apply { retryOnArrival = false }

    /** Packet [seq] of the SSRC; its one payload byte is its key number (here the sequence itself). */
    fun offer(seq: Int, now: Long) {
        val p = ReceivedPacket()
        p.ssrc = SSRC
        p.sequence = seq
        p.data[0] = seq.toByte()
        p.payloadOffset = 0
        p.payloadLength = 1
        resolver.offer(p, now)
    }
}

class ResolverSpec : FunSpec({
    test("held frames go on as soon as a later frame of the same SSRC opens, without waiting for a key wake-up") {
        val b = Bench()
        b.offer(1, 0)
        b.offer(2, 20_000_000)
        b.out shouldBe emptyList()
        // The keys arrive unannounced: the next frame opens, and so do the two held before it.
        b.decryptor.openBelow = 10
        b.offer(3, 40_000_000)
        b.out shouldContainExactly listOf(3, 1, 2)
        b.counters[Counter.E2EE_FAILURES] shouldBe 0
        b.released shouldBe emptyList()
    }

    test("a held frame that still cannot open after a later one did waits on, and is counted once its hold is over") {
        val b = Bench()
        b.offer(20, 0) // a key that never comes
        b.decryptor.openBelow = 10
        b.offer(3, 20_000_000)
        b.out shouldContainExactly listOf(3)
        b.offer(4, HOLD_NANOS + 1)
        b.out shouldContainExactly listOf(3, 4)
        b.released shouldContainExactly listOf(20)
        b.counters[Counter.E2EE_FAILURES] shouldBe 1
    }
})
