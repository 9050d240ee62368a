package dev.earshot.bench

import dev.earshot.voice.ReceiveConfig
import dev.earshot.voice.codec.ConcentusDecoderFactory
import dev.earshot.voice.codec.OpusDecoderFactory
import dev.earshot.voice.codec.OpusDecoders
import dev.earshot.voice.codec.PcmFormat
import dev.earshot.voice.crypto.EncryptionMode
import dev.earshot.voice.crypto.TransportCipher
import dev.earshot.voice.dave.DaveFrameBench
import dev.earshot.voice.testing.FakeSpeaker
import dev.earshot.voice.testing.readOggResource
import java.lang.management.ManagementFactory

/**
 * Earshot against the discord.js stack and JDA, side by side in one run: bare decoders (native libopus, Concentus,
 * opusscript in node), the passthrough path against @discordjs/voice's `VoiceReceiver.parsePacket` and JDA's receive
 * loop body ([JdaReceiveLoop]) on the same datagrams (AES-GCM and XChaCha20), bare decryption loops of every cipher
 * implementation, passthrough with DAVE and the DAVE decryptor alone, the full path with each decoder and with the
 * default settings, JDA's loop with decode on the same libopus, bytes allocated per packet, then the real-time capacity
 * and latency of the whole pipeline per decoder ([runCapacity]) set against the bare decoders of the same run. Where a
 * target is a ratio to a peer, a "ceiling" line gives what a pipeline costing nothing beyond its bare parts (decoder,
 * cipher, DAVE decryptor) would reach in the same rounds.
 *
 * Each group runs in its own JVM (as JMH forks); within a group every case is measured in every round, the order
 * rotating from round to round, and ratios are taken per round (median [min-max]). The node cases run in a child
 * process that idles while the JVM cases run. JVM cases run on one thread (the pipeline in virtual time), so their
 * rates are per core; node is single-threaded too.
 *
 * Usage: `mvn -B -q -Pbench -pl benchmarks -am verify -DskipTests -Dbench.main=dev.earshot.bench.PeerBenchmarkKt`
 * (`-Dbench.args=quick` for a short run, `all` to add the one-decode-thread capacity searches). `group=N` or
 * `capacity=N` runs one fork in this JVM; `capacity=N speakers=M` runs five real-time steps of M speakers instead of
 * the search (CPU per packet at a fixed load, for before/after comparisons).
 */
