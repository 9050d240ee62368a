package dev.earshot.voice.codec

import io.kotest.core.spec.style.FunSpec
import io.kotest.datatest.withData
import io.kotest.matchers.doubles.shouldBeGreaterThan
import io.kotest.matchers.shouldBe

private fun packet(vararg bytes: Int): ByteArray = ByteArray(bytes.size) { bytes[it].toByte() }

private fun ByteArray.samples(): Int = OpusPacketInfo.samplesPerChannel48k(this, 0, size)

private fun ByteArray.lbrr(): Boolean = OpusPacketInfo.hasLbrr(this, 0, size)

/** TOC byte for [config], mono, frame packing [code] (RFC 6716 §3.1). */
private fun toc(config: Int, code: Int, stereo: Boolean = false): Int = (config shl 3) or (if (stereo) 4 else 0) or code

class OpusPacketInfoSpec : FunSpec({
    context("isSilenceFrame") {
        test("exactly F8 FF FE, also inside a larger buffer") {
            OpusPacketInfo.isSilenceFrame(packet(0xF8, 0xFF, 0xFE), 0, 3) shouldBe true
            OpusPacketInfo.isSilenceFrame(packet(0x00, 0xF8, 0xFF, 0xFE, 0x00), 1, 3) shouldBe true
        }
        test("anything else is not") {
            OpusPacketInfo.isSilenceFrame(packet(0xF8, 0xFF, 0xFE, 0x00), 0, 4) shouldBe false
            OpusPacketInfo.isSilenceFrame(packet(0xF8, 0xFF, 0xFD), 0, 3) shouldBe false
            OpusPacketInfo.isSilenceFrame(packet(0xF8, 0xFF), 0, 2) shouldBe false
            OpusPacketInfo.isSilenceFrame(packet(0xF8, 0xFF, 0xFE), 1, 3) shouldBe false // view past the end
        }
    }

    context("frame duration of each TOC config (RFC 6716 Table 2)") {
        // Milliseconds per frame: SILK NB/MB/WB 10-60, hybrid SWB/FB 10-20, CELT NB/WB/SWB/FB 2.5-20.
        val silk = listOf(10.0, 20.0, 40.0, 60.0)
        val hybrid = listOf(10.0, 20.0)
        val celt = listOf(2.5, 5.0, 10.0, 20.0)
        val ms = silk + silk + silk + hybrid + hybrid + celt + celt + celt + celt
        withData(nameFn = { "config $it: ${ms[it]} ms" }, (0..31).toList()) { config ->
            packet(toc(config, 0), 0x00).samples() shouldBe (ms[config] * 48).toInt()
            packet(toc(config, 0, stereo = true), 0x00).samples() shouldBe (ms[config] * 48).toInt()
        }
    }

    context("frame packing: valid packets, SILK NB 20 ms frames (config 1)") {
        data class Case(val name: String, val bytes: ByteArray, val samples: Int)
        withData(
            nameFn = { it.name },
            Case("code 0, DTX (TOC only)", packet(toc(1, 0)), 960),
            Case("code 0, 1275-byte frame", ByteArray(1276).also { it[0] = toc(1, 0).toByte() }, 960),
            Case("code 1, two 1-byte frames", packet(toc(1, 1), 1, 2), 1920),
            Case("code 1, two empty frames", packet(toc(1, 1)), 1920),
            Case("code 2, lengths 1 and 1", packet(toc(1, 2), 1, 0xAA, 0xBB), 1920),
            Case("code 2, first empty", packet(toc(1, 2), 0, 0xBB), 1920),
            Case("code 2, two-byte length 252+4*1=256", ByteArray(3 + 256).also {
                it[0] = toc(1, 2).toByte(); it[1] = 252.toByte(); it[2] = 1
            }, 1920),
            Case("code 3 CBR, 3 frames of 2", packet(toc(1, 3), 0x03, 1, 2, 3, 4, 5, 6), 2880),
            Case("code 3 CBR, 6 frames = 120 ms", packet(toc(1, 3), 0x06), 5760),
            Case("code 3, 60 ms frames x 2 = 120 ms", packet(toc(3, 3), 0x02), 5760),
            Case("code 3, 48 CELT 2.5 ms frames", packet(toc(16, 3), 48), 5760),
            Case("code 3 VBR, lengths 1, 2, rest", packet(toc(1, 3), 0x83, 1, 2, 0xA, 0xB, 0xB, 0xC, 0xC, 0xC), 2880),
            Case("code 3 padding 2", packet(toc(1, 3), 0x41, 2, 0xA, 0, 0), 960),
            Case("code 3 padding 254+0 (255 continues)", ByteArray(4 + 254).also {
                it[0] = toc(1, 3).toByte(); it[1] = 0x41; it[2] = 0xFF.toByte(); it[3] = 0
            }, 960),
        ) { case -> case.bytes.samples() shouldBe case.samples }
    }

    context("frame packing: invalid packets (RFC 6716 §3.4)") {
        data class Case(val name: String, val bytes: ByteArray)
        withData(
            nameFn = { it.name },
            Case("R1 empty", ByteArray(0)),
            Case("R2 code 0 frame of 1276 bytes", ByteArray(1277).also { it[0] = toc(1, 0).toByte() }),
            Case("R2 code 1 frames of 1276 bytes", ByteArray(1 + 2 * 1276).also { it[0] = toc(1, 1).toByte() }),
            Case("R3 code 1 odd payload", packet(toc(1, 1), 1, 2, 3)),
            Case("R4 code 2 without a length", packet(toc(1, 2))),
            Case("R4 code 2 two-byte length cut off", packet(toc(1, 2), 252)),
            Case("R4 code 2 first frame longer than the packet", packet(toc(1, 2), 5, 1)),
            Case("R4 code 2 second frame of 1276 bytes", ByteArray(2 + 1276).also { it[0] = toc(1, 2).toByte() }),
            Case("R5 code 3 without a count byte", packet(toc(1, 3))),
            Case("R5 code 3 M = 0", packet(toc(1, 3), 0x00)),
            Case("R5 code 3 over 120 ms (3 x 60 ms)", packet(toc(3, 3), 0x03)),
            Case("R5 code 3 over 120 ms (49 x 2.5 ms)", packet(toc(16, 3), 49)),
            Case("R6 code 3 CBR not divisible", packet(toc(1, 3), 0x02, 1, 2, 3)),
            Case("R6 code 3 padding overruns", packet(toc(1, 3), 0x41, 0x10, 1)),
            Case("R6 code 3 padding length cut off", packet(toc(1, 3), 0x41, 0xFF)),
            Case("R7 code 3 VBR lengths overrun", packet(toc(1, 3), 0x82, 9, 1, 2)),
            Case("R7 code 3 VBR length bytes cut off", packet(toc(1, 3), 0x83, 1)),
        ) { case -> case.bytes.samples() shouldBe -1 }
    }

    test("views outside the buffer are invalid, views inside it are read in place") {
        val buf = packet(0xFF, toc(1, 0), 0x40, 0xFF)
        OpusPacketInfo.samplesPerChannel48k(buf, 1, 2) shouldBe 960
        OpusPacketInfo.samplesPerChannel48k(buf, 3, 2) shouldBe -1
        OpusPacketInfo.samplesPerChannel48k(buf, -1, 2) shouldBe -1
        OpusPacketInfo.samplesPerChannel48k(buf, 0, -1) shouldBe -1
        OpusPacketInfo.samplesPerChannel48k(buf, Int.MAX_VALUE, 2) shouldBe -1
        OpusPacketInfo.hasLbrr(buf, 3, 2) shouldBe false
    }

    context("hasLbrr reads the LBRR flag after the VAD flags (RFC 6716 §4.2.3, §4.2.4)") {
        data class Case(val name: String, val bytes: ByteArray, val lbrr: Boolean)
        withData(
            nameFn = { it.name },
            // Mono, one SILK frame: |VAD|LBRR|...
            Case("WB 20 ms mono, LBRR", packet(toc(9, 0), 0b0100_0000), true),
            Case("WB 20 ms mono, VAD only", packet(toc(9, 0), 0b1000_0000), false),
            Case("WB 20 ms mono, all but LBRR", packet(toc(9, 0), 0b1011_1111), false),
            Case("WB 10 ms mono, LBRR", packet(toc(8, 0), 0b0100_0000), true),
            Case("hybrid FB 20 ms mono, LBRR", packet(toc(15, 0), 0b0100_0000), true),
            Case("hybrid SWB 10 ms mono, no LBRR", packet(toc(12, 0), 0b1011_1111), false),
            // Stereo: |VAD mid|LBRR mid|VAD side|LBRR side|...
            Case("WB 20 ms stereo, side LBRR", packet(toc(9, 0, true), 0b0001_0000), true),
            Case("WB 20 ms stereo, mid LBRR", packet(toc(9, 0, true), 0b0100_0000), true),
            Case("WB 20 ms stereo, VADs only", packet(toc(9, 0, true), 0b1010_1111), false),
            // 40 ms: two VAD flags per channel; 60 ms: three.
            Case("WB 40 ms mono, LBRR", packet(toc(10, 0), 0b0010_0000), true),
            Case("WB 40 ms mono, all but LBRR", packet(toc(10, 0), 0b1101_1111), false),
            Case("WB 60 ms mono, LBRR", packet(toc(11, 0), 0b0001_0000), true),
            Case("WB 60 ms mono, all but LBRR", packet(toc(11, 0), 0b1110_1111), false),
            Case("WB 60 ms stereo, side LBRR (last bit)", packet(toc(11, 0, true), 0b0000_0001), true),
            Case("WB 60 ms stereo, mid LBRR", packet(toc(11, 0, true), 0b0001_0000), true),
            Case("WB 60 ms stereo, all but LBRR", packet(toc(11, 0, true), 0b1110_1110), false),
            // Only the first frame counts, wherever the packing puts it.
            Case("code 1, first frame has it", packet(toc(9, 1), 0b0100_0000, 0), true),
            Case("code 1, only second frame has it", packet(toc(9, 1), 0, 0b0100_0000), false),
            Case("code 2, first frame empty (DTX)", packet(toc(9, 2), 0, 0b0100_0000), false),
            Case("code 3 VBR + padding, first frame after header", packet(toc(9, 3), 0xC2, 1, 1, 0b0100_0000, 0, 0), true),
            Case("code 0 DTX", packet(toc(9, 0)), false),
            Case("CELT-only never", packet(toc(31, 0), 0xFF, 0xFF), false),
            Case("invalid packet", packet(toc(9, 1), 0b0100_0000), false),
        ) { case -> case.bytes.lbrr() shouldBe case.lbrr }
    }

    context("real libopus 1.3.1 packets") {
        test("in-band FEC off: no packet carries LBRR") {
            SpeechFixtures.speechNoFec.packets.count { it.lbrr() } shouldBe 0
        }
        test("in-band FEC on: most packets carry LBRR, in mono hybrid and stereo 40/60 ms SILK") {
            // Measured: 265/332 (mono 20 ms), 138/166 (stereo 40 ms), 95/111 (stereo 60 ms). LBRR is left out
            // after frames the encoder judged inactive, so the share is below 1.
            for (stream in listOf(SpeechFixtures.speech, SpeechFixtures.stereo40, SpeechFixtures.stereo60)) {
                val share = stream.packets.count { it.lbrr() }.toDouble() / stream.packets.size
                share shouldBeGreaterThan 0.7
            }
        }
        test("durations agree with the Ogg granule positions") {
            // The last page's granule is pre-skip plus the playable length; the encoder pads the last packet.
            for (stream in listOf(SpeechFixtures.speech, SpeechFixtures.stereo40, SpeechFixtures.stereo60)) {
                val total = stream.packets.sumOf { it.samples() }
                (total >= stream.finalGranule && total < stream.finalGranule + 2880) shouldBe true
            }
        }
    }
})
