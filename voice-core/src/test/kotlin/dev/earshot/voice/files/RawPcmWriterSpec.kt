package dev.earshot.voice.files

import io.kotest.assertions.throwables.shouldThrow
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe
import io.kotest.matchers.string.shouldContain
import java.nio.file.Files
import kotlin.io.path.fileSize
import kotlin.io.path.readBytes

class RawPcmWriterSpec : FunSpec({
    val dir = Files.createTempDirectory("earshot-raw")
    afterSpec { dir.toFile().deleteRecursively() }
    fun pattern(n: Int, start: Int = 0) = ShortArray(n) { (start + it - 1000).toShort() }

    test("bytes are interleaved s16le with no header") {
        val path = dir.resolve("plain.pcm")
        RawPcmWriter(path, 48_000, 2).use { it.write(shortArrayOf(1, -2, 0x1234, -32768)) }
        path.readBytes().toList() shouldBe
            listOf(1, 0, 0xFE, 0xFF, 0x34, 0x12, 0x00, 0x80).map { it.toByte() }
    }

    test("the file holds exactly the flushed samples after every automatic flush (50 ms at 16 kHz stereo)") {
        val path = dir.resolve("flushes.pcm")
        RawPcmWriter(path, 16_000, 2, flushIntervalMillis = 50).use { w ->
            var lastFlush = 0L
            var total = 0L
            repeat(12) { i ->
                w.write(pattern(2 * 350, start = i * 700))
                total += 350
                if (total - lastFlush >= 800) lastFlush = total
                w.samplesFlushed shouldBe lastFlush
                path.fileSize() shouldBe lastFlush * 4
            }
        }
        WavParser.s16le(path.readBytes(), 0, 12 * 700 * 2).toList() shouldBe pattern(12 * 700).toList()
    }

    test("writeSilence, slices, idempotent close and writes after close") {
        val path = dir.resolve("misc.pcm")
        val w = RawPcmWriter(path, 8_000, 1)
        w.write(pattern(10), offset = 2, length = 3)
        w.writeSilence(4)
        w.close()
        w.close()
        WavParser.s16le(path.readBytes(), 0, 14).toList() shouldBe
            pattern(10).copyOfRange(2, 5).toList() + List(4) { 0.toShort() }
        shouldThrow<IllegalStateException> { w.write(pattern(1)) }.message shouldContain "closed"
    }
})
