package dev.earshot.bench

import dev.earshot.voice.crypto.GcmBench
import dev.earshot.voice.dave.DaveFrameBench
import dev.earshot.voice.dave.DaveGcmBench
import dev.earshot.voice.testing.readOggResource
import java.io.File

/**
 * AES-GCM side by side in one JVM (issue 18): transport decryption of rtpsize datagrams with `GcmCore` (8-bit and
 * 4-bit tables), libsodium over JNA and the JDK's `AES/GCM` re-initialised per packet; DAVE frame decryption with
 * `DaveAesGcm` (4-bit and 8-bit tables) and with the JDK's CTR plus a GCM
 * re-encryption for the 8-byte tag, for 1, 10 and 50 senders' keys interleaved; and the whole DAVE
 * receive path per frame (`DaveFrameBench`). Prints, per loop, rate, ns per operation (wall time on this thread) and
 * bytes allocated per operation as a Markdown table, then per-round ratios. Every loop is checked on every datagram
 * or frame before measuring.
 *
 * Usage, from the repository root (`quick` for a short run):
 * ```
 * mvn -B -q -Pbench -pl benchmarks -am verify -DskipTests -Dbench.main=dev.earshot.bench.GcmBenchmarkKt
 * ```
 * Rounds rotate the order of the loops within a group, so that a burst of load from other processes falls on each in
 * turn; ratios are taken within a round.
 */
fun main(args: Array<String>) {
    val quick = "quick" in args
    val count = if (quick) 20_000 else 100_000
    val rounds = if (quick) 5 else 11
    val loadBefore = gcmLoadAverage()
    println("Machine: ${Runtime.getRuntime().availableProcessors()} cores, ${System.getProperty("java.vm.name")} ${System.getProperty("java.version")}, " +
        "load average (1/5/15 min) before: $loadBefore; $rounds rounds after $GCM_WARMUP warm-up per group, order rotating; median [min-max].")
    println()

    val groups = ArrayList<GcmGroup>()
    for (payload in listOf(104, 240, 1000)) {
        // Large datagrams: a fifth as many, so that the data set stays small.
        val n = if (payload > 200) count / 5 else count
        val bench = GcmBench(n, payload)
        bench.checkAll()
        groups += GcmGroup(
            "transport AES-256-GCM decrypt, ${payload + 36}-byte datagram (16-byte AAD, $payload-byte payload)", "packets",
            bench.loops.indices.map { i -> TimedCase(bench.loops[i], n) { bench.run(i) } },
        )
    }
    for ((senders, payload) in listOf(1 to 100, 10 to 100, 50 to 100)) {
        val bench = DaveGcmBench(count, senders, payload)
        bench.checkAll()
        groups += GcmGroup(
            "DAVE frame AES-128-GCM decrypt (8-byte tag), $payload-byte frames, $senders sender(s) interleaved", "frames",
            bench.loops.indices.map { i -> TimedCase(bench.loops[i], count) { bench.run(i) } },
        )
    }
    val speech = readOggResource("/audio/speech.opus").packets
    val daveFrames = DaveFrameBench(speech, 10, count)
    groups += GcmGroup(
        "DAVE receive path per frame (trailer parse, windows, AES-GCM, re-assembly; fresh decryptors each round), " +
            "speech frames of %.0f B mean, 10 senders".format(daveFrames.meanPlainBytes), "frames",
        listOf(TimedCase("DaveDecryptor.decrypt (new GcmCore)", count) { daveFrames.decryptAll() }),
    )

    val tableRows = ArrayList<String>()
    val ratioRows = ArrayList<String>()
    for (g in groups) {
        val samples = g.measure(rounds)
        for ((case, s) in g.cases.zip(samples)) {
            val rates = s.map { it.rate }.sorted()
            val alloc = s.map { it.bytesPerOp }.sorted()
            val median = rates[rates.size / 2]
            tableRows += "| ${g.name} | ${case.name} | %,.0f ${g.unit}/s | %,.0f-%,.0f | %.0f [%.0f-%.0f] | %.1f |".format(
                median, rates.first(), rates.last(), 1e9 / median, 1e9 / rates.last(), 1e9 / rates.first(), alloc[alloc.size / 2])
            System.err.println(tableRows.last())
        }
        // Every case against the group's first, the shipped path.
        for (j in 1 until g.cases.size) {
            ratioRows += gcmRatio("${g.name}: ${g.cases[0].name} / ${g.cases[j].name} (rate)", samples[0], samples[j])
        }
    }
    val loadAfter = gcmLoadAverage()

    println("| group | loop | rate (median) | spread | ns per op (1 / rate), median [min-max] | bytes allocated per op |")
    println("|---|---|---|---|---|---|")
    tableRows.forEach(::println)
    println()
    println("Ratios (per round, median [min-max]; above 1 means the first is faster):")
    ratioRows.forEach(::println)
    println()
    println("Load average (1/5/15 min) after: $loadAfter")
}

private const val GCM_WARMUP = 3

private class GcmGroup(val name: String, val unit: String, val cases: List<TimedCase>) {
    fun measure(rounds: Int): List<List<TimedSample>> {
        repeat(GCM_WARMUP) { cases.forEach { it.once() } }
        val samples = cases.map { ArrayList<TimedSample>() }
        repeat(rounds) { round ->
            for (k in cases.indices) {
                val j = (k + round) % cases.size
                samples[j] += cases[j].once()
            }
        }
        return samples
    }
}

private fun gcmRatio(name: String, a: List<TimedSample>, b: List<TimedSample>): String {
    val r = a.indices.map { a[it].rate / b[it].rate }.sorted()
    return "- $name: %.3fx [%.3f-%.3f]".format(r[r.size / 2], r.first(), r.last())
}

private fun gcmLoadAverage(): String =
    runCatching { File("/proc/loadavg").readText().split(' ').take(3).joinToString(" / ") }.getOrDefault("n/a")
