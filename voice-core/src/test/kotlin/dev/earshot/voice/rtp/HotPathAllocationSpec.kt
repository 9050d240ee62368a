package dev.earshot.voice.rtp

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.longs.shouldBeLessThan
import io.kotest.matchers.shouldBe
import io.kotest.matchers.shouldNotBe
import java.lang.management.ManagementFactory

/** The per-packet path (demux, header view, payload, elements, unwrapping) must not allocate. */
class HotPathAllocationSpec : FunSpec({
    test("a million packets through the per-packet parsers allocate nothing") {
        val threads = ManagementFactory.getThreadMXBean() as com.sun.management.ThreadMXBean
        threads.isThreadAllocatedMemorySupported shouldBe true
        threads.isThreadAllocatedMemoryEnabled = true
        val vectors = Vectors.load("rtp").associateBy { it.name }
        val packets = listOf(
            "discord-talking-0x90-bede-1-word", "discord-padded-0xb0", "discord-silence-0x80", "discord-csrc-2-with-extension",
        ).map { vectors.getValue(it).bytes }.toTypedArray()
        val view = RtpView()
        val sequences = SequenceUnwrapper()
        val timestamps = TimestampUnwrapper()

        // Every result feeds the checksum so that the JIT cannot drop the work.
        fun run(count: Int): Long {
            var sum = 0L
            for (i in 0 until count) {
                val b = packets[i and 3]
                if (PacketDemux.classify(b, 0, b.size) != PacketKind.RTP_AUDIO) return -1
                if (view.wrap(b, 0, b.size) != null) return -1
                val elements = view.offset + view.headerLength
                val packed = RtpPayload.locate(b, elements, b.size - view.headerLength, view.padding, view.extensionLengthWords)
                sum += RtpPayload.payloadLength(packed)
                sum += HeaderExtensions.audioLevel(b, elements, view.extensionLengthWords * 4, view.extensionProfile)
                sum += HeaderExtensions.speakerFlags(b, elements, view.extensionLengthWords * 4, view.extensionProfile)
                sum += sequences.unwrap(view.sequence + i) + timestamps.unwrap(view.timestamp + 960L * i)
            }
            return sum
        }

        run(200_000) shouldNotBe -1L // warm-up, so that JIT compilation is not measured
        val before = threads.currentThreadAllocatedBytes
        val sum = run(1_000_000)
        val allocated = threads.currentThreadAllocatedBytes - before
        sum shouldNotBe -1L
        allocated shouldBeLessThan 1_024L
    }
})
