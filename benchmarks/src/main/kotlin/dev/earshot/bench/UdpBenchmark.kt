package dev.earshot.bench

import dev.earshot.voice.base.VoiceConstants
import dev.earshot.voice.datagram.DatagramSource
import dev.earshot.voice.udp.SwitchableDatagramSource
import dev.earshot.voice.udp.UdpSocket
import io.ktor.network.selector.SelectorManager
import io.ktor.network.sockets.BoundDatagramSocket
import io.ktor.network.sockets.aSocket
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeoutOrNull
import java.lang.management.ManagementFactory
import java.net.InetSocketAddress
import java.nio.ByteBuffer
import java.nio.channels.DatagramChannel
import java.util.concurrent.locks.LockSupport
import kotlin.time.Duration.Companion.milliseconds

/**
 * Prints UDP receive figures over loopback as a Markdown table: datagrams per second, receive-side CPU time and
 * bytes allocated per datagram, for ktor-network's UDP socket and for Earshot's NIO [UdpSocket] (bare, and behind the
 * [SwitchableDatagramSource] a voice connection reads through).
 *
 * A sender thread blasts 200-byte datagrams (a blocking `DatagramChannel` writing one reused direct buffer) at the
 * receiver for the whole round. The receiver, in `runBlocking` on the main thread, takes [UdpCase.count] datagrams and
 * copies each into a 2048-byte array ([VoiceConstants.MAX_DATAGRAM]), as the pipeline's reader does. CPU time and
 * allocation are summed over every JVM thread except the sender, so selector threads count too (GC threads are not
 * Java threads and are not counted). When the receiver keeps up, its rate is the sender's; the loss column and the
 * CPU time per datagram tell the two apart.
 *
 * Usage, from the repository root (the second command prints the table; add `quick` after the class name for a short run):
 * ```
 * mvn -B -q -o install -DskipTests -pl benchmarks -am
 * mvn -B -q -o -pl benchmarks exec:exec -Dexec.executable=java \
 *   -Dexec.args="-Xms1g -Xmx1g -XX:+UseParallelGC -cp %classpath dev.earshot.bench.UdpBenchmarkKt"
 * ```
 * Like [main] in ReceiveBenchmark, each pair of cases runs in its own JVM, the two sides alternating round by round.
 * The third pair paces the sender at [PACED_RATE] datagrams/s, which both receivers keep up with: there the rate is
 * the sender's, and CPU time and allocation per datagram include suspending and waking for every datagram, as at
 * voice rates (a connection receives 50 datagrams/s per speaker).
 */
fun main(args: Array<String>) {
    val quick = "quick" in args
    val pairArg = args.firstOrNull { it.startsWith("pair=") }?.removePrefix("pair=")?.toInt()
    if (pairArg != null) {
        runPair(pairArg, quick)
        return
    }
    val results = (0 until PAIRS).map { forkPair("dev.earshot.bench.UdpBenchmarkKt", it, quick) }
    println()
    println("Machine: ${Runtime.getRuntime().availableProcessors()} cores, ${System.getProperty("java.vm.name")} ${System.getProperty("java.version")}; " +
        "each pair in its own JVM, $ROUNDS rounds after $WARMUP warm-up, the two sides in alternating rounds; median [min-max].")
    println()
    println("| receiver | datagrams/s (median) | spread | receive CPU ns/datagram | bytes allocated/datagram | loss |")
    println("|---|---|---|---|---|---|")
    results.flatMap { it.first }.forEach(::println)
    println()
    println("Ratios from this run (per round, median [min-max]):")
    results.flatMap { it.second }.forEach(::println)
}

private const val PAIRS = 3
/** Datagrams per second in the paced pair: voice-like traffic, where the reader suspends after nearly every one. */
private const val PACED_RATE = 5_000
private const val WARMUP = 2
private const val ROUNDS = 6
private const val PAYLOAD = 200

