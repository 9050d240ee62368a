package dev.earshot.bench

import dev.earshot.voice.ReceiveConfig
import dev.earshot.voice.VoiceReceiver
import dev.earshot.voice.codec.ConcentusDecoderFactory
import dev.earshot.voice.codec.OpusDecoderFactory
import dev.earshot.voice.codec.PcmFormat
import dev.earshot.voice.crypto.EncryptionMode
import dev.earshot.voice.model.FrameKind
import dev.earshot.voice.datagram.DatagramSource
import dev.earshot.voice.testing.FakeSpeaker
import dev.earshot.voice.testing.readOggResource
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.delay
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import java.lang.management.ManagementFactory

/** One capacity search: a decoder, an output format, and how many threads decode a tick (null: the default, every core). */
internal data class CapacityCase(val decoder: String, val format: PcmFormat, val decodeThreads: Int? = null)

/**
 * The real-time capacity searches, one child JVM each (`capacity=N`). The one-thread rows are the same pipeline with
 * `decodeThreads = 1`, i.e. decoding on the clock's thread only as before parallel decoding, for a side-by-side figure.
 */
internal val CAPACITY_CASES: List<CapacityCase> = listOf(
    CapacityCase("Concentus", PcmFormat.STEREO_48K),
    CapacityCase("Concentus", PcmFormat.STEREO_48K, decodeThreads = 1),
    CapacityCase("Concentus", PcmFormat.MONO_16K),
    CapacityCase("native libopus", PcmFormat.STEREO_48K),
    CapacityCase("native libopus", PcmFormat.STEREO_48K, decodeThreads = 1),
    CapacityCase("native libopus", PcmFormat.MONO_16K),
)

private const val MAX_SPEAKERS = 3200
private const val FIRST_STEP = 50
private const val SSRC_BASE = 10_000L
private const val TICK_NANOS = 20_000_000L

/** One step of the ramp: [speakers] members talking at once for [ticks] ticks of real time. */
internal class CapacityStep(
    val label: String,
    val speakers: Int,
    val attempt: Int,
    val lateTicks: Long,
    val drops: Long,
    val latePackets: Long,
    val concealed: Long,
    val latency: Percentiles,
    val tickLag: Percentiles,
    val cpuMicrosPerPacket: Double,
    val bytesPerPacket: Double,
    val load: String,
) {
    val passed: Boolean get() = lateTicks == 0L && drops == 0L

    fun markdown() = "| $label | $speakers | $attempt | ${if (passed) "yes" else "no"} | $lateTicks | $drops | $latePackets | $concealed | " +
        "${latency.p50ms()} / ${latency.p99ms()} / ${latency.maxMs()} | ${tickLag.p50ms()} / ${tickLag.p99ms()} | %.1f | %.0f | $load |"
            .format(cpuMicrosPerPacket, bytesPerPacket)

    companion object {
        const val HEADER = "| decoder | speakers | attempt | sustained | late ticks | queue drops | late packets | concealed | " +
            "added latency p50 / p99 / max (ms) | tick lag p50 / p99 (ms) | CPU µs/packet | bytes/packet | load |\n" +
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    }
}

/** The result of one decoder's search. */
internal object CapacityRow {
    const val HEADER = "| decoder | speakers sustained (zero late ticks) | first failing step | added latency p50 / p99 at capacity (ms) | " +
        "CPU µs/packet at capacity | speakers per core by CPU time | bytes allocated per packet at capacity |\n|---|---|---|---|---|---|---|"
}

internal class Percentiles(values: LongArray) {
    private val sorted = values.sortedArray()
    fun at(q: Double): Long = if (sorted.isEmpty()) 0 else sorted[minOf(sorted.size - 1, (q * sorted.size).toInt())]
    fun p50ms() = "%.1f".format(at(0.50) / 1e6)
    fun p99ms() = "%.1f".format(at(0.99) / 1e6)
    fun maxMs() = "%.1f".format((sorted.lastOrNull() ?: 0) / 1e6)
}

