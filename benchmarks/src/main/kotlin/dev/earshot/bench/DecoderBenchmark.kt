package dev.earshot.bench

import dev.earshot.voice.base.NanoClock
import dev.earshot.voice.ReceiveConfig
import dev.earshot.voice.VoiceReceiver
import dev.earshot.voice.codec.ConcentusDecoderFactory
import dev.earshot.voice.codec.NativeOpusDecoderFactory
import dev.earshot.voice.codec.NativeOpusLoad
import dev.earshot.voice.codec.OpusDecoderFactory
import dev.earshot.voice.codec.PcmFormat
import dev.earshot.voice.crypto.EncryptionMode
import dev.earshot.voice.datagram.DatagramSource
import dev.earshot.voice.testing.FakeSpeaker
import dev.earshot.voice.testing.readOggResource
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.ExperimentalCoroutinesApi
import kotlinx.coroutines.delay
import kotlinx.coroutines.launch
import kotlinx.coroutines.test.StandardTestDispatcher
import kotlinx.coroutines.test.runTest
import java.lang.management.ManagementFactory
import kotlin.time.Duration.Companion.minutes

/**
 * Prints decoder figures side by side in one run: native libopus against Concentus as bare decoders (48 kHz stereo and
 * 16 kHz mono) and inside the full receive pipeline, with per-round ratios. Same method as [ReceiveBenchmark][main]:
 * each pair in its own JVM, warm-up, rounds alternating the two sides, median [min-max], one thread.
 *
 * Usage: `mvn -B -q -Pbench -pl benchmarks -am verify -DskipTests -Dbench.main=dev.earshot.bench.DecoderBenchmarkKt`
 * (add `-Dbench.args=quick` for a short run), or run this class with the module's class path.
 */
fun main(args: Array<String>) {
    val quick = "quick" in args
    val pairArg = args.firstOrNull { it.startsWith("pair=") }?.removePrefix("pair=")?.toInt()
    if (pairArg == null) {
        val results = (0 until DECODER_PAIRS).map { forkPair("dev.earshot.bench.DecoderBenchmarkKt", it, quick) }
        println()
        println("Machine: ${Runtime.getRuntime().availableProcessors()} cores, ${System.getProperty("java.vm.name")} ${System.getProperty("java.version")}; " +
            "native: ${nativeFactory()}; each pair in its own JVM, $DECODER_ROUNDS rounds after $DECODER_WARMUP warm-up, alternating; median [min-max].")
        println()
        println("| scenario | rate (median) | spread | bytes allocated per unit |")
        println("|---|---|---|---|")
        results.flatMap { it.first }.forEach(::println)
        println()
        println("Ratios from this run (per round, median [min-max]):")
        results.flatMap { it.second }.forEach(::println)
        return
    }
    runDecoderPair(pairArg, quick)
}

private const val DECODER_PAIRS = 4
private const val DECODER_WARMUP = 2
private const val DECODER_ROUNDS = 6
private const val DECODERS = 10

internal fun nativeFactory(): NativeOpusDecoderFactory = when (val load = NativeOpusDecoderFactory.load()) {
    is NativeOpusLoad.Loaded -> load.factory
    is NativeOpusLoad.Unavailable -> error("native libopus unavailable: ${load.reason}")
}

private fun runDecoderPair(index: Int, quick: Boolean) {
    val speech = readOggResource("/audio/speech.opus").packets
    val scale = if (quick) 0.2 else 1.0
    val rows = ArrayList<DecoderRow>()
    val ratios = ArrayList<String>()

    fun pair(a: DecoderCase, b: DecoderCase, ratioName: String) {
        repeat(DECODER_WARMUP) { a.once(); b.once() }
        val ra = ArrayList<DecoderSample>()
        val rb = ArrayList<DecoderSample>()
        repeat(DECODER_ROUNDS) { round ->
            if (round % 2 == 0) { ra += a.once(); rb += b.once() } else { rb += b.once(); ra += a.once() }
        }
        val perRound = ra.indices.map { rb[it].rate / ra[it].rate }.sorted()
        rows += DecoderRow(a, ra); rows += DecoderRow(b, rb)
        ratios += "- $ratioName: %.3fx [%.3f-%.3f]".format(perRound[perRound.size / 2], perRound.first(), perRound.last())
        System.err.println(rows[rows.size - 2].line()); System.err.println(rows.last().line()); System.err.println(ratios.last())
    }

    val decodes = (20_000 * scale).toInt()
    val native = nativeFactory()
    fun bare(name: String, factory: OpusDecoderFactory, format: PcmFormat) =
        DecoderCase("bare $name decode, ${format.label()}, $DECODERS decoders", "frames/s", decodes) {
            bareDecodeWith(factory, speech, format, decodes)
        }
    fun pipeline(name: String, factory: OpusDecoderFactory, format: PcmFormat): DecoderCase {
        val run = PipelineRun(speech, DECODERS, decodes, format, factory)
        return DecoderCase("pipeline, full path with $name decode, ${format.label()}, $DECODERS speakers", "packets/s", decodes) { run.run() }
    }

    when (index) {
        0 -> pair(bare("Concentus", ConcentusDecoderFactory, PcmFormat.STEREO_48K), bare("native libopus", native, PcmFormat.STEREO_48K),
            "bare native / bare Concentus, 48 kHz stereo")
        1 -> pair(bare("Concentus", ConcentusDecoderFactory, PcmFormat.MONO_16K), bare("native libopus", native, PcmFormat.MONO_16K),
            "bare native / bare Concentus, 16 kHz mono")
        2 -> pair(bare("native libopus", native, PcmFormat.STEREO_48K), pipeline("native libopus", native, PcmFormat.STEREO_48K),
            "full path / bare decode, native libopus, 48 kHz stereo (pipeline overhead = 1/ratio - 1)")
        3 -> pair(pipeline("Concentus", ConcentusDecoderFactory, PcmFormat.STEREO_48K), pipeline("native libopus", native, PcmFormat.STEREO_48K),
            "full path native / full path Concentus, 48 kHz stereo")
    }
    rows.forEach { println(it.markdown()) }
    ratios.forEach(::println)
}