private fun runPair(index: Int, quick: Boolean) {
    val count = if (quick) 60_000 else 300_000
    val paced = if (quick) 2_000 else 10_000
    val (a, b, name) = when (index) {
        0 -> Triple(KtorCase(count), NioCase(count, switchable = false), "NIO UdpSocket / ktor-network")
        1 -> Triple(NioCase(count, switchable = false), NioCase(count, switchable = true), "through SwitchableDatagramSource / bare UdpSocket")
        2 -> Triple(KtorCase(paced, PACED_RATE), NioCase(paced, switchable = true, PACED_RATE), "paced, switchable UdpSocket / ktor-network")
        else -> error("no pair $index")
    }
    repeat(WARMUP) { a.once(); b.once() }
    val ra = ArrayList<UdpSample>()
    val rb = ArrayList<UdpSample>()
    repeat(ROUNDS) { round ->
        if (round % 2 == 0) { ra += a.once(); rb += b.once() } else { rb += b.once(); ra += a.once() }
    }
    a.close(); b.close()
    println(row(a.name, ra)); println(row(b.name, rb))
    fun ratio(label: String, f: (UdpSample) -> Double) {
        val r = ra.indices.map { f(rb[it]) / f(ra[it]) }.sorted()
        println("- $name, $label: %.2fx [%.2f-%.2f]".format(r[r.size / 2], r.first(), r.last()))
    }
    ratio("datagrams/s") { it.rate }
    ratio("receive CPU per datagram") { it.cpuNanos }
    // Polling allocates nothing, so what the NIO receivers allocate comes from suspending when the socket runs dry.
    for ((case, samples) in listOf(a to ra, b to rb)) {
        if (samples.first().waits.isNaN()) continue
        val waits = samples.map { it.waits }.sorted()[samples.size / 2]
        val perWait = samples.filter { it.waits > 0 }.map { it.bytes / it.waits }.sorted()
        println("- ${case.name}: %.0f waits (awaitReadable) per 1,000 datagrams; about %.0f bytes allocated per wait [%.0f-%.0f]"
            .format(1000 * waits, perWait[perWait.size / 2], perWait.first(), perWait.last()))
    }
    System.err.println(row(a.name, ra)); System.err.println(row(b.name, rb))
}

private class UdpSample(val rate: Double, val cpuNanos: Double, val bytes: Double, val loss: Double, val waits: Double)

private fun row(name: String, s: List<UdpSample>): String {
    fun med(f: (UdpSample) -> Double) = s.map(f).sorted()[s.size / 2]
    val rates = s.map { it.rate }.sorted()
    return "| $name | %,.0f | %,.0f-%,.0f | %,.0f | %.0f | %.1f %% |".format(
        med { it.rate }, rates.first(), rates.last(), med { it.cpuNanos }, med { it.bytes }, 100 * med { it.loss })
}

private val threads = (ManagementFactory.getThreadMXBean() as com.sun.management.ThreadMXBean).apply {
    isThreadAllocatedMemoryEnabled = true
    isThreadCpuTimeEnabled = true
}

/** Allocated bytes and CPU nanoseconds of every live thread but [except], by thread id. */
private fun snapshot(except: Long): Map<Long, Pair<Long, Long>> {
    val ids = threads.allThreadIds.filter { it != except }.toLongArray()
    val alloc = threads.getThreadAllocatedBytes(ids)
    val cpu = threads.getThreadCpuTime(ids)
    return ids.indices.filter { alloc[it] >= 0 && cpu[it] >= 0 }.associate { ids[it] to (alloc[it] to cpu[it]) }
}

/**
 * Sends [PAYLOAD]-byte datagrams from [channel] (connected) until [stop], as fast as it can or, with [rate] > 0, at
 * [rate] per second; counts them.
 */
private class Blaster(private val channel: DatagramChannel, rate: Int) {
    @Volatile var running = true
    @Volatile var sent = 0L
    val thread = Thread({
        val b = ByteBuffer.allocateDirect(PAYLOAD)
        val interval = if (rate > 0) 1_000_000_000L / rate else 0L
        var next = System.nanoTime()
        var n = 0L
        while (running) {
            b.clear()
            b.putLong(0, n)
            channel.write(b)
            n++
            if (n and 255 == 0L || interval > 0) sent = n
            if (interval > 0) {
                next += interval
                var now = System.nanoTime()
                while (now < next) { LockSupport.parkNanos(next - now); now = System.nanoTime() }
            }
        }
        sent = n
    }, "udp-blaster").apply { isDaemon = true }

    fun stop() {
        running = false
        thread.join()
    }
}

private abstract class UdpCase(name: String, val count: Int, private val rate: Int) : AutoCloseable {
    val name = if (rate > 0) "$name, paced at %,d/s".format(rate) else name
    protected val sender: DatagramChannel = DatagramChannel.open().bind(InetSocketAddress("127.0.0.1", 0))

    /** Receives [count] datagrams into a reused 2048-byte array. */
    abstract fun receive(count: Int): Long

