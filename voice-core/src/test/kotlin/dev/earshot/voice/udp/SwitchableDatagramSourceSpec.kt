package dev.earshot.voice.udp

import dev.earshot.voice.datagram.DatagramSource
import dev.earshot.voice.testing.ChannelDatagramSource
import io.kotest.assertions.fail
import io.kotest.assertions.throwables.shouldThrow
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.collections.shouldContainExactly
import io.kotest.matchers.longs.shouldBeLessThanOrEqual
import io.kotest.matchers.shouldBe
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.ExperimentalCoroutinesApi
import kotlinx.coroutines.delay
import kotlinx.coroutines.launch
import kotlinx.coroutines.test.TestScope
import kotlinx.coroutines.test.advanceTimeBy
import kotlinx.coroutines.test.runCurrent
import kotlinx.coroutines.test.runTest
import kotlinx.coroutines.withContext
import kotlinx.coroutines.withTimeout
import java.io.IOException
import java.nio.ByteBuffer
import java.util.concurrent.atomic.AtomicInteger
import java.util.concurrent.atomic.AtomicLong
import kotlin.random.Random
import kotlin.time.Duration.Companion.seconds

private fun datagram(n: Int) = ByteBuffer.allocate(4).putInt(n).array()

/**
 * The pipeline's reader loop (as ReadStage): polls, suspends only on EMPTY, stops on CLOSED. Records each datagram's
 * number and counts every poll, so that busy spinning shows.
 */
private class Reader(private val source: DatagramSource) {
    val seen = ArrayList<Int>()
    val last = AtomicInteger(-1)
    val polls = AtomicLong()
    @Volatile var ended = false

    suspend fun run() {
        val buf = ByteArray(2048)
        while (true) {
            var n = source.poll(buf); polls.incrementAndGet()
            while (n == DatagramSource.EMPTY) {
                source.awaitReadable()
                n = source.poll(buf); polls.incrementAndGet()
            }
            if (n == DatagramSource.CLOSED) break
            val v = ByteBuffer.wrap(buf).getInt(0)
            seen += v
            last.set(v)
        }
        ended = true
    }
}

private fun ChannelDatagramSource.with(vararg values: Int) = apply { values.forEach { offer(datagram(it)) } }

@OptIn(ExperimentalCoroutinesApi::class)
private fun TestScope.startReader(source: DatagramSource): Pair<Reader, kotlinx.coroutines.Job> {
    val r = Reader(source)
    val job = launch { r.run() }
    runCurrent()
    return r to job
}

