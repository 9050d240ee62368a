package dev.earshot.voice.pipeline

import kotlinx.coroutines.channels.Channel
import dev.earshot.voice.datagram.DatagramSource
import dev.earshot.voice.base.Counters
import dev.earshot.voice.base.NanoClock
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.collections.shouldContainExactly
import io.kotest.matchers.shouldBe
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.test.runCurrent
import kotlinx.coroutines.test.runTest
import kotlinx.coroutines.withTimeout
import kotlin.time.Duration.Companion.seconds

class DatagramQueueSpec : FunSpec({
    fun packet(n: Int) = ReceivedPacket().apply { sequence = n }

    fun DatagramQueue.drainAll(): List<Int> {
        val out = arrayOfNulls<ReceivedPacket>(3)
        val got = ArrayList<Int>()
        while (true) {
            val n = drainTo(out)
            if (n <= 0) return got
            for (i in 0 until n) got += out[i]!!.sequence
        }
    }

    test("elements come out oldest first, in batches no larger than the array given") {
        val q = DatagramQueue(8) { error("nothing is dropped") }
        (1..7).forEach { q.offer(packet(it)) }
        val out = arrayOfNulls<ReceivedPacket>(3)
        q.drainTo(out) shouldBe 3
        out.map { it!!.sequence } shouldContainExactly listOf(1, 2, 3)
        q.drainAll() shouldContainExactly listOf(4, 5, 6, 7)
        q.drainTo(out) shouldBe 0
    }

    test("a full queue drops its oldest element to onDrop and keeps the newest, across the ring's wrap") {
        val dropped = ArrayList<Int>()
        val q = DatagramQueue(4) { dropped += it.sequence }
        (1..3).forEach { q.offer(packet(it)) }
        q.drainAll() shouldContainExactly listOf(1, 2, 3) // the head is now mid-ring
        (4..10).forEach { q.offer(packet(it)) }
        dropped shouldContainExactly listOf(4, 5, 6)
        q.drainAll() shouldContainExactly listOf(7, 8, 9, 10)
    }

    test("after close the queued elements still come out, then CLOSED; later offers go to onDrop") {
        val dropped = ArrayList<Int>()
        val q = DatagramQueue(4) { dropped += it.sequence }
        q.offer(packet(1))
        q.close()
        q.offer(packet(2))
        dropped shouldContainExactly listOf(2)
        val out = arrayOfNulls<ReceivedPacket>(4)
        q.drainTo(out) shouldBe 1
        q.drainTo(out) shouldBe DatagramQueue.CLOSED
    }

    test("a waiting consumer is resumed by the next offer, and by close") {
        runTest {
            val q = DatagramQueue(4) {}
            val waiting = async(start = CoroutineStart.UNDISPATCHED) { q.awaitItems(); "woken" }
            runCurrent()
            waiting.isActive shouldBe true
            q.offer(packet(1))
            runCurrent()
            waiting.await() shouldBe "woken"
            q.drainAll() shouldContainExactly listOf(1)

            val again = async(start = CoroutineStart.UNDISPATCHED) { q.awaitItems(); "closed" }
            runCurrent()
            again.isActive shouldBe true
            q.close()
            runCurrent()
            again.await() shouldBe "closed"
        }
    }

    test("offers without a wake leave the consumer waiting until signal") {
        runTest {
            val q = DatagramQueue(8) {}
            val waiting = async(start = CoroutineStart.UNDISPATCHED) { q.awaitItems(); "woken" }
            (1..3).forEach { q.offer(packet(it), wake = false) }
            runCurrent()
            waiting.isActive shouldBe true
            q.signal()
            runCurrent()
            waiting.await() shouldBe "woken"
            q.drainAll() shouldContainExactly listOf(1, 2, 3)
        }
    }

    test("the read stage wakes a waiting consumer once its source runs dry after a burst") {
        runTest {
            val q = DatagramQueue(256) { error("nothing is dropped") }
            // Bursts of 3 and of 40 datagrams; after each the source has nothing more, and awaitReadable suspends
            // until the test lets the next burst in.
            val bursts = ArrayDeque(listOf(3, 40))
            var left = 0
            val gate = Channel<Unit>()
            val source = object : DatagramSource {
                override fun poll(buffer: ByteArray): Int {
                    if (left == 0) return DatagramSource.EMPTY
                    left--
                    return 12
                }

                override suspend fun awaitReadable() {
                    gate.receive()
                    left = bursts.removeFirstOrNull() ?: 0
                }
            }
            val reader = launch { runReadStage(source, PacketPool(), q, Counters(), NanoClock { 0L }) }
            runCurrent()
            for (burst in listOf(3, 40)) {
                // The consumer waits on an empty queue before the burst, so only the stage's signal can resume it.
                val woken = async(start = CoroutineStart.UNDISPATCHED) { q.awaitItems() }
                runCurrent()
                woken.isActive shouldBe true
                gate.send(Unit)
                runCurrent()
                woken.isCompleted shouldBe true
                q.drainAll().size shouldBe burst
            }
            reader.cancel()
        }
    }

    test("a producer thread and a suspending consumer: every element arrives once, in order, or is counted as dropped") {
        runBlocking {
            repeat(20) { round ->
                val total = 50_000
                val dropped = java.util.concurrent.atomic.AtomicInteger()
                val q = DatagramQueue(if (round % 2 == 0) 16 else 4096) { dropped.incrementAndGet() }
                val producer = launch(Dispatchers.IO) {
                    for (i in 0 until total) q.offer(packet(i))
                    q.close()
                }
                val got = withTimeout(30.seconds) {
                    async(Dispatchers.Default) {
                        val out = arrayOfNulls<ReceivedPacket>(64)
                        var last = -1
                        var count = 0
                        while (true) {
                            val n = q.drainTo(out)
                            if (n == DatagramQueue.CLOSED) break
                            if (n == 0) { q.awaitItems(); continue }
                            for (i in 0 until n) {
                                val s = out[i]!!.sequence
                                check(s > last) { "$s after $last" }
                                last = s
                                count++
                            }
                        }
                        count
                    }.await()
                }
                producer.join()
                (got + dropped.get()) shouldBe total
            }
        }
    }
})
