package dev.earshot.voice.udp

import io.kotest.assertions.throwables.shouldThrow
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.collections.shouldContainExactly
import io.kotest.matchers.shouldBe
import kotlinx.coroutines.ExperimentalCoroutinesApi
import kotlinx.coroutines.launch
import kotlinx.coroutines.test.advanceTimeBy
import kotlinx.coroutines.test.currentTime
import kotlinx.coroutines.test.runCurrent
import kotlinx.coroutines.test.runTest
import java.nio.ByteBuffer
import java.nio.ByteOrder
import kotlin.time.Duration.Companion.milliseconds
import kotlin.time.Duration.Companion.seconds

private fun counterOf(d: ByteArray): Long = ByteBuffer.wrap(d).order(ByteOrder.LITTLE_ENDIAN).getInt(0).toLong() and 0xFFFF_FFFFL

@OptIn(ExperimentalCoroutinesApi::class)
class KeepaliveSpec : FunSpec({
    test("sends an 8-byte little-endian counter at once and then every 5 s") {
        runTest {
            val sink = RecordingSink({ currentTime })
            val job = launch { runKeepalive(sink) }
            runCurrent()
            sink.sends.size shouldBe 1
            advanceTimeBy(60_000)
            runCurrent()
            job.cancel()
            sink.sends.map { it.at } shouldContainExactly (0L..60_000L step 5_000).toList()
            sink.sends.map { counterOf(it.bytes) } shouldContainExactly (0L..12L).toList()
            sink.sends.all { it.bytes.size == 8 } shouldBe true
            sink.sends.all { d -> d.bytes.copyOfRange(4, 8).all { it == 0.toByte() } } shouldBe true
            // Byte order: counter 1 is 01 00 00 00.
            sink.sends[1].bytes.toList() shouldContainExactly listOf<Byte>(1, 0, 0, 0, 0, 0, 0, 0)
        }
    }

    test("a custom interval, and a counter spanning several bytes") {
        runTest {
            val sink = RecordingSink({ currentTime })
            val job = launch { runKeepalive(sink, 10.milliseconds) }
            advanceTimeBy(3_000)
            runCurrent()
            job.cancel()
            sink.sends.size shouldBe 301
            sink.sends.last().at shouldBe 3_000
            sink.sends[258].bytes.toList() shouldContainExactly listOf<Byte>(2, 1, 0, 0, 0, 0, 0, 0)
        }
    }

    test("the counter wraps from 2^32 - 1 to 0") {
        runTest {
            val sink = RecordingSink({ currentTime })
            val job = launch { runKeepalive(sink, 5.seconds, 0xFFFF_FFFEL) }
            advanceTimeBy(10_000)
            runCurrent()
            job.cancel()
            sink.sends.map { counterOf(it.bytes) } shouldContainExactly listOf(0xFFFF_FFFEL, 0xFFFF_FFFFL, 0L)
            sink.sends[1].bytes.toList() shouldContainExactly listOf<Byte>(-1, -1, -1, -1, 0, 0, 0, 0)
        }
    }

    test("keeps going when the socket drops keepalives, and stops when cancelled") {
        runTest {
            val sink = RecordingSink({ currentTime }, accept = false)
            val job = launch { runKeepalive(sink) }
            advanceTimeBy(10_000)
            runCurrent()
            sink.sends.map { counterOf(it.bytes) } shouldContainExactly listOf(0L, 1L, 2L)
            job.cancel()
            advanceTimeBy(60_000)
            sink.sends.size shouldBe 3
        }
    }

    test("rejects a non-positive interval") {
        runTest {
            shouldThrow<IllegalArgumentException> { runKeepalive(RecordingSink({ currentTime }), 0.seconds) }
        }
    }
})
