package dev.earshot.samples

import dev.earshot.voice.kafka.KafkaPublisherConfig
import dev.earshot.voice.kafka.VoiceKafkaPublisher
import dev.earshot.voice.connection.VoiceConnection
import dev.earshot.voice.transcribe.TranscriptFiles
import java.nio.file.Files
import java.nio.file.Path
import java.util.Locale
import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit
import kotlin.system.exitProcess
import kotlin.time.Duration.Companion.seconds
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.CoroutineName
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Deferred
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.async
import kotlinx.coroutines.cancel
import kotlinx.coroutines.delay
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.selects.select
import kotlinx.coroutines.withTimeoutOrNull

/** What [DemoRecorder.run] did: the [summary] it printed, the [timeline] it drew, and the [connection] it recorded. */
class DemoResult(
    val outDir: Path,
    val summary: Summary,
    val timeline: Timeline,
    val labels: List<String>,
    val connection: VoiceConnection,
)

/**
 * `earshot`, the demo recorder: joins a voice channel (by default an embedded voice server with three scripted
 * speakers, see [EmbeddedSource]), records it with Earshot's sinks while a status line shows who speaks, and prints a
 * summary. See [DemoOptions.USAGE] for the command line.
 *
 * ```
 * mvn -B -q -Pdemo -pl samples -am verify -DskipTests -Ddemo.args="--seconds 20"
 * ```
 */
object DemoRecorder {
    /** Exit codes: 0 done, 1 the recording failed, 2 bad arguments or a mode this build cannot run. */
    const val EXIT_OK = 0
    const val EXIT_FAILED = 1
    const val EXIT_USAGE = 2

    @JvmStatic
    fun main(args: Array<String>) {
        // Before anything touches AWT: the timeline is drawn off screen, and a fresh server has no display.
        System.setProperty("java.awt.headless", "true")
        exitProcess(execute(args.toList(), System.getenv(), DemoConsole.system()))
    }

    /** Runs the command line [args] with [env]; returns the process exit code. Installs the Ctrl-C hook. */
    fun execute(args: List<String>, env: Map<String, String>, console: DemoConsole): Int {
        val options = when (val parsed = DemoOptions.parse(args, env)) {
            is ParsedArgs.Help -> {
                console.line(DemoOptions.USAGE)
                return EXIT_OK
            }
            is ParsedArgs.Invalid -> {
                System.err.println("${DemoOptions.PROGRAM}: ${parsed.message}")
                System.err.println("Try '${DemoOptions.PROGRAM} --help'.")
                return EXIT_USAGE
            }
            is ParsedArgs.Run -> parsed.options
        }
        val source = sourceFor(options)

        // Ctrl-C (SIGINT) or a TERM start the JVM's shutdown: the hook asks the run to stop, then waits (bounded)
        // while it stops recording, finishes the files and leaves the channel.
        val stop = CompletableDeferred<Unit>()
        val finished = CountDownLatch(1)
        val hook = Thread({
            stop.complete(Unit)
            finished.await(SHUTDOWN_WAIT_SECONDS, TimeUnit.SECONDS)
        }, "earshot-demo-shutdown")
        Runtime.getRuntime().addShutdownHook(hook)
        return try {
            runBlocking { run(options, source, console, stop) }
            EXIT_OK
        } catch (e: Exception) {
            System.err.println("${DemoOptions.PROGRAM}: the recording failed: $e")
            EXIT_FAILED
        } finally {
            finished.countDown()
            try {
                Runtime.getRuntime().removeShutdownHook(hook)
            } catch (e: IllegalStateException) {
                // Shutting down already (Ctrl-C): the hook has run and returns now that we are finished.
            }
        }
    }

    /** The embedded voice server, or with a token, guild and channel the real Discord channel through Kord. */
    fun sourceFor(options: DemoOptions): ConnectionSource = options.discord?.let(::KordSource) ?: EmbeddedSource()