fun main(args: Array<String>) {
    val quick = "quick" in args
    args.firstOrNull { it.startsWith("group=") }?.let { return runGroup(it.removePrefix("group=").toInt(), quick) }
    val fixed = args.firstOrNull { it.startsWith("speakers=") }?.removePrefix("speakers=")?.toInt()
    args.firstOrNull { it.startsWith("capacity=") }?.let { return runCapacity(it.removePrefix("capacity=").toInt(), quick, fixed) }

    val extra = if (quick) listOf("quick") else emptyList()
    val groups = (0 until GROUPS).map { forkJvm("dev.earshot.bench.PeerBenchmarkKt", listOf("group=$it") + extra) }
    // The one-decode-thread searches (for comparison with parallel decoding) only with `all`.
    val capacities = CAPACITY_CASES.indices.filter { "all" in args || CAPACITY_CASES[it].decodeThreads == null }
        .map { forkJvm("dev.earshot.bench.PeerBenchmarkKt", listOf("capacity=$it") + extra) }
    val all = groups + capacities
    println()
    println("Machine: ${Runtime.getRuntime().availableProcessors()} cores, ${System.getProperty("java.vm.name")} ${System.getProperty("java.version")}, " +
        "node ${nodeVersion()}; load average before/after: ${all.first().load} / ${all.last().load}; " +
        "$GROUP_ROUNDS rounds after $GROUP_WARMUP warm-up per group, order rotating; median [min-max].")
    for (g in groups) g.lines.filter { it.startsWith("H ") }.forEach { println(it.removePrefix("H ")) }
    println()
    println("| scenario | rate (median) | spread | bytes allocated per unit |")
    println("|---|---|---|---|")
    groups.flatMap { g -> g.lines.filter { it.startsWith("R|") } }.forEach { println(it.removePrefix("R")) }
    println()
    println("Ratios (per round, median [min-max]):")
    groups.flatMap { g -> g.lines.filter { it.startsWith("X ") } }.forEach { println(it.removePrefix("X ")) }
    println()
    println("Real-time capacity (one VoiceReceiver, system clock, default dispatchers):")
    println()
    println(CapacityRow.HEADER)
    capacities.flatMap { c -> c.lines.filter { it.startsWith("C|") } }.forEach { println(it.removePrefix("C")) }
    println()
    println("Real time against the bare decoder of this run. Two references: the group's bare row (each packet decoded on 10 decoders back to back) and")
    println("the bare decoder on the capacity step's own frames in its order (one decoder per speaker, each at its own point of the speech; `M` rows).")
    println("Bare decode time per frame = 1 / rate on one core; decode-bound limit = cores x 20 ms / that time.")
    println()
    println("| decoder | bare µs/frame: group row / step's frames [min-max] | real-time CPU µs/packet at capacity | CPU / bare (target <= 1.15x): group / step's frames | decode-bound limit: group / step's frames | capacity | capacity / limit (target >= 85 %): group / step's frames |")
    println("|---|---|---|---|---|---|---|")
    val bare = groups.flatMap { g -> g.lines.filter { it.startsWith("B|") } }.associate { l -> l.split('|').let { it[1] to it[2].toDouble() } }
    val matched = capacities.flatMap { c -> c.lines.filter { it.startsWith("M|") } }.associate { l -> l.split('|').let { it[1] to it.drop(2) } }
    val cores = Runtime.getRuntime().availableProcessors()
    for (line in capacities.flatMap { c -> c.lines.filter { it.startsWith("K|") } }) {
        val (label, cap, cpu) = line.split('|').drop(1)
        val rate = bare[label] ?: continue
        val bareMicros = 1e6 / rate
        val limit = cores * 20_000 / bareMicros
        val capN = cap.toDouble()
        val cpuD = cpu.toDoubleOrNull()
        val m = matched[label]
        val mMicros = m?.get(0)?.toDouble()
        val mLimit = mMicros?.let { cores * 20_000 / it }
        fun or(x: Double?, f: String) = x?.let { f.format(it) } ?: "-"
        val spread = m?.let { "%.1f-%.1f".format(it[1].toDouble(), it[2].toDouble()) } ?: "-"
        // Each value formatted on its own: a formatted percentage must not go through another format string.
        println(
            "| $label | ${"%.1f".format(bareMicros)} / ${or(mMicros, "%.1f")} [$spread] | ${or(cpuD, "%.1f")} | " +
                "${or(cpuD?.let { it / bareMicros }, "%.2fx")} / ${or(if (cpuD != null && mMicros != null) cpuD / mMicros else null, "%.2fx")} | " +
                "${"%.0f".format(limit)} / ${or(mLimit, "%.0f")} | $cap | ${"%.0f %%".format(100 * capN / limit)} / ${or(mLimit?.let { 100 * capN / it }, "%.0f %%")} |",
        )
    }
    println()
    println("Steps:")
    println()
    println(CapacityStep.HEADER)
    capacities.flatMap { c -> c.lines.filter { it.startsWith("S|") } }.forEach { println(it.removePrefix("S")) }
}

private const val GROUPS = 3
private const val GROUP_WARMUP = 2
private const val GROUP_ROUNDS = 6
private const val DECODERS = 10

/** One child JVM's printed lines and the load average when it ended. */
internal class Forked(val lines: List<String>, val load: String)

/** Runs [mainClass] with [args] in a child JVM with this class path (fresh JIT and GC state), echoing its stderr. */
internal fun forkJvm(mainClass: String, args: List<String>): Forked {
    val java = ProcessHandle.current().info().command().orElse("java")
    val cmd = listOf(java, "-Xms1g", "-Xmx1g", "-XX:+UseParallelGC", "-cp", System.getProperty("java.class.path"), mainClass) + args
    val process = ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start()
    val lines = process.inputStream.bufferedReader().readLines()
    check(process.waitFor() == 0) { "$mainClass $args failed" }
    return Forked(lines, loadAverage())
}

internal fun loadAverage(): String = "%.1f".format(ManagementFactory.getOperatingSystemMXBean().systemLoadAverage)

private fun nodeVersion(): String =
    runCatching { ProcessBuilder("node", "--version").start().inputStream.bufferedReader().readText().trim() }.getOrDefault("absent")

/** A measured case: [once] runs one round and returns units per second and bytes allocated per unit (null: not measured). */
private class PeerCase(val name: String, val unit: String, val once: () -> Pair<Double, Double?>)