private val threadBean = ManagementFactory.getThreadMXBean() as com.sun.management.ThreadMXBean

/** CPU nanoseconds and bytes allocated, summed over every live thread of this JVM. */
private fun processTotals(): Pair<Long, Long> {
    val ids = threadBean.allThreadIds
    val cpu = threadBean.getThreadCpuTime(ids).filter { it > 0 }.sum()
    val bytes = threadBean.getThreadAllocatedBytes(ids).filter { it > 0 }.sum()
    return cpu to bytes
}

/**
 * Searches the most concurrent 20 ms speakers one [VoiceReceiver] sustains in real time with case [index]'s
 * decoder: doubling from [FIRST_STEP] until a step fails, then bisecting to within 10 %. A step fails when the
 * receive clock counts a late tick or a stage queue drops a packet, on two attempts in a row (one retry absorbs a
 * stall caused by another process on a shared machine). Prints step rows (`S|`) and one result row (`C|`).
 */
internal fun runCapacity(index: Int, quick: Boolean, fixedSpeakers: Int? = null) {
    val case = CAPACITY_CASES[index]
    val format = case.format
    val factory: OpusDecoderFactory = if (case.decoder == "Concentus") ConcentusDecoderFactory else nativeFactory()
    val label = "${case.decoder}, ${if (format == PcmFormat.STEREO_48K) "48 kHz stereo" else "16 kHz mono"}" +
        (case.decodeThreads?.let { ", $it decode thread" } ?: "")
    val speech = readOggResource("/audio/speech.opus").packets
    val ticks = if (quick) 100 else 300
    val steps = ArrayList<CapacityStep>()

    fun step(speakers: Int, stepTicks: Int = ticks): CapacityStep {
        var last: CapacityStep? = null
        for (attempt in 1..2) {
            val s = realTimeStep(label, speakers, stepTicks, speech, case, factory, attempt)
            System.err.println(s.markdown())
            last = s
            if (s.passed) break
        }
        return last!!
    }

    // JIT warm-up, not reported.
    realTimeStep(label, 20, 100, speech, case, factory, 0)
    if (fixedSpeakers != null) {
        val runs = List(FIXED_RUNS) { realTimeStep(label, fixedSpeakers, ticks, speech, case, factory, it + 1) }
        runs.forEach { println("S" + it.markdown()) }
        val cpu = runs.map { it.cpuMicrosPerPacket }.sorted()
        println("F| $label | $fixedSpeakers speakers | CPU µs/packet median %.1f [%.1f-%.1f] | late ticks %s |".format(
            cpu[cpu.size / 2], cpu.first(), cpu.last(), runs.joinToString(",") { it.lateTicks.toString() }))
        return
    }
    var good: CapacityStep? = null
    var bad: CapacityStep? = null
    var n = FIRST_STEP
    while (n <= MAX_SPEAKERS) {
        val s = step(n).also { steps += it }
        if (s.passed) { good = s; n *= 2 } else { bad = s; break }
    }
    if (good == null) {
        // Not even the first step: walk down.
        n = FIRST_STEP / 2
        while (n >= 1) {
            val s = step(n).also { steps += it }
            if (s.passed) { good = s; break } else { bad = s; n /= 2 }
        }
    }
    while (good != null && bad != null && bad.speakers - good.speakers > maxOf(2, good.speakers / 10)) {
        val mid = (good.speakers + bad.speakers) / 2
        val s = step(mid).also { steps += it }
        if (s.passed) good = s else bad = s
    }
    steps.forEach { println("S" + it.markdown()) }
    val capacity = good?.speakers?.toString() ?: "0"
    val limit = bad?.speakers?.toString() ?: "none up to $MAX_SPEAKERS"
    val at = good
    if (case.decodeThreads == null) {
        println("K|$label|$capacity|${at?.cpuMicrosPerPacket ?: ""}")
        if (at != null) {
            val m = matchedBareDecode(speech, at.speakers, format, factory)
            println("M|$label|${m.median}|${m.min}|${m.max}|${at.speakers}")
        }
    }
    println("C| $label | $capacity | $limit | ${at?.latency?.p50ms() ?: "-"} / ${at?.latency?.p99ms() ?: "-"} | " +
        "${at?.let { "%.1f".format(it.cpuMicrosPerPacket) } ?: "-"} | ${at?.let { "%.0f".format(20_000 / it.cpuMicrosPerPacket) } ?: "-"} | ${at?.let { "%.0f".format(it.bytesPerPacket) } ?: "-"} |")
}

