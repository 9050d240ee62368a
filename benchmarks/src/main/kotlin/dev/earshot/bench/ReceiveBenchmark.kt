package dev.earshot.bench

import dev.earshot.voice.testing.readOggResource
import dev.earshot.voice.base.NanoClock
import dev.earshot.voice.ReceiveConfig
import dev.earshot.voice.VoiceReceiver
import dev.earshot.voice.codec.ConcentusDecoderFactory
import dev.earshot.voice.codec.OpusDecoderFactory
import dev.earshot.voice.codec.PcmFormat
import dev.earshot.voice.crypto.EncryptionMode
import dev.earshot.voice.dave.DaveReceiveBench
import dev.earshot.voice.e2ee.FrameDecryptor
import dev.earshot.voice.model.AudioFrame
import dev.earshot.voice.model.FrameKind
import dev.earshot.voice.datagram.DatagramSource
import dev.earshot.voice.testing.FakeSpeaker
import dev.earshot.voice.files.OggOpusReader
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.ExperimentalCoroutinesApi
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
 * Each pair of scenarios runs in its own JVM (`pair=N` runs one pair in this JVM).
 */
fun main(args: Array<String>) {
    val quick = "quick" in args
    val pairArg = args.firstOrNull { it.startsWith("pair=") }?.removePrefix("pair=")?.toInt()
    if (pairArg == null) {
        // Like JMH, each pair runs in a fresh JVM so one scenario's JIT profile cannot slow another's.
        val results = (0 until PAIRS).map { forkPair("dev.earshot.bench.ReceiveBenchmarkKt", it, quick) }
        println()
        println("Machine: ${Runtime.getRuntime().availableProcessors()} cores, ${System.getProperty("java.vm.name")} ${System.getProperty("java.version")}; " +
            "each pair in its own JVM, $ROUNDS rounds after $WARMUP warm-up, the two sides in alternating rounds; median [min-max].")
        println()
        println("| scenario | rate (median) | spread | bytes allocated per unit |")
        println("|---|---|---|---|")
        results.flatMap { it.first }.forEach(::println)
        println()
        println("Ratios from this run (per round, median [min-max]):")
        results.flatMap { it.second }.forEach(::println)
        return
    }
    runPair(pairArg, quick)
}

private const val PAIRS = 5