    /** Times the receiver suspended in `awaitReadable` since the last call, or -1 where that is not observable. */
    open fun takeWaits(): Long = -1

    /** Reads and discards whatever is left, so that the next round starts empty. */
    abstract fun drain()

    fun once(): UdpSample {
        val blaster = Blaster(sender, rate)
        blaster.thread.start()
        receive(if (rate > 0) 100 else 1000) // the receiver is busy before measuring starts
        takeWaits()
        val sent0 = blaster.sent
        val s0 = snapshot(blaster.thread.id)
        val t0 = System.nanoTime()
        sink += receive(count)
        val t1 = System.nanoTime()
        val s1 = snapshot(blaster.thread.id)
        val sent1 = blaster.sent
        val waits = takeWaits()
        blaster.stop()
        drain()
        var alloc = 0L
        var cpu = 0L
        for ((id, v) in s1) {
            val before = s0[id] ?: (0L to 0L)
            alloc += v.first - before.first
            cpu += v.second - before.second
        }
        val sentInWindow = (sent1 - sent0).coerceAtLeast(count.toLong())
        return UdpSample(count / ((t1 - t0) / 1e9), cpu.toDouble() / count, alloc.toDouble() / count, 1.0 - count.toDouble() / sentInWindow,
            if (waits < 0) Double.NaN else waits.toDouble() / count)
    }
}

private var sink = 0L

/** ktor-network 3.5.2: `aSocket(SelectorManager(Dispatchers.IO)).udp().bind(...)`, then `receive()`. */
private class KtorCase(count: Int, rate: Int = 0) : UdpCase("ktor-network `BoundDatagramSocket.receive()` (3.5.2)", count, rate) {
    private val selector = SelectorManager(Dispatchers.IO)
    private val socket: BoundDatagramSocket = runBlocking {
        aSocket(selector).udp().bind(io.ktor.network.sockets.InetSocketAddress("127.0.0.1", 0)) {
            receiveBufferSize = UdpSocket.RECEIVE_BUFFER_BYTES
        }
    }
    private val buffer = ByteArray(VoiceConstants.MAX_DATAGRAM)

    init {
        val port = (socket.localAddress as io.ktor.network.sockets.InetSocketAddress).port
        sender.connect(InetSocketAddress("127.0.0.1", port))
    }

    override fun receive(count: Int): Long = runBlocking {
        var bytes = 0L
        repeat(count) {
            val d = socket.receive()
            bytes += d.packet.readAtMostTo(buffer, 0, buffer.size)
            d.packet.close()
        }
        bytes
    }

    override fun drain() = runBlocking {
        while (withTimeoutOrNull(100.milliseconds) { socket.receive().packet.close() } != null) Unit
    }

    override fun close() {
        socket.close()
        selector.close()
        sender.close()
    }
}

/** Earshot's [UdpSocket]: `poll` into the caller's array, `awaitReadable` on the shared selector thread when empty. */
private class NioCase(count: Int, switchable: Boolean, rate: Int = 0) : UdpCase(
    if (switchable) "Earshot `UdpSocket` behind `SwitchableDatagramSource`" else "Earshot `UdpSocket.poll` (NIO)", count, rate,
) {
    private val socket = UdpSocket.open(sender.localAddress as InetSocketAddress)
    private val source: DatagramSource = if (switchable) SwitchableDatagramSource().also { it.attach(socket) } else socket
    // As the pipeline's PacketPool: a different array for each datagram.
    private val pool = Array(64) { ByteArray(VoiceConstants.MAX_DATAGRAM) }

    private var waits = 0L

    init {
        sender.connect(socket.localAddress)
    }

    override fun takeWaits(): Long = waits.also { waits = 0 }

    override fun receive(count: Int): Long = runBlocking {
        var bytes = 0L
        for (i in 0 until count) {
            val buf = pool[i and 63]
            var n = source.poll(buf)
            while (n == DatagramSource.EMPTY) {
                waits++
                source.awaitReadable()
                n = source.poll(buf)
            }
            check(n >= 0) { "socket closed" }
            bytes += n
        }
        bytes
    }

    override fun drain() = runBlocking {
        val buf = pool[0]
        while (withTimeoutOrNull(100.milliseconds) {
                var n = source.poll(buf)
                while (n == DatagramSource.EMPTY) { source.awaitReadable(); n = source.poll(buf) }
            } != null) Unit
    }

    override fun close() {
        socket.close()
        sender.close()
    }
}
