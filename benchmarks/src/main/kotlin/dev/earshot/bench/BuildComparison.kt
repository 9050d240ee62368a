package dev.earshot.bench

import dev.earshot.voice.VoiceReceiver
import dev.earshot.voice.codec.PcmFormat
import dev.earshot.voice.crypto.EncryptionMode
import dev.earshot.voice.dave.DaveFrameBench
import dev.earshot.voice.testing.readOggResource
import java.io.File
import java.net.URLClassLoader

/**
 * Compares two builds of voice-core on one receive scenario, side by side in one JVM: the build on this classpath
 * ("new") and the classes given as `base=<directory or jar>` ("base", for example a copy of `voice-core/target/classes`
 * made before a change). Each build runs in a class loader of its own with the rest of this classpath, and the two
 * run in alternating rounds (base new, new base, ...), so a change of the machine's speed during the run hits both
 * alike; the ratio is taken per round. On the shared machine this project is measured on, one scenario's rate moved
 * by up to four times within one run, far more than the changes being measured.
 *
 * Usage: `java -Xms1g -Xmx1g -XX:+UseParallelGC -cp <benchmarks classpath> dev.earshot.bench.BuildComparisonKt
 * base=/tmp/base-core [case=passthrough] [rounds=20]`, with the JVM flags of the forked harnesses: without them the
 * heap grows as it goes and allocation pays for touching new pages (BENCHMARKS.md). Cases: `passthrough` (50
 * speakers, AES-GCM), `passthrough-xchacha`, `dave` (passthrough with DAVE), `dave-bare` (the DAVE decryptor alone
 * on 50 senders' frames), `gcm-bare` (the default AES-GCM transport cipher alone on the passthrough's datagrams),
 * `full48` and `full16` (10 speakers decoded by Concentus at 48 kHz stereo or 16 kHz mono). The two builds must agree on what the scenario calls
 * (`VoiceReceiver`, `ReceiveConfig` and the test helpers).
 */
fun main(args: Array<String>) {
    fun arg(name: String): String? = args.firstOrNull { it.startsWith("$name=") }?.substringAfter('=')
    val base = File(requireNotNull(arg("base")) { "base=<voice-core classes of the build to compare with> is required" })
    require(base.exists()) { "no such file: $base" }
    val case = arg("case") ?: "passthrough"
    val rounds = arg("rounds")?.toInt() ?: 20
    val ownCore = File(VoiceReceiver::class.java.protectionDomain.codeSource.location.toURI())
    val rest = System.getProperty("java.class.path").split(File.pathSeparator).map(::File).filter { it.absoluteFile != ownCore.absoluteFile }
    check(rest.size < System.getProperty("java.class.path").split(File.pathSeparator).size) { "voice-core ($ownCore) is not on the classpath" }

    fun build(core: File): Runnable {
        val loader = URLClassLoader((listOf(core) + rest).map { it.toURI().toURL() }.toTypedArray(), ClassLoader.getPlatformClassLoader())
        return loader.loadClass("dev.earshot.bench.BuildComparisonKt").getMethod("comparisonCase", String::class.java)
            .invoke(null, case) as Runnable
    }
    val runs = listOf(build(base), build(ownCore))
    val units = caseUnits(case)
    println("Comparing $case: base $base against $ownCore; ${Runtime.getRuntime().availableProcessors()} cores, load ${loadAverage()}, " +
        "${System.getProperty("java.vm.name")} ${System.getProperty("java.version")}")
    repeat(2) { runs.forEach { it.run() } }
    val rates = List(2) { DoubleArray(rounds) }
    for (round in 0 until rounds) {
        val order = if (round % 2 == 0) listOf(0, 1) else listOf(1, 0)
        for (i in order) {
            val t0 = System.nanoTime()
            runs[i].run()
            rates[i][round] = units / ((System.nanoTime() - t0) / 1e9)
        }
    }
    fun spread(v: DoubleArray) = v.sorted().let { "%,.0f [%,.0f-%,.0f]".format(it[it.size / 2], it.first(), it.last()) }
    println("| build | $case (units/s, median [min-max] of $rounds rounds) |")
    println("|---|---|")
    println("| base | ${spread(rates[0])} |")
    println("| new | ${spread(rates[1])} |")
    val ratios = DoubleArray(rounds) { rates[1][it] / rates[0][it] }.sorted()
    println("new / base per round: %.3fx [%.3f-%.3f]; load after: ${loadAverage()}".format(ratios[rounds / 2], ratios.first(), ratios.last()))
}

private fun caseUnits(case: String): Int = when (case) {
    "passthrough", "passthrough-xchacha", "dave", "dave-bare", "gcm-bare" -> PASS_PACKETS
    "full48", "full16" -> FULL_PACKETS
    else -> throw IllegalArgumentException("unknown case $case")
}

/** The scenario [case] of this class loader's build, ready to run once per call. */
fun comparisonCase(case: String): Runnable {
    val speech = readOggResource("/audio/speech.opus").packets
    val gcm = EncryptionMode.AEAD_AES256_GCM_RTPSIZE
    if (case == "dave-bare") {
        val frames = DaveFrameBench(speech, 50, PASS_PACKETS)
        return Runnable { peerSink += frames.decryptAll() }
    }
    if (case == "gcm-bare") {
        val datagrams = Scenario(speech, 50, PASS_PACKETS, gcm, null).datagrams
        val jdk = bareCipherCases(gcm, "AES-GCM", datagrams, speech, 50).single { "JDK)" in it.name }
        return Runnable { jdk.body() }
    }
    val s = when (case) {
        "passthrough" -> Scenario(speech, 50, PASS_PACKETS, gcm, null)
        "passthrough-xchacha" -> Scenario(speech, 50, PASS_PACKETS, EncryptionMode.AEAD_XCHACHA20_POLY1305_RTPSIZE, null)
        "dave" -> Scenario(speech, 50, PASS_PACKETS, gcm, null, dave = true)
        "full48" -> Scenario(speech, 10, FULL_PACKETS, gcm, PcmFormat.STEREO_48K)
        "full16" -> Scenario(speech, 10, FULL_PACKETS, gcm, PcmFormat.MONO_16K)
        else -> throw IllegalArgumentException("unknown case $case")
    }
    return Runnable { s.run() }
}

private const val PASS_PACKETS = 200_000
private const val FULL_PACKETS = 20_000