private fun runPair(index: Int, quick: Boolean) {
    val speech = readOggResource("/audio/speech.opus").packets
    val scale = if (quick) 0.2 else 1.0
    val rows = ArrayList<Row>()
    val ratios = ArrayList<String>()

    /**
     * Measures [a] and [b] in alternating rounds (a b, b a, ...) so that machine noise hits both alike, and reports
     * the per-round ratio rate(b) / rate(a) as median [min-max].
     */
    fun pair(a: Case, b: Case, ratioName: String) {
        repeat(WARMUP) { a.once(); b.once() }
        val ra = ArrayList<Sample>()
        val rb = ArrayList<Sample>()
        repeat(ROUNDS) { round ->
            if (round % 2 == 0) { ra += a.once(); rb += b.once() } else { rb += b.once(); ra += a.once() }
        }
        val perRound = ra.indices.map { rb[it].rate / ra[it].rate }.sorted()
        rows += Row(a, ra); rows += Row(b, rb)
        ratios += "- $ratioName: %.3fx [%.3f-%.3f]".format(perRound[perRound.size / 2], perRound.first(), perRound.last())
        System.err.println(rows[rows.size - 2].line()); System.err.println(rows.last().line()); System.err.println(ratios.last())
    }

    val decodes = (20_000 * scale).toInt()
    val passPackets = (200_000 * scale).toInt()
    fun scenario(name: String, speakers: Int, packets: Int, mode: EncryptionMode, decode: PcmFormat?): Case {
        val s = Scenario(speech, speakers, packets, mode, decode)
        return Case(name, "packets/s", packets) { s.run() }
    }

    val speakers = 10
    when (index) {
        0 -> pair(
            Case("bare Concentus decode, 48 kHz stereo, 10 decoders", "frames/s", decodes) { bareDecode(speech, PcmFormat.STEREO_48K, speakers, decodes) },
            scenario("pipeline, full path with decode, 48 kHz stereo, 10 speakers", speakers, decodes, EncryptionMode.AEAD_AES256_GCM_RTPSIZE, PcmFormat.STEREO_48K),
            "full path / bare decode, 48 kHz stereo (pipeline overhead = 1/ratio - 1)",
        )
        1 -> pair(
            Case("bare Concentus decode, 16 kHz mono (48 kHz mono + decimator), 10 decoders", "frames/s", decodes) { bareDecode(speech, PcmFormat.MONO_16K, speakers, decodes) },
            scenario("pipeline, full path with decode, 16 kHz mono, 10 speakers", speakers, decodes, EncryptionMode.AEAD_AES256_GCM_RTPSIZE, PcmFormat.MONO_16K),
            "full path / bare decode, 16 kHz mono",
        )
        2 -> pair(
            scenario("pipeline, Opus passthrough (parse + AES-GCM + reorder), 50 speakers", 50, passPackets, EncryptionMode.AEAD_AES256_GCM_RTPSIZE, null),
            scenario("pipeline, Opus passthrough (parse + XChaCha20 + reorder), 50 speakers", 50, passPackets, EncryptionMode.AEAD_XCHACHA20_POLY1305_RTPSIZE, null),
            "passthrough XChaCha20 / AES-GCM",
        )
        4 -> {
            // Parallel decoding against the clock's thread alone, on a call large enough to use it (>= 16 speakers).
            val n = 48
            pair(
                Scenario(speech, n, decodes, EncryptionMode.AEAD_AES256_GCM_RTPSIZE, PcmFormat.STEREO_48K, decodeThreads = 1)
                    .let { s -> Case("pipeline, full path, 48 kHz stereo, $n speakers, 1 decode thread", "packets/s", decodes) { s.run() } },
                Scenario(speech, n, decodes, EncryptionMode.AEAD_AES256_GCM_RTPSIZE, PcmFormat.STEREO_48K)
                    .let { s -> Case("pipeline, full path, 48 kHz stereo, $n speakers, decode on every core", "packets/s", decodes) { s.run() } },
                "every core / one decode thread, 48 speakers",
            )
        }
        3 -> {
            // What the user receives per packet in passthrough, built alone: the AudioFrame and its private Opus
            // copy, kept in a ring so escape analysis cannot remove them.
            val keep = arrayOfNulls<AudioFrame>(4096)
            val gcm = scenario("pipeline, Opus passthrough (parse + AES-GCM + reorder), 50 speakers", 50, passPackets, EncryptionMode.AEAD_AES256_GCM_RTPSIZE, null)
            val output = Case("user-visible output alone: AudioFrame + Opus copy", "frames/s", passPackets) {
                for (i in 0 until passPackets) {
                    val p = speech[i % speech.size]
                    keep[i and 4095] = AudioFrame(1L, null, i.toLong(), i, i.toLong(), null, p.copyOf(), FrameKind.DECODED)
                }
            }
            pair(gcm, output, "output alone / passthrough (rates)")
            ratios += "- passthrough allocation: %.0f B/packet, of which %.0f B is the frame and Opus copy handed to the user (pipeline's own: %.0f B)"
                .format(rows[0].allocMedian, rows[1].allocMedian, rows[0].allocMedian - rows[1].allocMedian)
        }
    }
    rows.forEach { println(it.markdown()) }
    ratios.forEach(::println)
}

private class Sample(val rate: Double, val bytesPerUnit: Double)

private class Case(val name: String, val unit: String, val units: Int, val body: () -> Unit) {
    fun once(): Sample {
        val a0 = allocatedBytes()
        val t0 = System.nanoTime()
        body()
        val t1 = System.nanoTime()
        val a1 = allocatedBytes()
        return Sample(units / ((t1 - t0) / 1e9), (a1 - a0).toDouble() / units)
    }
}

private const val WARMUP = 2
private const val ROUNDS = 6

private class Row(val case: Case, samples: List<Sample>) {
    val rates = samples.map { it.rate }.sorted()
    val allocs = samples.map { it.bytesPerUnit }.sorted()
    val median: Double get() = rates[rates.size / 2]
    val allocMedian: Double get() = allocs[allocs.size / 2]
    fun line() = "%-75s %12.0f %s  [%.0f-%.0f]  %.0f B/unit".format(case.name, median, case.unit, rates.first(), rates.last(), allocMedian)
    fun markdown() = "| ${case.name} | %,.0f ${case.unit} | %,.0f-%,.0f | %.0f |".format(median, rates.first(), rates.last(), allocMedian)
}

private val threads = ManagementFactory.getThreadMXBean() as com.sun.management.ThreadMXBean