/** A JVM case defined outside this file: [units] per run of [body]. */
internal class PeerCaseRef(val name: String, val unit: String, val units: Int, val body: () -> Unit)

private fun jvmCase(name: String, unit: String, units: Int, body: () -> Unit) = PeerCase(name, unit) {
    val a0 = allocated()
    val t0 = System.nanoTime()
    body()
    val t1 = System.nanoTime()
    val a1 = allocated()
    units / ((t1 - t0) / 1e9) to (a1 - a0).toDouble() / units
}

private fun nodeCase(name: String, unit: String, peer: NodePeer) = PeerCase(name, unit) { peer.round() to null }

private val threadBean = ManagementFactory.getThreadMXBean() as com.sun.management.ThreadMXBean

private fun allocated(): Long = threadBean.getThreadAllocatedBytes(Thread.currentThread().id)

private fun PcmFormat.label(): String = if (this == PcmFormat.STEREO_48K) "48 kHz stereo" else "16 kHz mono"

internal var peerSink = 0L

private fun runGroup(index: Int, quick: Boolean) {
    val speech = readOggResource("/audio/speech.opus").packets
    val scale = if (quick) 0.2 else 1.0
    val decodes = (20_000 * scale).toInt()
    val passPackets = (200_000 * scale).toInt()
    val node = NodePeer.unavailable
    if (node != null) System.err.println("discord.js rows left out: $node")
    val peers = ArrayList<NodePeer>()
    val cases = ArrayList<PeerCase>()
    // Ratios as (numerator case, denominator case, label).
    val ratios = ArrayList<Triple<Int, Int, String>>()
    // (with DAVE, without, bare DAVE decryptor) case indices, for the added cost per packet and its ceiling.
    var daveRatio: Triple<Int, Int, Int>? = null

    fun decodeGroup(format: PcmFormat) {
        val native = nativeFactory()
        val f = format.label()
        fun bare(name: String, factory: OpusDecoderFactory) =
            jvmCase("bare $name decode, $f, $DECODERS decoders", "frames/s", decodes) { bareDecodeWith(factory, speech, format, decodes) }
        fun full(name: String, factory: OpusDecoderFactory?): Pair<PeerCase, Scenario> {
            val s = Scenario(speech, DECODERS, decodes, EncryptionMode.AEAD_AES256_GCM_RTPSIZE, format, factory)
            return jvmCase("full path (AES-GCM, $name decode), $f, $DECODERS speakers", "packets/s", decodes) { s.run() } to s
        }
        cases += bare("Concentus", ConcentusDecoderFactory)
        cases += bare("native libopus", native)
        cases += full("Concentus", ConcentusDecoderFactory).first
        cases += full("native libopus", native).first
        // ReceiveConfig's default decoder factory (nothing set); what it chose is printed with the results.
        cases += full("default settings", null).first
        if (format == PcmFormat.STEREO_48K) println("H Default settings decode with ${ReceiveConfig {}.decoderFactory} = ${OpusDecoders.nativeOrConcentus()}.")
        ratios += Triple(1, 0, "bare native libopus / bare Concentus, $f")
        ratios += Triple(2, 0, "full path / bare decode, Concentus, $f (pipeline overhead = 1/ratio - 1)")
        ratios += Triple(3, 1, "full path / bare decode, native libopus, $f (target >= 0.9x)")
        if (format == PcmFormat.STEREO_48K) {
            // JDA decodes 48 kHz stereo only, on opus-java's binding pointed at the libopus the native rows use.
            val lib = jdaLibopus
            if (lib != null) {
                // JDA 6.5.0 does not strip the encrypted header-extension body, so it would hand libopus the extension
                // bytes in front of each Opus packet; its decode row gets the same packets without the extension.
                val fakes = List(DECODERS) { FakeSpeaker(1000L + it, FakeSpeaker.key(7), EncryptionMode.AEAD_AES256_GCM_RTPSIZE, sequence = it * 1000, timestamp = it * 100_000L) }
                val datagrams = Array(decodes) { i -> fakes[i % DECODERS].datagram(speech[(i / DECODERS) % speech.size], withExtension = false) }
                val ssrcs = LongArray(DECODERS) { 1000L + it }
                checkJda(EncryptionMode.AEAD_AES256_GCM_RTPSIZE, datagrams, ssrcs, speech, decodeWith = native)
                val jda = JdaReceiveLoop(EncryptionMode.AEAD_AES256_GCM_RTPSIZE, FakeSpeaker.key(7), ssrcs, decode = true)
                val jdaIndex = cases.size
                cases += jvmCase("JDA $jdaVersion receive loop + decode (AES-GCM, its Decoder on the same libopus; datagrams without extension), $f, $DECODERS speakers", "packets/s", decodes) {
                    var sum = 0L
                    for (d in datagrams) sum += jda.handleFast(d)
                    peerSink += sum
                }
                ratios += Triple(3, jdaIndex, "full path native libopus / JDA receive loop + decode, $f (target >= 1.2x)")
                // What the full path would reach if the pipeline cost nothing: it cannot decode faster than the decoder.
                ratios += Triple(1, jdaIndex, "ceiling of that ratio: bare native libopus / JDA receive loop + decode, $f")
                println("H JDA decodes with opus-java's binding on $lib, the library of the native libopus rows (${native.version}).")
            } else {
                System.err.println("JDA decode row left out: no library path in ${native.source}")
            }
        }
        if (node == null) {
            val file = NodePeer.writeRecords(speech)
            val peer = NodePeer.start("opusscript $f", "decode", file.path, "${format.sampleRate}", "${format.channels}", "$decodes")
            peers += peer
            val o = cases.size
            cases += nodeCase("bare opusscript 0.1.1 decode (node), $f, 1 decoder (see notes)", "frames/s", peer)
            ratios += Triple(1, o, "bare native libopus / bare opusscript, $f")
            ratios += Triple(0, o, "bare Concentus / bare opusscript, $f")
            ratios += Triple(3, o, "full path native libopus / bare opusscript, $f (target >= 1.3x)")
            ratios += Triple(2, o, "full path Concentus / bare opusscript, $f")
            ratios += Triple(4, o, "full path with default settings / bare opusscript, $f (target >= 1.0x)")
        }
    }

    fun passGroup() {
        val speakers = 50
        val gcm = EncryptionMode.AEAD_AES256_GCM_RTPSIZE
        for (mode in listOf(gcm, EncryptionMode.AEAD_XCHACHA20_POLY1305_RTPSIZE)) {
            val cipher = if (mode == gcm) "AES-GCM" else "XChaCha20"
            val s = Scenario(speech, speakers, passPackets, mode, null)
            val mine = cases.size
            cases += jvmCase("Earshot passthrough (parse + $cipher + reorder, pipeline), $speakers speakers", "packets/s", passPackets) { s.run() }
            val ssrcs = LongArray(speakers) { 1000L + it }
            checkJda(mode, s.datagrams, ssrcs, speech, decodeWith = null)
            val jda = JdaReceiveLoop(mode, FakeSpeaker.key(7), ssrcs, decode = false)
            cases += jvmCase("JDA $jdaVersion receive loop (parse + $cipher + Opus copy), $speakers speakers", "packets/s", passPackets) {
                var sum = 0L
                for (d in s.datagrams) sum += jda.handleFast(d)
                peerSink += sum
            }
            ratios += Triple(mine, mine + 1, "Earshot passthrough / JDA receive loop, $cipher (target >= 1.5x)")
            // Bare decryption loops over the same datagrams: each implementation the library can choose from.
            val bareStart = cases.size
            val bare = bareCipherCases(mode, cipher, s.datagrams, speech, speakers).map { jvmCase(it.name, it.unit, it.units, it.body) }
            cases += bare
            for (k in bare.indices) ratios += Triple(mine, bareStart + k, "Earshot passthrough / ${bare[k].name.substringBefore(",")}")
            // What passthrough would reach against JDA if the pipeline around the default cipher cost nothing.
            val default = TransportCipher.create(mode, FakeSpeaker.key(7)).toString()
            val defaultBare = bare.indexOfFirst { default in it.name }
            if (defaultBare >= 0) ratios += Triple(bareStart + defaultBare, mine + 1, "ceiling of passthrough / JDA, $cipher: bare loop of the default cipher ($default) / JDA receive loop")
            if (mode == gcm) {
                val dave = Scenario(speech, speakers, passPackets, mode, null, dave = true)
                val d = cases.size
                cases += jvmCase("Earshot passthrough + DAVE decrypt (AES-GCM, one DAVE decryptor per user), $speakers speakers", "packets/s", passPackets) { dave.run() }
                ratios += Triple(d, mine, "passthrough with DAVE / without (target >= 0.6x)")
                // The DAVE decryptor alone on the same 50 senders' frames (fresh decryptors each round, as the pipeline's).
                val frames = DaveFrameBench(speech, speakers, passPackets)
                val bareDave = cases.size
                cases += jvmCase("bare DAVE decryptor, $speakers senders interleaved (speech frames, mean %.0f B)".format(frames.meanPlainBytes), "frames/s", passPackets) {
                    peerSink += frames.decryptAll()
                }
                daveRatio = Triple(d, mine, bareDave)
            }
            if (node == null) {
                val datagrams = NodePeer.writeRecords(s.datagrams.toList())
                val expected = NodePeer.writeRecords(List(s.datagrams.size) { speech[(it / speakers) % speech.size] })
                val key = FakeSpeaker.key(7).joinToString("") { "%02x".format(it) }
                val peer = NodePeer.start("parsePacket $cipher", "parse", datagrams.path, mode.wireName, key, expected.path)
                peers += peer
                val n = cases.size
                cases += nodeCase("@discordjs/voice 0.19.2 VoiceReceiver.parsePacket (node), $cipher", "packets/s", peer)
                ratios += Triple(mine, n, "Earshot passthrough / parsePacket, $cipher (target >= ${if (mode == gcm) 8 else 5}x)")
            }
        }
    }

    when (index) {
        0 -> decodeGroup(PcmFormat.STEREO_48K)
        1 -> decodeGroup(PcmFormat.MONO_16K)
        2 -> passGroup()
    }
    if (index == 2 && node == null) println("H XChaCha20 in node is @noble/ciphers 1.3.0 (the first library @discordjs/voice finds here); AES-GCM is node:crypto.")

    try {
        repeat(GROUP_WARMUP) { cases.forEach { it.once() } }
        val rates = List(cases.size) { ArrayList<Double>() }
        val allocs = List(cases.size) { ArrayList<Double>() }
        repeat(GROUP_ROUNDS) { round ->
            for (k in cases.indices) {
                val i = (k + round) % cases.size
                val (rate, alloc) = cases[i].once()
                rates[i] += rate
                if (alloc != null) allocs[i] += alloc
            }
        }
        for (i in cases.indices) {
            val r = rates[i].sorted()
            val a = allocs[i].sorted()
            val alloc = if (a.isEmpty()) "n/a" else "%.0f".format(a[a.size / 2])
            println("R| ${cases[i].name} | %,.0f ${cases[i].unit} | %,.0f-%,.0f | $alloc |".format(r[r.size / 2], r.first(), r.last()))
        }
        for (i in cases.indices) {
            val m = Regex("^bare (Concentus|native libopus) decode, (.*), $DECODERS decoders$").find(cases[i].name) ?: continue
            val r = rates[i].sorted()
            println("B|${m.groupValues[1]}, ${m.groupValues[2]}|${r[r.size / 2]}")
        }
        for ((num, den, label) in ratios) {
            val per = rates[num].indices.map { rates[num][it] / rates[den][it] }.sorted()
            println("X - $label: %.3fx [%.3f-%.3f]".format(per[per.size / 2], per.first(), per.last()))
        }
        daveRatio?.let { (d, p, b) ->
            val added = rates[d].indices.map { 1e9 / rates[d][it] - 1e9 / rates[p][it] }.sorted()
            println("X - DAVE added cost per packet, 1/rate with - 1/rate without (target <= 700 ns): %.0f ns [%.0f-%.0f]".format(added[added.size / 2], added.first(), added.last()))
            val bare = rates[b].map { 1e9 / it }.sorted()
            println("X - bare DAVE decryptor time per frame, 1/rate: %.0f ns [%.0f-%.0f]".format(bare[bare.size / 2], bare.first(), bare.last()))
            // If DAVE added only its decryptor's own time: 1/rate with = 1/rate without + 1/rate bare.
            val ceiling = rates[p].indices.map { rates[b][it] / (rates[b][it] + rates[p][it]) }.sorted()
            println("X - ceiling of passthrough with DAVE / without: bare decryptor added to passthrough, rate bare / (rate bare + rate without): %.3fx [%.3f-%.3f]".format(ceiling[ceiling.size / 2], ceiling.first(), ceiling.last()))
            val a = allocs[d].indices.map { allocs[d][it] - allocs[p][it] }.sorted()
            println("X - DAVE added allocation per packet (the DAVE decryptors are made afresh each round): %.0f B".format(a[a.size / 2]))
        }
    } finally {
        peers.forEach { it.close() }
    }
    System.err.println("group $index done (load ${loadAverage()}), sink $peerSink")
}
