package dev.earshot.bench

import dev.earshot.voice.crypto.EncryptionMode
import dev.earshot.voice.dave.DaveFrameBench
import dev.earshot.voice.testing.readOggResource
import java.lang.management.ManagementFactory

/**
 * What DAVE (E2EE) adds to the receive pipeline, side by side in one run: the Opus passthrough path (parse +
 * AES-GCM transport decryption + reorder, no decode, 50 speakers) without and with DAVE (every speaker its own user
 * and key ratchet, the receiver decrypting with one DAVE decryptor per user), and the bare DAVE frame decryption of
 * the same 50 senders' frames. Reports rates per core, bytes allocated per packet, the per-round ratio and the added
 * cost per packet (1/rate with DAVE - 1/rate without, in ns).
 *
 * Each fork is its own JVM ([FORKS] of them, the same cases in each); in a fork every case is measured in every round,
 * the order rotating from round to round, and ratios and differences are taken per round (median [min-max]).
 *
 * Usage: `mvn -B -q -Pbench -pl benchmarks -am verify -DskipTests -Dbench.main=dev.earshot.bench.DaveReceiveBenchmarkKt`
 * (`-Dbench.args=quick` for a short run). `fork=N` runs one fork in this JVM.
 */
fun main(args: Array<String>) {
    val quick = "quick" in args
    args.firstOrNull { it.startsWith("fork=") }?.let { return runFork(it.removePrefix("fork=").toInt(), quick) }

    val before = loadAverage()
    val extra = if (quick) listOf("quick") else emptyList()
    val forks = (0 until FORKS).map { forkJvm("dev.earshot.bench.DaveReceiveBenchmarkKt", listOf("fork=$it") + extra) }
    println()
    println("Machine: ${Runtime.getRuntime().availableProcessors()} cores, ${System.getProperty("java.vm.name")} ${System.getProperty("java.version")}; " +
        "load average (1 min) before / after each fork: $before / ${forks.joinToString(" / ") { it.load }}; " +
        "$FORKS forks, $ROUNDS rounds after $WARMUP warm-up each, order rotating; median [min-max].")
    println()
    println("| fork | case | rate (median) | spread | bytes allocated per unit |")
    println("|---|---|---|---|---|")
    forks.flatMap { f -> f.lines.filter { it.startsWith("R|") } }.forEach { println(it.removePrefix("R")) }
    println()
    println("Per round, median [min-max]:")
    forks.flatMap { f -> f.lines.filter { it.startsWith("X ") } }.forEach { println(it.removePrefix("X ")) }
}

private const val FORKS = 2
private const val WARMUP = 2
private const val ROUNDS = 8
private const val SPEAKERS = 50

private class DaveRound(val rate: Double, val bytesPerUnit: Double)

private class DaveRxCase(val name: String, val unit: String, val units: Int, val body: () -> Unit) {
    fun once(): DaveRound {
        val a0 = allocatedHere()
        val t0 = System.nanoTime()
        body()
        val t1 = System.nanoTime()
        val a1 = allocatedHere()
        return DaveRound(units / ((t1 - t0) / 1e9), (a1 - a0).toDouble() / units)
    }
}

private val rxThreads = ManagementFactory.getThreadMXBean() as com.sun.management.ThreadMXBean

private fun allocatedHere(): Long = rxThreads.getThreadAllocatedBytes(Thread.currentThread().id)

private var rxSink = 0L

private fun runFork(index: Int, quick: Boolean) {
    val speech = readOggResource("/audio/speech.opus").packets
    val packets = if (quick) 40_000 else 200_000
    val gcm = EncryptionMode.AEAD_AES256_GCM_RTPSIZE
    val plain = Scenario(speech, SPEAKERS, packets, gcm, null)
    val dave = Scenario(speech, SPEAKERS, packets, gcm, null, dave = true)
    val bare = DaveFrameBench(speech, SPEAKERS, packets)
    val cases = listOf(
        DaveRxCase("pipeline, Opus passthrough (parse + AES-GCM + reorder), $SPEAKERS speakers", "packets/s", packets) { plain.run() },
        DaveRxCase("pipeline, Opus passthrough + DAVE decrypt (one decryptor per user), $SPEAKERS speakers", "packets/s", packets) { dave.run() },
        DaveRxCase("bare DAVE decrypt, $SPEAKERS senders interleaved (speech frames, mean %.0f B)".format(bare.meanPlainBytes), "frames/s", packets) {
            rxSink += bare.decryptAll()
        },
    )
    repeat(WARMUP) { cases.forEach { it.once() } }
    val samples = List(cases.size) { arrayOfNulls<DaveRound>(ROUNDS) }
    for (round in 0 until ROUNDS) {
        for (k in cases.indices) {
            val i = (k + round) % cases.size
            samples[i][round] = cases[i].once()
        }
    }
    val s = samples.map { r -> r.map { it!! } }
    for (i in cases.indices) {
        val rates = s[i].map { it.rate }.sorted()
        val allocs = s[i].map { it.bytesPerUnit }.sorted()
        println("R| ${index + 1} | ${cases[i].name} | %,.0f ${cases[i].unit} | %,.0f-%,.0f | %.0f |".format(rates[rates.size / 2], rates.first(), rates.last(), allocs[allocs.size / 2]))
    }
    fun line(label: String, format: String, values: List<Double>, suffix: String = "") {
        val v = values.sorted()
        println("X - fork ${index + 1}, $label: $format$suffix [$format-$format]".format(v[v.size / 2], v.first(), v.last()))
    }
    val rounds = 0 until ROUNDS
    line("passthrough with DAVE / without (rates)", "%.3f", rounds.map { s[1][it].rate / s[0][it].rate }, "x")
    line("added cost per packet, 1/rate with DAVE - 1/rate without (ns)", "%.0f", rounds.map { 1e9 / s[1][it].rate - 1e9 / s[0][it].rate })
    line("bare DAVE decrypt time per frame, 1/rate (ns)", "%.0f", rounds.map { 1e9 / s[2][it].rate })
    line("added cost per packet / bare DAVE decrypt time", "%.2f", suffix = "x", values = rounds.map { (1e9 / s[1][it].rate - 1e9 / s[0][it].rate) / (1e9 / s[2][it].rate) })
    line("added allocation per packet (B)", "%.0f", rounds.map { s[1][it].bytesPerUnit - s[0][it].bytesPerUnit })
    System.err.println("fork $index done (load ${loadAverage()}), sink $rxSink")
}
