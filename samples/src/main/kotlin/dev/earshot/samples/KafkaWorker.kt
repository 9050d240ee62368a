package dev.earshot.samples

import dev.earshot.voice.kafka.KafkaWorkerConfig
import dev.earshot.voice.kafka.VoiceKafkaWorker
import dev.earshot.voice.kafka.WorkerListener
import dev.earshot.voice.kafka.WorkerSession
import dev.earshot.voice.sink.RecordingSinks
import dev.earshot.voice.sink.TeeSink
import java.nio.file.Files
import java.nio.file.Path
import java.util.concurrent.CountDownLatch
import kotlin.system.exitProcess

/**
 * `worker`: the other end of the demo's `--kafka`: consumes the recordings published to Kafka and writes the same
 * files the demo writes (per-user WAV, mixed WAV, per-user Ogg Opus) under `<out>/<session id>/`. Workers started
 * with the same `--group` share the guilds; a restarted worker resumes unfinished recordings from their start.
 *
 * Usage: `worker --kafka HOST:PORT [--topic earshot.voice] [--group earshot-workers] [--out earshot-worker]
 * [--sessions N]` (with `--sessions`, it exits after N recordings are finished). From the repository:
 * `mvn -B -q -Pdemo -pl samples -am verify -DskipTests -Ddemo.main=dev.earshot.samples.KafkaWorkerKt -Ddemo.args="--kafka 127.0.0.1:9092"`.
 */
fun main(args: Array<String>) {
    val opts = HashMap<String, String>()
    var i = 0
    while (i < args.size) {
        val a = args[i++]
        if (a == "-h" || a == "--help" || !a.startsWith("--") || i >= args.size) {
            System.err.println("usage: worker --kafka HOST:PORT [--topic NAME] [--group NAME] [--out DIR] [--sessions N]")
            exitProcess(if (a == "-h" || a == "--help") 0 else 2)
        }
        opts[a.removePrefix("--")] = args[i++]
    }
    val bootstrap = opts["kafka"] ?: run {
        System.err.println("worker: --kafka HOST:PORT is required")
        exitProcess(2)
    }
    val out = Path.of(opts["out"] ?: "earshot-worker").toAbsolutePath()
    val sessions = opts["sessions"]?.toIntOrNull()
    val done = CountDownLatch(sessions ?: Int.MAX_VALUE)
    val config = KafkaWorkerConfig(bootstrap, groupId = opts["group"] ?: "earshot-workers", topic = opts["topic"] ?: "earshot.voice")
    val worker = VoiceKafkaWorker(config, { session -> sinkFor(out, session) }, object : WorkerListener {
        override fun onFinished(session: WorkerSession, endTick: Long) {
            println("worker: recording ${session.sessionId} (guild ${session.guildId}) finished at tick $endTick: ${out.resolve(session.sessionId)}")
            done.countDown()
        }

        override fun onAbandoned(session: WorkerSession) {
            println("worker: recording ${session.sessionId} left unfinished (another worker or the next start redoes it)")
        }

        override fun onFailed(session: WorkerSession, error: Throwable) {
            println("worker: recording ${session.sessionId} failed: $error")
        }
    })
    Runtime.getRuntime().addShutdownHook(Thread { worker.close() })
    println("worker: consuming ${config.topic} at $bootstrap in group ${config.groupId}, writing to $out")
    worker.start()
    done.await()
    worker.close()
    println("worker: ${worker.stats()}")
}

/** The demo's files for one session, in its own directory. */
private fun sinkFor(out: Path, session: WorkerSession) = Files.createDirectories(out.resolve(session.sessionId)).let { dir ->
    TeeSink(
        RecordingSinks.perUserWav(dir),
        RecordingSinks.mixedWav(dir.resolve(Recording.MIXED)),
        RecordingSinks.perUserOgg(dir),
    )
}