private fun allocatedBytes(): Long = threads.getThreadAllocatedBytes(Thread.currentThread().id)

private var sink = 0L

/** Decodes like the pipeline does: [decoders] decoders in turn, each through the speech packets in order. */
private fun bareDecode(packets: List<ByteArray>, format: PcmFormat, decoders: Int, count: Int) {
    val all = List(decoders) { ConcentusDecoderFactory.create(format) }
    val out = ShortArray(format.maxBufferSize)
    for (i in 0 until count) {
        val p = packets[(i / decoders) % packets.size]
        sink += all[i % decoders].decode(p, 0, p.size, out)
    }
    all.forEach { it.close() }
}

/**
 * [speakers] members talking at once (decoded by [factory] when [decode] is set), each replaying the speech packets, encrypted like Discord's forwarded audio;
 * all datagrams are built before measuring. One receiver processes them with the clock in virtual time.
 *
 * With [dave] set, every speaker is a DAVE member (user `2000 + speaker`, its own key ratchet): its Opus frames are
 * DAVE-encrypted before transport encryption, the SSRCs are mapped to the users before the receiver starts, and the
 * receiver gets a fresh one-decryptor-per-user [FrameDecryptor] each run.
 */
internal class Scenario(
    speech: List<ByteArray>,
    val speakers: Int,
    packets: Int,
    val mode: EncryptionMode,
    val decode: PcmFormat?,
    /** The decoder factory, or null for `ReceiveConfig`'s default. */
    val factory: OpusDecoderFactory? = ConcentusDecoderFactory,
    val dave: Boolean = false,
    val decodeThreads: Int? = null,
) {
    val key = FakeSpeaker.key(7)
    val datagrams: Array<ByteArray>
    private val users = List(speakers) { 2000L + it }
    private val daveBench = if (dave) DaveReceiveBench(users) else null
    /** Frames the DAVE encryptor left in the clear (Opus silence frames); the rest must be DAVE-decrypted. */
    private var clearFrames = 0L

    init {
        val fakes = List(speakers) { FakeSpeaker(1000L + it, key, mode, sequence = it * 1000, timestamp = it * 100_000L) }
        datagrams = Array(packets) { i ->
            val plain = speech[(i / speakers) % speech.size]
            val frame = daveBench?.encrypt(i % speakers, plain)?.also { if (it.size == plain.size) clearFrames++ } ?: plain
            fakes[i % speakers].datagram(frame)
        }
    }

    @OptIn(ExperimentalCoroutinesApi::class)
    fun run() = runTest(timeout = 10.minutes) {
        val dispatcher = StandardTestDispatcher(testScheduler)
        val source = ReplaySource(datagrams, speakers)
        val config = ReceiveConfig {
            decode = this@Scenario.decode
            factory?.let { decoderFactory = it }
            clock = NanoClock { testScheduler.currentTime * 1_000_000L }
            readDispatcher = dispatcher
            pipelineDispatcher = dispatcher
            maxSsrcs = speakers
            this@Scenario.decodeThreads?.let { decodeThreads = it }
        }
        val e2ee = daveBench?.frameDecryptor()
        val receiver = VoiceReceiver(source, config, frameDecryptor = e2ee ?: FrameDecryptor.PASSTHROUGH)
        if (e2ee != null) users.forEachIndexed { i, u -> receiver.ssrcs.map(1000L + i, u) }
        receiver.setTransportKey(mode, key)
        var frames = 0L
        launch(start = CoroutineStart.UNDISPATCHED) { receiver.ticks.collect { frames += it.speaking.size } }
        receiver.start(this).join()
        val s = receiver.stats()
        check(s.decrypted == datagrams.size.toLong()) { "not every packet decrypted: $s" }
        check(s.droppedDatagrams == 0L) { "queues overflowed: $s" }
        check(s.decoded == datagrams.size.toLong()) { "not every packet was played: $s" }
        if (e2ee != null) check(e2ee.decrypted == datagrams.size - clearFrames && e2ee.failed == 0L) { "DAVE: ${e2ee.decrypted} decrypted, ${e2ee.failed} failed, of ${datagrams.size}" }
        sink += frames
    }
}

/** Replays prepared datagrams: [perTick] of them every 20 ms of virtual time, with no per-packet allocation. */
private class ReplaySource(private val datagrams: Array<ByteArray>, private val perTick: Int) : DatagramSource {
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