/** Median, min and max of a few timed rounds, in µs per frame. */
internal class Spread(val median: Double, val min: Double, val max: Double)

/**
 * The bare decoder on the frames a real-time step of [speakers] decodes, in the order it decodes them: one decoder
 * per speaker, speaker s at packet `t + s * 37` of the speech in tick t, one tick of every speaker after another, on
 * one thread with nothing else in the loop. This is the decode-bound reference for that step. The groups' bare rows
 * decode each packet on 10 decoders back to back (the same packet ten times in a row, caches and branch history
 * warm), which a call where everyone is at a different point of their speech never does.
 */
internal fun matchedBareDecode(speech: List<ByteArray>, speakers: Int, format: PcmFormat, factory: OpusDecoderFactory): Spread {
    val decoders = List(speakers) { factory.create(format) }
    val out = ShortArray(format.maxBufferSize)
    var sum = 0L
    var tick = 0
    fun decodeTicks(n: Int) {
        repeat(n) {
            for (s in 0 until speakers) {
                val p = speech[(tick + s * 37) % speech.size]
                sum += decoders[s].decode(p, 0, p.size, out)
            }
            tick++
        }
    }
    // About 20,000 frames per round, at least 10 ticks.
    val ticksPerRound = maxOf(10, 20_000 / speakers)
    decodeTicks(ticksPerRound)
    val rounds = DoubleArray(MATCHED_ROUNDS) {
        val t0 = System.nanoTime()
        decodeTicks(ticksPerRound)
        (System.nanoTime() - t0) / 1e3 / (ticksPerRound * speakers)
    }
    decoders.forEach { it.close() }
    matchedSink += sum
    rounds.sort()
    return Spread(rounds[rounds.size / 2], rounds.first(), rounds.last())
}

private const val MATCHED_ROUNDS = 5
private const val FIXED_RUNS = 5
private var matchedSink = 0L

/**
 * [speakers] simulated members, each sending one 20 ms packet of the speech data every 20 ms of real time, their
 * phases spread evenly over the 20 ms; all datagrams are encrypted (AES-GCM) before the clock starts. The receiver
 * runs as in production: system clock, reader on `Dispatchers.IO`, stages on `Dispatchers.Default`; one collector of
 * `ticks` on `Dispatchers.Default` stands for the user's sink and stamps each tick's arrival.
 *
 * Added latency per frame = (time the tick carrying it reaches the collector) - (time its datagram became readable,
 * i.e. its scheduled send time) - playout delay. Tick lag = how late each tick reaches the collector against the
 * earliest one, relative to the 20 ms grid.
 */
