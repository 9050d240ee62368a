package dev.earshot.bench

import dev.earshot.voice.ReceiveConfig
import dev.earshot.voice.codec.PcmFormat
import dev.earshot.voice.connection.VoiceConnection
import dev.earshot.voice.connection.VoiceConnectionConfig
import dev.earshot.voice.manager.MainGatewayLink
import dev.earshot.voice.manager.VoiceManager
import dev.earshot.voice.model.VoiceTick
import dev.earshot.voice.sink.AudioSink
import dev.earshot.voice.model.AudioFrame
import dev.earshot.voice.sink.VoiceUser
import dev.earshot.voice.testkit.MemberScript
import dev.earshot.voice.testkit.StallProbe
import dev.earshot.voice.testkit.TestServerConfig
import dev.earshot.voice.testkit.VoiceTestServer
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitAll
import kotlinx.coroutines.delay
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.sync.Semaphore
import kotlinx.coroutines.sync.withPermit
import kotlinx.coroutines.withTimeout
import java.lang.management.ManagementFactory
import java.util.concurrent.atomic.AtomicLong
import kotlin.time.Duration.Companion.minutes
import kotlin.time.Duration.Companion.seconds

/**
 * Many receiving connections in one JVM: `connections=N` (default 200) Earshot connections, each in its own guild on
 * the voice testkit (run in a child JVM, so its state and CPU are not counted), joined through [VoiceManager] with
 * the testkit playing Discord's main gateway, DAVE on, one silent member per channel and `speaking=K` (default 5)
 * channels with a talking member. Prints the retained heap (after GC) and threads per connection, and the CPU per
 * speaking user. Run: `mvn -B -q -Pbench -pl benchmarks -am verify -DskipTests
 * -Dbench.main=dev.earshot.bench.ConnectionsBenchmarkKt -Dbench.args="connections=200 speaking=5"`.
 */
fun main(args: Array<String>) {
    if (args.firstOrNull() == "server") return serverMain(args)
    val opts = args.mapNotNull { a -> a.split('=', limit = 2).takeIf { it.size == 2 }?.let { it[0] to it[1] } }.toMap()
    val n = opts["connections"]?.toInt() ?: 200
    val speaking = opts["speaking"]?.toInt() ?: 5
    runBlocking { ConnectionsBench(n, speaking).run() }
}

private const val BOT = 999L
private const val GUILD0 = 5000L
private const val CHANNEL0 = 900_000L

private class Grant(val guild: Long, val channel: Long, val session: String, val token: String, val endpoint: String)

/** Counts frames; the work a real per-user sink would start from, without files. */
private class CountingSink(val frames: AtomicLong) : AudioSink {
    override suspend fun write(user: VoiceUser?, data: AudioFrame) {
        frames.incrementAndGet()
    }

    override suspend fun onTick(tick: VoiceTick) {
        frames.addAndGet(tick.speaking.size.toLong())
    }
}

private class ConnectionsBench(val n: Int, val speaking: Int) {
    private val mx = ManagementFactory.getMemoryMXBean()
    private val threads = ManagementFactory.getThreadMXBean()
    private val os = ManagementFactory.getOperatingSystemMXBean() as com.sun.management.OperatingSystemMXBean

