package dev.earshot.voice.files

import io.kotest.assertions.throwables.shouldThrow
import io.kotest.core.spec.style.FunSpec
import io.kotest.datatest.withData
import io.kotest.matchers.shouldBe
import io.kotest.matchers.string.shouldContain
import java.nio.ByteBuffer
import java.nio.ByteOrder
import java.nio.file.Files
import java.nio.file.Path
import kotlin.io.path.readBytes

class WavWriterSpec : FunSpec({
    val dir = Files.createTempDirectory("earshot-wav")
    afterSpec { dir.toFile().deleteRecursively() }
    fun file(name: String): Path = dir.resolve(name)

    /** A counter pattern: sample i is i - 1000, so shifts, drops and byte swaps all show. */
    fun pattern(n: Int, start: Int = 0) = ShortArray(n) { (start + it - 1000).toShort() }

    data class Format(val rate: Int, val channels: Int)
    context("header fields per the RIFF spec") {
        withData(Format(48_000, 2), Format(16_000, 1), Format(44_100, 6)) { (rate, channels) ->
            val path = file("fields-$rate-$channels.wav")
            WavWriter(path, rate, channels).use { it.write(pattern(channels * 10)) }
            val bytes = path.readBytes()
            val wav = WavParser.parse(bytes)
            wav.formatTag shouldBe 1
            wav.channels shouldBe channels
            wav.sampleRate shouldBe rate.toLong()
            wav.bitsPerSample shouldBe 16
            wav.blockAlign shouldBe channels * 2
            wav.byteRate shouldBe rate.toLong() * channels * 2
            wav.dataOffset shouldBe 44
            wav.dataSize shouldBe channels * 10L * 2
            wav.riffSize shouldBe bytes.size - 8L
            WavParser.samples(bytes, wav).toList() shouldBe pattern(channels * 10).toList()
        }
    }

    test("a new file is a valid empty WAV before anything is flushed") {
        val path = file("empty.wav")
        WavWriter(path, 48_000, 2).use {
            val wav = WavParser.parse(path.readBytes())
            wav.dataSize shouldBe 0
            wav.riffSize shouldBe 36
        }
    }

    test("header sizes on disk follow every automatic flush (100 ms at 8 kHz mono = 800 samples)") {
        val path = file("flushes.wav")
        WavWriter(path, 8_000, 1, flushIntervalMillis = 100).use { w ->
            var lastFlush = 0L
            var total = 0L
            repeat(20) { i ->
                w.write(pattern(300, start = i * 300))
                total += 300
                if (total - lastFlush >= 800) lastFlush = total
                w.samplesWritten shouldBe total
                w.samplesFlushed shouldBe lastFlush
                val bytes = path.readBytes()
                val wav = WavParser.parse(bytes)
                wav.dataSize shouldBe lastFlush * 2
                wav.riffSize shouldBe 36 + lastFlush * 2
                WavParser.samples(bytes, wav).toList() shouldBe pattern(lastFlush.toInt()).toList()
            }
            lastFlush shouldBe 5400L // a flush every third write: 900, 1800, ..., 5400
        }
        WavParser.parse(path.readBytes()).dataSize shouldBe 6000L * 2
    }

    test("flush() rewrites the header at once") {
        val path = file("explicit.wav")
        WavWriter(path, 48_000, 2).use { w ->
            w.write(pattern(20))
            WavParser.parse(path.readBytes()).dataSize shouldBe 0
            w.flush()
            WavParser.parse(path.readBytes()).dataSize shouldBe 40
            w.samplesFlushed shouldBe 10
        }
    }

    test("writeSilence appends zeros per channel between audio") {
        val path = file("silence.wav")
        WavWriter(path, 48_000, 2).use { w ->
            w.write(pattern(6))
            w.writeSilence(70_000) // more than one 64 KiB buffer of zeros
            w.write(pattern(4, start = 6))
            w.samplesWritten shouldBe 3 + 70_000 + 2
        }
        val bytes = path.readBytes()
        val samples = WavParser.samples(bytes, WavParser.parse(bytes))
        samples.size shouldBe 6 + 140_000 + 4
        samples.copyOfRange(0, 6).toList() shouldBe pattern(6).toList()
        samples.copyOfRange(6, 140_006).all { it == 0.toShort() } shouldBe true
        samples.copyOfRange(140_006, 140_010).toList() shouldBe pattern(4, start = 6).toList()
    }

    test("write with offset and length takes only that slice") {
        val path = file("slice.wav")
        val source = pattern(10)
        WavWriter(path, 48_000, 2).use { it.write(source, offset = 3, length = 4) }
        val bytes = path.readBytes()
        WavParser.samples(bytes, WavParser.parse(bytes)).toList() shouldBe source.copyOfRange(3, 7).toList()
    }

    test("writes larger than the buffer arrive intact") {
        val path = file("large.wav")
        val source = pattern(100_003 * 1)
        WavWriter(path, 48_000, 1).use { it.write(source) }
        val bytes = path.readBytes()
        WavParser.samples(bytes, WavParser.parse(bytes)).toList() shouldBe source.toList()
    }

    test("bad arguments are refused without writing") {
        val path = file("bad.wav")
        WavWriter(path, 48_000, 2).use { w ->
            shouldThrow<IllegalArgumentException> { w.write(pattern(3)) }.message shouldContain "whole number"
            shouldThrow<IllegalArgumentException> { w.write(pattern(4), offset = 2, length = 4) }
            shouldThrow<IllegalArgumentException> { w.write(pattern(4), offset = -2, length = 2) }
            shouldThrow<IllegalArgumentException> { w.writeSilence(-1) }
            w.samplesWritten shouldBe 0
        }
        shouldThrow<IllegalArgumentException> { WavWriter(file("bad2.wav"), 48_000, 0) }
        shouldThrow<IllegalArgumentException> { WavWriter(file("bad3.wav"), 0, 1) }
        shouldThrow<IllegalArgumentException> { WavWriter(file("bad4.wav"), 48_000, 1, flushIntervalMillis = 0) }
    }

    test("close is idempotent and writing after close fails clearly") {
        val path = file("closed.wav")
        val w = WavWriter(path, 48_000, 1)
        w.write(pattern(8))
        w.close()
        w.close()
        WavParser.parse(path.readBytes()).dataSize shouldBe 16
        shouldThrow<IllegalStateException> { w.write(pattern(2)) }.message shouldContain "closed"
        shouldThrow<IllegalStateException> { w.writeSilence(2) }.message shouldContain "closed"
        shouldThrow<IllegalStateException> { w.flush() }.message shouldContain "closed"
    }

    test("an unwritable path throws AudioFileException naming it") {
        val path = dir.resolve("missing-dir").resolve("x.wav")
        shouldThrow<AudioFileException> { WavWriter(path, 48_000, 1) }.message shouldContain "missing-dir"
    }

    test("sizes past 2 GiB encode as unsigned 32-bit") {
        val header = WavHeader(48_000, 2)
        val out = ByteBuffer.allocate(44).order(ByteOrder.LITTLE_ENDIAN)
        header.encode(3_000_000_000L, out)
        val wav = WavParser.parse(ByteArray(44).also { out.get(it) })
        wav.dataSize shouldBe 3_000_000_000L
        wav.riffSize shouldBe 3_000_000_036L
        // 2^32 - 1 - 36 rounded down to whole 4-byte stereo frames.
        header.maxDataBytes shouldBe 4_294_967_256L
        WavHeader(48_000, 1).maxDataBytes shouldBe 4_294_967_258L
    }

    test("a write past the size limit is refused whole and the file stays valid") {
        val path = file("limit.wav")
        val smallLimit = object : PcmFileHeader by WavHeader(48_000, 2) {
            override val maxDataBytes = 40L
        }
        PcmFileCore(path, 48_000, 2, 1000, smallLimit, "test").use { core ->
            core.write(pattern(16), 0, 16)
            shouldThrow<WavSizeLimitException> { core.write(pattern(6), 0, 6) }.message shouldContain "4 GiB"
            core.samplesWritten shouldBe 8
            WavParser.parse(path.readBytes()).dataSize shouldBe 32
            core.write(pattern(4), 0, 4)
            shouldThrow<WavSizeLimitException> { core.writeSilence(1) }
        }
        WavParser.parse(path.readBytes()).dataSize shouldBe 40
    }

    test("sox reads the file with the right format and length").config(enabledOrReasonIf = ExternalTools.require("soxi")) {
        val path = file("sox.wav")
        WavWriter(path, 44_100, 2).use { w ->
            w.write(pattern(2 * 44_100))
            w.writeSilence(22_050)
        }
        ExternalTools.run("soxi", "-r", path.toString()).second.trim() shouldBe "44100"
        ExternalTools.run("soxi", "-c", path.toString()).second.trim() shouldBe "2"
        ExternalTools.run("soxi", "-s", path.toString()).second.trim() shouldBe "66150"
    }
})