private fun PcmFormat.label(): String = if (this == PcmFormat.STEREO_48K) "48 kHz stereo" else "16 kHz mono"

private class DecoderSample(val rate: Double, val bytesPerUnit: Double)

private class DecoderCase(val name: String, val unit: String, val units: Int, val body: () -> Unit) {
    fun once(): DecoderSample {
        val a0 = threadAllocated()
        val t0 = System.nanoTime()
        body()
        val t1 = System.nanoTime()
        val a1 = threadAllocated()
        return DecoderSample(units / ((t1 - t0) / 1e9), (a1 - a0).toDouble() / units)
    }
}

private class DecoderRow(val case: DecoderCase, samples: List<DecoderSample>) {
    val rates = samples.map { it.rate }.sorted()
    val allocs = samples.map { it.bytesPerUnit }.sorted()
    fun line() = "%-75s %12.0f %s  [%.0f-%.0f]  %.0f B/unit".format(case.name, rates[rates.size / 2], case.unit, rates.first(), rates.last(), allocs[allocs.size / 2])
    fun markdown() = "| ${case.name} | %,.0f ${case.unit} | %,.0f-%,.0f | %.0f |".format(rates[rates.size / 2], rates.first(), rates.last(), allocs[allocs.size / 2])
}

private val threadBean = ManagementFactory.getThreadMXBean() as com.sun.management.ThreadMXBean

private fun threadAllocated(): Long = threadBean.getThreadAllocatedBytes(Thread.currentThread().id)

private var decoderSink = 0L

/** As the pipeline decodes: [DECODERS] decoders in turn, each through the speech packets in order; closed after. */
internal fun bareDecodeWith(factory: OpusDecoderFactory, packets: List<ByteArray>, format: PcmFormat, count: Int) {
    val all = List(DECODERS) { factory.create(format) }
    val out = ShortArray(format.maxBufferSize)
    for (i in 0 until count) {
        val p = packets[(i / DECODERS) % packets.size]
        decoderSink += all[i % DECODERS].decode(p, 0, p.size, out)
    }
    all.forEach { it.close() }
}

/** The receive pipeline of [ReceiveBenchmark][main]'s scenarios (AES-GCM, virtual time), with a chosen decoder. */
private class PipelineRun(
    speech: List<ByteArray>,
    val speakers: Int,
    packets: Int,
    val format: PcmFormat,
    val factory: OpusDecoderFactory,
) {
    val mode = EncryptionMode.AEAD_AES256_GCM_RTPSIZE
    val key = FakeSpeaker.key(7)
    val datagrams: Array<ByteArray>

    init {
        val fakes = List(speakers) { FakeSpeaker(1000L + it, key, mode, sequence = it * 1000, timestamp = it * 100_000L) }
        datagrams = Array(packets) { i -> fakes[i % speakers].datagram(speech[(i / speakers) % speech.size]) }
    }

    @OptIn(ExperimentalCoroutinesApi::class)
    fun run() = runTest(timeout = 10.minutes) {
        val dispatcher = StandardTestDispatcher(testScheduler)
        val source = Replay(datagrams, speakers)
        val config = ReceiveConfig {
            decode = format
            decoderFactory = factory
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
        check(s.droppedDatagrams == 0L) { "queues overflowed: $s" }
        check(s.decoded == datagrams.size.toLong()) { "not every packet was played: $s" }
        decoderSink += frames
    }

    /** [perTick] prepared datagrams every 20 ms of virtual time. */
    private class Replay(private val datagrams: Array<ByteArray>, private val perTick: Int) : DatagramSource {
        private var next = 0
        private var paused = false

        override fun poll(buffer: ByteArray): Int {
            if (next == datagrams.size) return DatagramSource.CLOSED
            if (next > 0 && next % perTick == 0 && !paused) {
                paused = true
                return DatagramSource.EMPTY
            }
            paused = false
            val d = datagrams[next++]
            d.copyInto(buffer)
            return d.size
        }

        override suspend fun awaitReadable() {
            delay(20)
        }
    }
}