    suspend fun run() {
        val java = ProcessHandle.current().info().command().orElse("java")
        val server = ProcessBuilder(java, "-Xmx2g", "-XX:+UseParallelGC", "-cp", System.getProperty("java.class.path"),
            "dev.earshot.bench.ConnectionsBenchmarkKt", "server", "$n", "$speaking")
            .redirectError(ProcessBuilder.Redirect.INHERIT).start()
        val toServer = server.outputStream.bufferedWriter()
        val fromServer = server.inputStream.bufferedReader()
        val grants = HashMap<Long, Grant>()
        while (true) {
            val line = fromServer.readLine() ?: error("the server process ended")
            if (line == "ready") break
            val p = line.split(' ')
            if (p[0] == "grant") grants[p[1].toLong()] = Grant(p[1].toLong(), p[2].toLong(), p[3], p[4], p[5])
        }
        val scope = CoroutineScope(SupervisorJob() + Dispatchers.Default)
        val baseHeap = retainedHeap()
        val baseThreads = threads.threadCount
        lateinit var manager: VoiceManager
        // The testkit plays Discord's main gateway: op 4 is answered with the bot's voice state and the server update.
        val link = MainGatewayLink { guildId, channelId, _, _ ->
            val g = grants.getValue(guildId)
            if (channelId != null) scope.launch {
                manager.onVoiceStateUpdate(guildId, BOT, channelId, g.session)
                manager.onVoiceServerUpdate(guildId, g.token, g.endpoint)
            }
        }
        // The testkit speaks plain ws:// (no TLS) on loopback.
        val config = VoiceConnectionConfig { secure = false; receive = ReceiveConfig { decode = PcmFormat.STEREO_48K } }
        manager = VoiceManager(BOT, link, scope, joinTimeout = 60.seconds, defaultConfig = config)
        val frames = HashMap<Long, AtomicLong>()
        val t0 = System.nanoTime()
        val gate = Semaphore(16)
        val connections: List<VoiceConnection> = coroutineScopeAll(grants.values.sortedBy { it.guild }) { g ->
            gate.withPermit {
                val c = manager.connect(g.guild, g.channel)
                val counter = AtomicLong()
                synchronized(frames) { frames[g.guild] = counter }
                c.listen(CountingSink(counter))
                c
            }
        }
        val connectMs = (System.nanoTime() - t0) / 1_000_000
        withTimeout(5.minutes) { while (connections.any { it.dave?.privacyCode == null }) delay(200) }
        val daveMs = (System.nanoTime() - t0) / 1_000_000
        delay(3.seconds)
        val heap = retainedHeap()
        // The full collections just made stop every clock for a few hundred milliseconds; let them catch up before
        // counting, or each connection's catch-up is counted as about 15 late ticks of the silent phase.
        delay(2.seconds)
        val threadCount = threads.threadCount
        val late0 = connections.sumOf { it.receiver.stats().lateTicks }
        // The machine's own stalls over the same interval, to read the late ticks against.
        val probe = StallProbe.start()
        // CPU with everyone silent, then with the speakers talking.
        val silentCpu = cpuOver(10)
        val lateSilent = connections.sumOf { it.receiver.stats().lateTicks } - late0
        val stallsSilent = probe.toString()
        toServer.write("speak\n")
        toServer.flush()
        val speakingGuilds = (0 until speaking).map { GUILD0 + it }
        withTimeout(60.seconds) { while (speakingGuilds.any { frames.getValue(it).get() < 100 }) delay(50) }
        val framesBefore = speakingGuilds.sumOf { frames.getValue(it).get() }
        val speakingCpu = cpuOver(10)
        val framesDuring = speakingGuilds.sumOf { frames.getValue(it).get() } - framesBefore
        val late = connections.sumOf { it.receiver.stats().lateTicks } - late0
        probe.close()
        val names = threads.getThreadInfo(threads.allThreadIds).filterNotNull().groupingBy { it.threadName.replace(Regex("[-#]?\\d+$"), "") }.eachCount()

        println("| connections | speaking | connect all (ms) | DAVE in all (ms) | retained heap per connection | threads (before / after) | threads per connection | CPU all silent (% of a core) | CPU per speaking user (% of a core) | frames received while speaking | late ticks (silent + speaking) | machine stalls (probe; silent, all) | load |")
        println("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        println("| $n | $speaking | $connectMs | $daveMs | %.0f KiB | $baseThreads / $threadCount | %.2f | %.1f | %.2f | $framesDuring | $lateSilent + ${late - lateSilent} | $stallsSilent; $probe | %s |".format(
            (heap - baseHeap) / 1024.0 / n, (threadCount - baseThreads).toDouble() / n, silentCpu,
            (speakingCpu - silentCpu) / speaking, loadAverage(),
        ))
        println("- threads by name: " + names.entries.sortedByDescending { it.value }.joinToString { "${it.key} x${it.value}" })
        manager.close()
        toServer.write("quit\n")
        toServer.flush()
        server.waitFor()
        scope.coroutineContext[kotlinx.coroutines.Job]?.cancel()
    }

    private suspend fun <T, R> coroutineScopeAll(items: List<T>, f: suspend (T) -> R): List<R> =
        kotlinx.coroutines.coroutineScope { items.map { async { f(it) } }.awaitAll() }

    /** Heap in use after full collections (what is retained). */
    private fun retainedHeap(): Long {
        repeat(3) { System.gc() }
        return mx.heapMemoryUsage.used
    }

    /** This process's CPU over [seconds] s, in percent of one core. */
    private suspend fun cpuOver(seconds: Int): Double {
        val c0 = os.processCpuTime
        val w0 = System.nanoTime()
        delay(seconds.seconds)
        return 100.0 * (os.processCpuTime - c0) / (System.nanoTime() - w0)
    }

    private fun loadAverage(): String = "load %.1f on %d cores".format(os.systemLoadAverage, os.availableProcessors)
}

/** The child: the voice testkit with [n] channels (DAVE on, one silent member each); `speak` adds the talkers. */
private fun serverMain(args: Array<String>) {
    val n = args[1].toInt()
    val speaking = args[2].toInt()
    val server = VoiceTestServer.start(TestServerConfig(daveProtocolVersion = 1, seed = 1))
    for (i in 0 until n) {
        val guild = GUILD0 + i
        val channel = CHANNEL0 + i
        val g = server.grant(guild.toString(), channel.toString(), BOT.toString())
        println("grant $guild $channel ${g.sessionId} ${g.token} ${g.endpoint}")
        server.channel(guild.toString(), channel.toString()).addMember((100_000 + i).toString())
    }
    println("ready")
    System.out.flush()
    val input = System.`in`.bufferedReader()
    while (true) {
        when (input.readLine()) {
            "speak" -> for (i in 0 until speaking) {
                server.channel((GUILD0 + i).toString(), (CHANNEL0 + i).toString())
                    .addMember((200_000 + i).toString(), MemberScript { awaitDave(); tone(300.0 + 40 * i, 10.minutes) })
            }
            null, "quit" -> break
        }
    }
    server.close()
}
