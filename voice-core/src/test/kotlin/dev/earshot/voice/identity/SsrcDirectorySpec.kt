package dev.earshot.voice.identity

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.collections.shouldContainExactlyInAnyOrder
import io.kotest.matchers.shouldBe
import java.util.concurrent.CountDownLatch
import java.util.concurrent.atomic.AtomicBoolean
import java.util.concurrent.atomic.AtomicLong
import kotlin.concurrent.thread

class SsrcDirectorySpec : FunSpec({
    val limit = SsrcDirectory.DEFAULT_CAPACITY

    test("maps, remaps, unmaps, and forgets a user's SSRCs") {
        val d = SsrcDirectory()
        d.map(10, 100) shouldBe null
        d.map(11, 100) shouldBe null
        d.map(12, 200) shouldBe null
        d.map(10, 100) shouldBe null // the same mapping again
        d.userOf(10) shouldBe 100
        d.map(12, 300) shouldBe 200 // another user took the SSRC
        d.userOf(12) shouldBe 300
        d.ssrcsOf(100) shouldContainExactlyInAnyOrder listOf(10L, 11L)
        d.unmapUser(100) shouldContainExactlyInAnyOrder listOf(10L, 11L)
        d.userOf(10) shouldBe SsrcDirectory.UNKNOWN
        d.unmap(12)
        d.unmap(12)
        d.snapshot() shouldBe emptyMap()
        d.userOf(0xFFFF_FFFFL) shouldBe SsrcDirectory.UNKNOWN
    }

    test("a flood of distinct SSRCs keeps at most the limit; the oldest mappings go first") {
        val d = SsrcDirectory()
        val n = 40_000
        for (i in 1..n) d.map(i.toLong(), 1_000_000L + i)
        val kept = d.snapshot()
        kept.size shouldBe limit
        kept.keys.min() shouldBe (n - limit + 1).toLong()
        d.userOf(1) shouldBe SsrcDirectory.UNKNOWN
        d.userOf(n.toLong()) shouldBe 1_000_000L + n
        d.userOf((n - limit + 1).toLong()) shouldBe 1_000_000L + n - limit + 1
        d.size shouldBe limit
        d.evictions shouldBe (n - limit).toLong()
    }

    test("a remapped SSRC counts as new for eviction; a smaller capacity is honoured") {
        val d = SsrcDirectory(capacity = 3)
        d.map(1, 10)
        d.map(2, 20)
        d.map(3, 30)
        d.map(1, 11) // SSRC 1 changes hands: now the newest
        d.map(4, 40) // evicts SSRC 2, the oldest
        d.snapshot() shouldBe mapOf(1L to 11L, 3L to 30L, 4L to 40L)
        d.evictions shouldBe 1L
    }

    test("unmapped SSRCs free their place: mapping and unmapping forever never evicts the live ones") {
        val d = SsrcDirectory()
        for (i in 1..100) d.map(i.toLong(), 7)
        for (i in 1..200_000) {
            val ssrc = 1_000L + i
            d.map(ssrc, 8)
            d.unmap(ssrc)
        }
        for (i in 1..100) d.userOf(i.toLong()) shouldBe 7
        d.snapshot().size shouldBe 100
        d.evictions shouldBe 0L
    }

    test("readers on other threads see either the mapping or none, never another user's, while the table churns") {
        val d = SsrcDirectory()
        // SSRC s only ever belongs to user s * 3, so any other answer is a torn read.
        val stop = AtomicBoolean()
        val wrong = AtomicLong()
        val hits = AtomicLong()
        val started = CountDownLatch(2)
        val readers = List(2) { r ->
            thread(name = "ssrc-reader-$r") {
                started.countDown()
                var s = 1L
                while (!stop.get()) {
                    val u = d.userOf(s)
                    if (u == s * 3) hits.incrementAndGet() else if (u != SsrcDirectory.UNKNOWN) wrong.incrementAndGet()
                    s = if (s >= 20_000) 1 else s + 1
                }
            }
        }
        started.await()
        for (round in 0 until 20) {
            for (s in 1L..10_000L) d.map(s + round * 500, (s + round * 500) * 3)
            for (s in 1L..5_000L step 3) d.unmap(s + round * 500)
        }
        stop.set(true)
        readers.forEach { it.join() }
        wrong.get() shouldBe 0L
        (hits.get() > 0) shouldBe true
    }

    test("listeners hear every new mapping but not a repeated one") {
        val d = SsrcDirectory()
        var heard = 0
        val handle = d.onMapped { heard++ }
        d.map(1, 1)
        d.map(1, 1)
        d.map(1, 2)
        heard shouldBe 2
        handle.close()
        d.map(2, 2)
        heard shouldBe 2
    }
})
