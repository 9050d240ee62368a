package dev.earshot.bench

import dev.earshot.voice.NanoClock
import dev.earshot.voice.ReceiveConfig
import dev.earshot.voice.VoiceReceiver
import dev.earshot.voice.codec.ConcentusDecoderFactory
import dev.earshot.voice.codec.PcmFormat
import dev.earshot.voice.crypto.EncryptionMode
import dev.earshot.voice.pipeline.DatagramSource
import dev.earshot.voice.testing.FakeSpeaker
import dev.earshot.voice.testing.OggOpusReader
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.delay
import kotlinx.coroutines.launch
import kotlinx.coroutines.test.StandardTestDispatcher
import kotlinx.coroutines.test.runTest
import java.lang.management.ManagementFactory
import kotlin.time.Duration.Companion.minutes

/**
 * Prints receive-path throughput and allocation figures, side by side in one run, as a Markdown table.
 *
 * Every scenario runs on one thread (the pipeline in virtual time on a test dispatcher, so the 20 ms clock costs no
 * waiting), so rates are per core. Each is measured [ROUNDS] times after a warm-up; the table shows the median and the
 * spread (min-max). Ratios compare figures from this same run.
 *
 * Usage: `mvn -B -q -Pbench -pl benchmarks -am verify -DskipTests` (add `-Dbench.args=quick` for a short run).
 */
fun main(args: Array<String>) {
    val quick = "quick" in args
    val speech = OggOpusReader.readResource("/audio/speech.opus").packets
    val scale = if (quick) 0.2 else 1.0
    val rows = ArrayList<Row>()

    fun measure(name: String, unit: String, units: Int, body: () -> Unit): Row {
        repeat(WARMUP) { body() }
        val rates = ArrayList<Double>()
        val allocs = ArrayList<Double>()
        repeat(ROUNDS) {
            val a0 = allocatedBytes()
            val t0 = System.nanoTime()
            body()
            val t1 = System.nanoTime()
            val a1 = allocatedBytes()
            rates += units / ((t1 - t0) / 1e9)
            allocs += (a1 - a0).toDouble() / units
        }
        return Row(name, unit, rates.sorted(), allocs.sorted()).also { rows += it; System.err.println(it.line()) }
    }

    val decodes = (20_000 * scale).toInt()
    val bare48 = measure("bare Concentus decode, 48 kHz stereo", "frames/s", decodes) { bareDecode(speech, PcmFormat.STEREO_48K, decodes) }
    val bare16 = measure("bare Concentus decode, 16 kHz mono", "frames/s", decodes) { bareDecode(speech, PcmFormat.MONO_16K, decodes) }

    val passPackets = (200_000 * scale).toInt()
    val passGcm = Scenario(speech, speakers = 50, packets = passPackets, mode = EncryptionMode.AEAD_AES256_GCM_RTPSIZE, decode = null)
    val passX = Scenario(speech, speakers = 50, packets = passPackets, mode = EncryptionMode.AEAD_XCHACHA20_POLY1305_RTPSIZE, decode = null)
    val pGcm = measure("pipeline, Opus passthrough (parse + AES-GCM + reorder), 50 speakers", "packets/s", passPackets) { passGcm.run() }
    val pX = measure("pipeline, Opus passthrough (parse + XChaCha20 + reorder), 50 speakers", "packets/s", passPackets) { passX.run() }

    val full48 = Scenario(speech, speakers = 10, packets = decodes, mode = EncryptionMode.AEAD_AES256_GCM_RTPSIZE, decode = PcmFormat.STEREO_48K)
    val full16 = Scenario(speech, speakers = 10, packets = decodes, mode = EncryptionMode.AEAD_AES256_GCM_RTPSIZE, decode = PcmFormat.MONO_16K)
    val f48 = measure("pipeline, full path with decode, 48 kHz stereo, 10 speakers", "packets/s", decodes) { full48.run() }
    val f16 = measure("pipeline, full path with decode, 16 kHz mono, 10 speakers", "packets/s", decodes) { full16.run() }

    println()
    println("Machine: ${Runtime.getRuntime().availableProcessors()} cores, ${System.getProperty("java.vm.name")} ${System.getProperty("java.version")}; ${ROUNDS} rounds after ${WARMUP} warm-up, median [min-max].")
    println()
    println("| scenario | rate (median) | spread | bytes allocated per unit |")
    println("|---|---|---|---|")
    rows.forEach { println(it.markdown()) }
    println()
    println("Ratios from this run:")
    println("- full path 48 kHz stereo vs bare decode: %.3fx (pipeline overhead %.1f%%)".format(f48.median / bare48.median, (bare48.median / f48.median - 1) * 100))
    println("- full path 16 kHz mono vs bare decode: %.3fx (pipeline overhead %.1f%%)".format(f16.median / bare16.median, (bare16.median / f16.median - 1) * 100))
    println("- passthrough AES-GCM vs bare 48 kHz decode: %.1fx".format(pGcm.median / bare48.median))
    println("- passthrough XChaCha20 vs AES-GCM: %.2fx".format(pX.median / pGcm.median))
}

