package dev.earshot.voice.pipeline

import io.kotest.assertions.throwables.shouldThrow
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.collections.shouldContain
import io.kotest.matchers.shouldBe
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.CountDownLatch
import java.util.concurrent.Executor
import java.util.concurrent.Executors
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicIntegerArray

class ParallelRoundSpec : FunSpec({

    val pool = Executors.newFixedThreadPool(3) { r -> Thread(r, "round-helper").apply { isDaemon = true } }
    afterSpec { pool.shutdownNow() }

    test("every index runs exactly once, on the caller and the helpers, and the round ends only when all are done") {
        val round = ParallelRound(3, pool)
        repeat(200) { r ->
            val n = 1 + r % 40
            val runs = AtomicIntegerArray(n)
            val done = BooleanArray(n) // plain writes: the round must publish them to the caller
            round.run(n) { i ->
                runs.incrementAndGet(i)
                if (i % 7 == 0) Thread.yield()
                done[i] = true
            }
            (0 until n).map { runs.get(it) } shouldBe List(n) { 1 }
            done.all { it } shouldBe true
        }
    }

    test("helpers really take items: a caller stuck on its first item lets them do the rest") {
        val round = ParallelRound(2, pool)
        val threads = ConcurrentHashMap.newKeySet<String>()
        val othersDone = CountDownLatch(9)
        round.run(10) { i ->
            threads += Thread.currentThread().name
            if (Thread.currentThread().name != "round-helper") {
                // The caller's item waits until helpers have done every other one.
                othersDone.await(10, TimeUnit.SECONDS) shouldBe true
            } else {
                othersDone.countDown()
            }
        }
        threads shouldContain "round-helper"
    }

    test("a helper that starts after the caller has finished touches nothing") {
        val queued = ArrayList<Runnable>()
        val late = ParallelRound(2, Executor { queued += it })
        val calls = AtomicIntegerArray(5)
        late.run(5) { i -> calls.incrementAndGet(i) }
        queued.size shouldBe 2
        queued.forEach { it.run() } // the pool gets to them only now
        (0 until 5).map { calls.get(it) } shouldBe List(5) { 1 }
    }

    test("a failing item is rethrown after the round, and the other items still run") {
        val round = ParallelRound(2, pool)
        val runs = AtomicIntegerArray(20)
        val e = shouldThrow<IllegalStateException> {
            round.run(20) { i ->
                runs.incrementAndGet(i)
                if (i == 3) throw IllegalStateException("item 3")
            }
        }
        e.message shouldBe "item 3"
        (0 until 20).map { runs.get(it) } shouldBe List(20) { 1 }
    }

    test("no helpers, or a single item, runs everything on the caller") {
        val caller = Thread.currentThread().name
        val names = ArrayList<String>()
        ParallelRound(0, pool).run(3) { names += Thread.currentThread().name }
        ParallelRound(3, Executor { error("must not be used") }).run(1) { names += Thread.currentThread().name }
        names shouldBe List(4) { caller }
    }
})