    /**
     * Records: connects through [source], listens with a [Recording] into [DemoOptions.outDir], shows the speaking
     * indicator, and stops after [DemoOptions.duration], when [stop] completes, or when the connection ends. Then
     * finishes the files, draws `timeline.png`, leaves, and prints the [Summary] from the library's counters.
     */
    suspend fun run(
        options: DemoOptions,
        source: ConnectionSource = EmbeddedSource(),
        console: DemoConsole = DemoConsole.system(),
        stop: Deferred<Unit> = CompletableDeferred(),
    ): DemoResult {
        val outDir = options.outDir.toAbsolutePath().normalize()
        Files.createDirectories(outDir)
        // The connection's coroutines get a scope of their own, ended below whatever happens.
        val scope = CoroutineScope(SupervisorJob() + Dispatchers.Default + CoroutineName("earshot-demo"))
        try {
            console.line("${DemoOptions.PROGRAM}: recording ${seconds(options.duration.inWholeMilliseconds)} s into $outDir (Ctrl-C stops early)")
            val channel = source.connect(options, scope, console::line)
            val connection = channel.connection
            var left = false
            try {
                console.line("connected: ${channel.description}; transport ${connection.encryptionMode?.wireName}, " +
                    "DAVE ${if (connection.dave != null) "offered" else "off"}")
                val board = SpeakingBoard(channel.expectedUsers, channel::nameOf)
                val indicator = SpeakingIndicator(board, console)
                indicator.start(scope, connection.receiver.speaking)
                val recording = Recording(outDir)
                val publisher = options.kafka?.let { VoiceKafkaPublisher(KafkaPublisherConfig(it, topic = options.kafkaTopic)) }
                val kafkaSink = publisher?.sink(connection.session.guildId, connection.session.channelId ?: 0L)
                kafkaSink?.follow(connection, scope)
                recording.start(connection, kafkaSink)
                val transcript = DemoTranscript.startOrNull(connection, outDir, channel::nameOf, console::line)
                kafkaSink?.let { console.line("publishing to Kafka at ${options.kafka}, topic ${options.kafkaTopic}, session ${it.sessionId}") }
                channel.recordingStarted()

                val timer = scope.async(CoroutineName("earshot-demo-timer")) { delay(options.duration) }
                val interrupted = select {
                    stop.onAwait { true }
                    connection.closed.onAwait { false }
                    timer.onAwait { false }
                }
                timer.cancel()
                indicator.stop()
                if (interrupted) console.line("stopping: finishing the files...")
                if (!connection.isAlive) console.line("the connection ended: ${connection.closed.await() ?: "disconnected"}")

                val sinkError = recording.stop()
                if (sinkError != null) console.line("a recording sink failed: $sinkError")
                transcript?.let { console.line("transcript: ${it.transcripts} utterances in ${outDir.resolve(TranscriptFiles.MERGED_VTT)}"); it.close() }
                if (publisher != null) {
                    val delivered = publisher.flush(KAFKA_FLUSH)
                    val stats = publisher.stats()
                    console.line("Kafka: ${stats.sentRecords} records (${stats.sentFrames} frames) written, ${stats.lostFrames} frames lost" +
                        if (delivered) "" else "; not all delivered within ${KAFKA_FLUSH.seconds} s")
                    publisher.close()
                }
                val timeline = recording.timeline.snapshot(channel.expectedUsers)
                val labels = timeline.users.map { id -> channel.nameOf(id)?.let { "$it ($id)" } ?: id.toString() }
                TimelineRenderer.writePng(TimelineLayout(timeline, labels), outDir.resolve(Recording.TIMELINE))

                // Leave before reading the counters: the receiver has stopped, so they are final.
                withTimeoutOrNull(LEAVE_TIMEOUT) { channel.leave() } ?: console.line("leaving took too long; carrying on")
                left = true
                val dave = connection.dave
                val summary = Summary(
                    users = timeline.users,
                    names = timeline.users.mapNotNull { id -> channel.nameOf(id)?.let { id to it } }.toMap(),
                    ticks = timeline.ticks,
                    stats = connection.receiver.stats(),
                    dave = dave?.stats(),
                    daveProtocol = dave?.protocolVersion,
                    files = recording.files(timeline.users),
                    interrupted = interrupted,
                )
                summary.lines().forEach(console::line)
                return DemoResult(outDir, summary, timeline, labels, connection)
            } finally {
                if (!left) withTimeoutOrNull(LEAVE_TIMEOUT) { channel.leave() }
            }
        } finally {
            scope.cancel()
        }
    }

    private fun seconds(millis: Long): String = "%.1f".format(Locale.ROOT, millis / 1000.0)

    private const val SHUTDOWN_WAIT_SECONDS = 30L
    private val LEAVE_TIMEOUT = 10.seconds
    private val KAFKA_FLUSH = java.time.Duration.ofSeconds(30)
}