private const val WARMUP = 2
private const val ROUNDS = 5

private class Row(val name: String, val unit: String, val rates: List<Double>, val allocs: List<Double>) {
    val median: Double get() = rates[rates.size / 2]
    fun line() = "%-75s %12.0f %s  [%.0f-%.0f]  %.0f B/unit".format(name, median, unit, rates.first(), rates.last(), allocs[allocs.size / 2])
    fun markdown() = "| $name | %,.0f $unit | %,.0f-%,.0f | %.0f |".format(median, rates.first(), rates.last(), allocs[allocs.size / 2])
}

private val threads = ManagementFactory.getThreadMXBean() as com.sun.management.ThreadMXBean

private fun allocatedBytes(): Long = threads.getThreadAllocatedBytes(Thread.currentThread().id)

private var sink = 0L

private fun bareDecode(packets: List<ByteArray>, format: PcmFormat, count: Int) {
    val decoder = ConcentusDecoderFactory.create(format)
    val out = ShortArray(format.maxBufferSize)
    for (i in 0 until count) {
        val p = packets[i % packets.size]
        if (i % packets.size == 0) decoder.reset()
        sink += decoder.decode(p, 0, p.size, out)
    }
    decoder.close()
}

/**
 * [speakers] members talking at once, each replaying the speech packets, encrypted like Discord's forwarded audio;
 * all datagrams are built before measuring. One receiver processes them with the clock in virtual time.
 */
private class Scenario(
    speech: List<ByteArray>,
    val speakers: Int,
    packets: Int,
    val mode: EncryptionMode,
    val decode: PcmFormat?,
) {
    val key = FakeSpeaker.key(7)
    val datagrams: Array<ByteArray>

    init {
        val fakes = List(speakers) { FakeSpeaker(1000L + it, key, mode, sequence = it * 1000, timestamp = it * 100_000L) }
        datagrams = Array(packets) { i -> fakes[i % speakers].datagram(speech[(i / speakers) % speech.size]) }
    }

    fun run() = runTest(timeout = 10.minutes) {
        val dispatcher = StandardTestDispatcher(testScheduler)
        val source = ReplaySource(datagrams, speakers)
        val config = ReceiveConfig {
            decode = this@Scenario.decode
            clock = NanoClock { testScheduler.currentTime * 1_000_000L }
            readDispatcher = dispatcher
            pipelineDispatcher = dispatcher
            maxSsrcs = speakers
        }
        val receiver = VoiceReceiver(source, config)
        receiver.setTransportKey(mode, key)
        var frames = 0L
        launch(start = CoroutineStart.UNDISPATCHED) { receiver.ticks.collect { frames += it.speaking.size } }
        receiver.start(this).join()
        val s = receiver.stats()
        check(s.decrypted == datagrams.size.toLong()) { "not every packet decrypted: $s" }
        check(s.droppedDatagrams + s.droppedPackets + s.droppedFrames == 0L) { "queues overflowed: $s" }
        sink += frames
    }
}

/** Replays prepared datagrams: [perTick] of them every 20 ms of virtual time, with no per-packet allocation. */
private class ReplaySource(private val datagrams: Array<ByteArray>, private val perTick: Int) : DatagramSource {
    private var next = 0

    override suspend fun receive(buffer: ByteArray): Int {
        if (next == datagrams.size) return -1
        if (next > 0 && next % perTick == 0) delay(20)
        val d = datagrams[next++]
        d.copyInto(buffer)
        return d.size
    }
}
