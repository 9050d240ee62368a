package dev.earshot.bench

import dev.earshot.voice.dave.DaveFrameBench
import dev.earshot.voice.testing.readOggResource

/**
 * Prints DAVE (E2EE) frame-layer figures as a Markdown table: frame decryptions and encryptions per second on one
 * core, and bytes allocated per frame. Frames are the speech fixture's Opus packets, encrypted by Earshot's DAVE
 * encryptor before measuring (AES-128-GCM, 8-byte tag, ULEB128 nonce trailer); decryption runs the whole receive
 * path: trailer parse, replay and generation windows, GCM with the tag check, re-assembly.
 *
 * Usage, from the repository root (add `-Dbench.args=quick` for a short run):
 * ```
 * mvn -B -q -o -Pbench -pl voice-core,benchmarks verify -DskipTests -Dbench.main=dev.earshot.bench.DaveBenchmarkKt
 * ```
 * Like ReceiveBenchmark, each pair of cases runs in its own JVM, the two sides alternating round by round.
 */
fun main(args: Array<String>) {
    val quick = "quick" in args
    val pairArg = args.firstOrNull { it.startsWith("pair=") }?.removePrefix("pair=")?.toInt()
    if (pairArg != null) {
        runPair(pairArg, quick)
        return
    }
    val results = (0 until PAIRS).map { forkPair("dev.earshot.bench.DaveBenchmarkKt", it, quick) }
    println()
    println("Machine: ${Runtime.getRuntime().availableProcessors()} cores, ${System.getProperty("java.vm.name")} ${System.getProperty("java.version")}; " +
        "each pair in its own JVM, $ROUNDS rounds after $WARMUP warm-up, the two sides in alternating rounds; median [min-max].")
    println()
    println("| case | rate (median) | spread | bytes allocated per frame |")
    println("|---|---|---|---|")
    results.flatMap { it.first }.forEach(::println)
    println()
    println("Ratios from this run (per round, median [min-max]):")
    results.flatMap { it.second }.forEach(::println)
}

private const val PAIRS = 2
private const val WARMUP = 2
private const val ROUNDS = 6

private fun runPair(index: Int, quick: Boolean) {
    val speech = readOggResource("/audio/speech.opus").packets
    val count = if (quick) 40_000 else 200_000
    val rows = ArrayList<String>()
    val ratios = ArrayList<String>()

    fun pair(a: TimedCase, b: TimedCase, ratioName: String) {
        repeat(WARMUP) { a.once(); b.once() }
        val ra = ArrayList<TimedSample>()
        val rb = ArrayList<TimedSample>()
        repeat(ROUNDS) { round ->
            if (round % 2 == 0) { ra += a.once(); rb += b.once() } else { rb += b.once(); ra += a.once() }
        }
        val perRound = ra.indices.map { rb[it].rate / ra[it].rate }.sorted()
        rows += row(a, ra); rows += row(b, rb)
        ratios += "- $ratioName: %.3fx [%.3f-%.3f]".format(perRound[perRound.size / 2], perRound.first(), perRound.last())
        System.err.println(rows[rows.size - 2]); System.err.println(rows.last()); System.err.println(ratios.last())
    }

    val one = DaveFrameBench(speech, 1, count)
    val ten = DaveFrameBench(speech, 10, count)
    val size = "speech frames, mean %.0f B".format(one.meanPlainBytes)
    when (index) {
        0 -> pair(
            TimedCase("DAVE decrypt, 10 senders interleaved ($size)", count) { ten.decryptAll() },
            TimedCase("DAVE encrypt, 1 sender ($size)", count) { one.encryptAll() },
            "encrypt / decrypt",
        )
        1 -> pair(
            TimedCase("DAVE decrypt, 1 sender ($size)", count) { one.decryptAll() },
            TimedCase("DAVE decrypt, 10 senders interleaved ($size)", count) { ten.decryptAll() },
            "10 senders / 1 sender (decrypt)",
        )
    }
    rows.forEach(::println)
    ratios.forEach(::println)
}

/** A Markdown row of [case]'s [samples]: median rate, spread and allocation per frame. */
private fun row(case: TimedCase, samples: List<TimedSample>): String {
    val rates = samples.map { it.rate }.sorted()
    val allocs = samples.map { it.bytesPerOp }.sorted()
    return "| ${case.name} | %,.0f frames/s | %,.0f-%,.0f | %.0f |".format(rates[rates.size / 2], rates.first(), rates.last(), allocs[allocs.size / 2])
}