@OptIn(ExperimentalCoroutinesApi::class)
class SwitchableDatagramSourceSpec : FunSpec({

    test("with nothing attached it is EMPTY and the reader sleeps (one poll in an hour) until a source is attached") {
        runTest {
            val s = SwitchableDatagramSource()
            s.poll(ByteArray(8)) shouldBe DatagramSource.EMPTY
            val (r, job) = startReader(s)
            advanceTimeBy(3_600_000); runCurrent()
            r.polls.get() shouldBe 1
            s.attach(ChannelDatagramSource().with(1, 2, 3)) shouldBe true
            runCurrent()
            r.seen shouldContainExactly listOf(1, 2, 3)
            advanceTimeBy(3_600_000); runCurrent()
            r.polls.get() shouldBeLessThanOrEqual 6
            job.isActive shouldBe true
            s.finish()
            runCurrent()
            r.ended shouldBe true
        }
    }

    test("finish ends it for good: CLOSED, the waiting reader ends, attach is refused") {
        runTest {
            val s = SwitchableDatagramSource()
            val inner = ChannelDatagramSource()
            s.attach(inner)
            val (r, _) = startReader(s)
            r.ended shouldBe false
            s.finish()
            runCurrent()
            r.ended shouldBe true
            s.isFinished shouldBe true
            s.poll(ByteArray(8)) shouldBe DatagramSource.CLOSED
            s.attach(ChannelDatagramSource().with(9)) shouldBe false
            s.detach()
            s.finish()
            s.poll(ByteArray(8)) shouldBe DatagramSource.CLOSED
            s.awaitReadable() // returns at once
            s.source shouldBe null
        }
    }

    test("an attached source that ends reads as EMPTY, not CLOSED, and the reader sleeps until the next attach") {
        runTest {
            val s = SwitchableDatagramSource()
            val first = ChannelDatagramSource().with(1, 2)
            s.attach(first)
            val (r, _) = startReader(s)
            first.close()
            runCurrent()
            r.seen shouldContainExactly listOf(1, 2)
            val pollsThen = r.polls.get()
            advanceTimeBy(3_600_000); runCurrent()
            r.ended shouldBe false
            r.polls.get() shouldBeLessThanOrEqual pollsThen + 1
            s.poll(ByteArray(8)) shouldBe DatagramSource.EMPTY
            s.attach(ChannelDatagramSource().with(3))
            runCurrent()
            r.seen shouldContainExactly listOf(1, 2, 3)
            s.finish()
            runCurrent()
            r.ended shouldBe true
        }
    }

    test("a reader parked in the old source's awaitReadable wakes on attach and reads the new source only") {
        runTest {
            val s = SwitchableDatagramSource()
            val old = WaitRecordingSource(ChannelDatagramSource())
            s.attach(old)
            val (r, _) = startReader(s)
            old.waiting shouldBe 1
            val new = ChannelDatagramSource().with(7)
            s.attach(new)
            runCurrent()
            r.seen shouldContainExactly listOf(7)
            old.waiting shouldBe 0
            old.cancelled shouldBe 1
            old.inner.offer(datagram(99)) // the replaced source is not read any more
            new.offer(datagram(8))
            runCurrent()
            r.seen shouldContainExactly listOf(7, 8)
            s.finish()
        }
    }

    test("detach wakes the reader, which then sleeps; re-attaching the same source reads what waited in it") {
        runTest {
            val s = SwitchableDatagramSource()
            val src = WaitRecordingSource(ChannelDatagramSource())
            s.attach(src)
            val (r, _) = startReader(s)
            s.detach()
            runCurrent()
            src.waiting shouldBe 0
            s.source shouldBe null
            src.inner.offer(datagram(5))
            val polls = r.polls.get()
            advanceTimeBy(60_000); runCurrent()
            r.seen shouldBe emptyList()
            r.polls.get() shouldBeLessThanOrEqual polls + 1
            s.attach(src)
            runCurrent()
            r.seen shouldContainExactly listOf(5)
            s.finish()
        }
    }

    test("a switch before the reader parks is not lost (state read, then changed, then waited on)") {
        runTest {
            val s = SwitchableDatagramSource()
            val old = ChannelDatagramSource()
            s.attach(old)
            // The switch lands while the reader is inside the old source's awaitReadable, before it suspends.
            val racing = object : DatagramSource by old {
                override suspend fun awaitReadable() {
                    s.attach(ChannelDatagramSource().with(42))
                    old.awaitReadable()
                }
            }
            s.attach(racing)
            val (r, _) = startReader(s)
            runCurrent()
            r.seen shouldContainExactly listOf(42)
            s.finish()
        }
    }

    test("an error from the attached source's awaitReadable reaches the reader; cancelling the reader cancels the wait") {
        runTest {
            val s = SwitchableDatagramSource()
            s.attach(object : DatagramSource {
                override fun poll(buffer: ByteArray) = DatagramSource.EMPTY
                override suspend fun awaitReadable() { delay(10); throw IOException("boom") }
            })
            shouldThrow<IOException> { s.awaitReadable() }.message shouldBe "boom"

            val src = WaitRecordingSource(ChannelDatagramSource())
            s.attach(src)
            val (r, job) = startReader(s)
            src.waiting shouldBe 1
            job.cancel()
            runCurrent()
            job.isCompleted shouldBe true
            src.waiting shouldBe 0
            src.cancelled shouldBe 1
            r.ended shouldBe false
        }
    }

    test("stress, real threads: 5,000 switches of every kind while a reader runs; no wake-up lost, no spinning") {
        val s = SwitchableDatagramSource()
        val r = Reader(s)
        val random = Random(11)
        val iterations = 5_000
        withContext(Dispatchers.Default) {
            val reader = launch { r.run() }
            val switcher = launch(Dispatchers.IO) {
                var current: ChannelDatagramSource? = null
                for (i in 0 until iterations) {
                    val next = ChannelDatagramSource()
                    val kind = random.nextInt(5)
                    when (kind) {
                        0 -> { s.attach(next); next.offer(datagram(i)) }
                        1 -> { next.offer(datagram(i)); s.attach(next) }
                        2 -> { s.detach(); s.attach(next); next.offer(datagram(i)) }
                        3 -> { current?.close(); s.attach(next); next.offer(datagram(i)) }
                        else -> { s.attach(next); current?.close(); next.offer(datagram(i)) }
                    }
                    current = next
                    // Each datagram must be read before the next switch (which would drop it): a lost wake-up hangs here.
                    val deadline = System.nanoTime() + 10_000_000_000L
                    while (r.last.get() < i) {
                        if (System.nanoTime() > deadline) fail("lost wake-up: datagram $i not read (switch kind $kind)")
                        Thread.onSpinWait()
                    }
                }
                s.finish()
            }
            withTimeout(120.seconds) { switcher.join(); reader.join() }
        }
        r.seen shouldContainExactly (0 until iterations).toList()
        r.ended shouldBe true
        println("switch stress: ${r.polls.get()} polls for $iterations switches")
        r.polls.get() shouldBeLessThanOrEqual 10L * iterations
    }

    test("real sockets: the reader carries on across socket replacements, closed or not, and sleeps while idle") {
        loopbackPeer().use { server ->
            val s = SwitchableDatagramSource()
            val r = Reader(s)
            val sockets = ArrayList<UdpSocket>()
            withContext(Dispatchers.IO) {
                val reader = launch { r.run() }
                withTimeout(60.seconds) {
                    for (i in 0 until 100) {
                        val next = UdpSocket.open(server.address)
                        // The reader is parked in the previous socket. Every other switch leaves that socket open, so
                        // only the switch itself can wake the reader (a close would wake it anyway).
                        s.attach(next) shouldBe true
                        if (i % 2 == 0) sockets.lastOrNull()?.close()
                        sockets += next
                        server.sendTo(datagram(i), next.localAddress)
                        while (r.last.get() < i) delay(1)
                        if (i % 10 == 9) {
                            s.detach()
                            server.sendTo(datagram(-5), next.localAddress) // not read: nothing is attached
                        }
                    }
                    // Idle with a socket attached: the reader must be parked on the selector, not polling.
                    val polls = r.polls.get()
                    delay(300)
                    r.polls.get() shouldBeLessThanOrEqual polls + 1
                    s.finish()
                    reader.join()
                }
            }
            sockets.forEach { it.close() }
            r.seen shouldContainExactly (0 until 100).toList()
        }
    }
})

/** Wraps a source and counts the coroutines waiting in its awaitReadable and the waits that were cancelled. */
private class WaitRecordingSource(val inner: ChannelDatagramSource) : DatagramSource {
    var waiting = 0
    var cancelled = 0
    override fun poll(buffer: ByteArray) = inner.poll(buffer)
    override suspend fun awaitReadable() {
        waiting++
        try {
            inner.awaitReadable()
        } catch (e: kotlinx.coroutines.CancellationException) {
            cancelled++
            throw e
        } finally {
            waiting--
        }
    }
}