private fun realTimeStep(
    label: String,
    speakers: Int,
    ticks: Int,
    speech: List<ByteArray>,
    case: CapacityCase,
    factory: OpusDecoderFactory,
    attempt: Int,
): CapacityStep {
    val mode = EncryptionMode.AEAD_AES256_GCM_RTPSIZE
    val key = FakeSpeaker.key(7)
    val fakes = List(speakers) { FakeSpeaker(SSRC_BASE + it, key, mode, sequence = 0, timestamp = it * 100_000L) }
    val total = speakers * ticks
    // Speakers start at different points of the speech so their pauses do not line up.
    val datagrams = Array(total) { j -> val s = j % speakers; fakes[s].datagram(speech[(j / speakers + s * 37) % speech.size]) }
    val arrival = LongArray(total)
    val delivered = LongArray(total) { -1 }
    val tickTimes = LongArray(ticks + 64) { -1 }
    val config = ReceiveConfig {
        decode = case.format
        decoderFactory = factory
        case.decodeThreads?.let { decodeThreads = it }
        maxSsrcs = speakers
        // Queues sized for a whole tick of every speaker, so the figure is CPU capacity rather than queue sizing.
        stageQueueCapacity = maxOf(256, 4 * speakers)
    }
    val playoutNanos = config.playoutDelay.inWholeNanoseconds
    val source = PacedSource(datagrams, speakers, arrival)
    val receiver = VoiceReceiver(source, config)
    receiver.setTransportKey(mode, key)
    System.gc()
    val (cpu0, bytes0) = processTotals()
    runBlocking {
        val collector = launch(Dispatchers.Default, start = CoroutineStart.UNDISPATCHED) {
            receiver.ticks.collect { t ->
                val now = System.nanoTime()
                if (t.tick < tickTimes.size) tickTimes[t.tick.toInt()] = now
                for (f in t.speaking) {
                    if (f.opus == null || f.kind != FrameKind.DECODED) continue
                    val s = (f.ssrc - SSRC_BASE).toInt()
                    val j = f.sequence * speakers + s
                    if (j in 0 until total) delivered[j] = now
                }
            }
        }
        receiver.start(this).join()
        collector.join()
    }
    val (cpu1, bytes1) = processTotals()
    val stats = receiver.stats()
    val latencies = ArrayList<Long>(total)
    for (j in 0 until total) if (delivered[j] >= 0) latencies += delivered[j] - arrival[j] - playoutNanos
    val grid = (0 until tickTimes.size).filter { tickTimes[it] >= 0 }.map { tickTimes[it] - it * TICK_NANOS }
    val origin = grid.minOrNull() ?: 0L
    return CapacityStep(
        label = label,
        speakers = speakers,
        attempt = attempt,
        lateTicks = stats.lateTicks,
        drops = stats.droppedDatagrams + stats.droppedTicks,
        latePackets = stats.late,
        concealed = stats.concealed,
        latency = Percentiles(latencies.toLongArray()),
        tickLag = Percentiles(grid.map { it - origin }.toLongArray()),
        cpuMicrosPerPacket = (cpu1 - cpu0) / 1e3 / total,
        bytesPerPacket = (bytes1 - bytes0).toDouble() / total,
        load = loadAverage(),
    )
}

/**
 * Releases prepared datagrams in real time: datagram j (speaker j % n, packet j / n) becomes readable at
 * start + (j / n) * 20 ms + (j % n) * 20 ms / n. Its readable time is recorded in [arrival] as it is read.
 */
private class PacedSource(
    private val datagrams: Array<ByteArray>,
    private val speakers: Int,
    private val arrival: LongArray,
) : DatagramSource {
    private var start = 0L
    private var next = 0

    private fun due(j: Int): Long = start + (j / speakers) * TICK_NANOS + (j % speakers) * TICK_NANOS / speakers

    override fun poll(buffer: ByteArray): Int {
        if (next == datagrams.size) return DatagramSource.CLOSED
        if (start == 0L) start = System.nanoTime()
        val due = due(next)
        if (System.nanoTime() < due) return DatagramSource.EMPTY
        val d = datagrams[next]
        arrival[next] = due
        next++
        d.copyInto(buffer)
        return d.size
    }

    override suspend fun awaitReadable() {
        val wait = due(next) - System.nanoTime()
        if (wait > 0) delay((wait + 999_999) / 1_000_000)
    }
}
