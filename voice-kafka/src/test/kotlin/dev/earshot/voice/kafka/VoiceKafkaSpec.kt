package dev.earshot.voice.kafka

import dev.earshot.voice.sink.Recording
import dev.earshot.voice.testkit.StallProbe
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.longs.shouldBeGreaterThan
import io.kotest.matchers.longs.shouldBeLessThanOrEqual
import io.kotest.matchers.shouldBe
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.cancel
import kotlinx.coroutines.delay
import kotlinx.coroutines.withTimeout
import org.apache.kafka.clients.consumer.ConsumerConfig
import org.apache.kafka.clients.consumer.ConsumerRecord
import org.apache.kafka.clients.consumer.KafkaConsumer
import org.apache.kafka.clients.producer.KafkaProducer
import org.apache.kafka.clients.producer.ProducerConfig
import org.apache.kafka.clients.producer.ProducerRecord
import org.apache.kafka.common.serialization.ByteArrayDeserializer
import org.apache.kafka.common.serialization.ByteArraySerializer
import org.apache.kafka.common.serialization.StringDeserializer
import org.apache.kafka.common.serialization.StringSerializer
import java.nio.file.Files
import java.util.concurrent.CompletableFuture
import java.util.concurrent.TimeUnit
import kotlin.time.Duration.Companion.seconds

/**
 * voice-kafka against a real Kafka broker ([TestBroker], a child JVM) and a real voice connection to the testkit
 * (DAVE on): the local recording and a worker's recording from Kafka are the same files, duplicates do not duplicate
 * audio, a restarted worker resumes, and a broker outage is ridden out without late ticks.
 */
class VoiceKafkaSpec : FunSpec({
    val broker = TestBroker.shared
    val scope = CoroutineScope(SupervisorJob() + Dispatchers.Default)
    afterSpec { scope.cancel() }

    /** The recording of one session: the local outputs and the topic holding its records. */
    class Recorded(val local: RecordingOutputs, val topic: String, val token: String, val receiveLateTicks: Long)

    var first: Recorded? = null

    fun workerFor(topic: String, group: String, out: (WorkerSession) -> RecordingOutputs, finished: CompletableFuture<Long>): VoiceKafkaWorker =
        VoiceKafkaWorker(
            KafkaWorkerConfig(broker.bootstrap, groupId = group, topic = topic, commitInterval = java.time.Duration.ofMillis(200)),
            { session -> out(session).sink() },
            object : WorkerListener {
                override fun onFinished(session: WorkerSession, endTick: Long) {
                    finished.complete(endTick)
                }
            },
        )

    test("a worker recording from Kafka is the local recording, sample for sample; a restarted worker resumes") {
        val topic = TestBroker.topic("voice")
        broker.createTopic(topic, 4)
        val root = Files.createTempDirectory("earshot-kafka-rec")
        val local = RecordingOutputs(Files.createDirectories(root.resolve("local")))
        KafkaSession().use { session ->
            val connection = session.connect(scope)
            VoiceKafkaPublisher(KafkaPublisherConfig(broker.bootstrap, topic = topic)).use { publisher ->
                val kafkaSink = publisher.sink(session.guild, session.channel)
                kafkaSink.follow(connection, scope)
                val recording: Recording = connection.receiver.newRecording()
                connection.receiver.listen(local.sink(), recording)
                connection.receiver.listen(kafkaSink, recording)

                // Worker A reads the session while it is being recorded, then stops before its end.
                val outA = RecordingOutputs(Files.createDirectories(root.resolve("worker-a")))
                val finishedA = CompletableFuture<Long>()
                val workerA = workerFor(topic, "rec", { outA }, finishedA).start()
                session.addSpeakers()
                withTimeout(60.seconds) { while (workerA.stats().frames < 50) delay(20) }
                workerA.close()
                finishedA.isDone shouldBe false
                workerA.stats().abandoned shouldBe 1L

                session.awaitSpeakers()
                recording.stop()
                publisher.flush(java.time.Duration.ofSeconds(30)) shouldBe true
                val stats = publisher.stats()
                stats.lostFrames shouldBe 0L
                stats.sentFrames shouldBeGreaterThan 100L

                // Worker B, same group, takes over: it reads the open session again from its start.
                val outB = RecordingOutputs(Files.createDirectories(root.resolve("worker-b")))
                val finishedB = CompletableFuture<Long>()
                workerFor(topic, "rec", { outB }, finishedB).start().use { workerB ->
                    val end = finishedB.get(60, TimeUnit.SECONDS)
                    end shouldBe recording.endTick
                    workerB.stats().missingRecords shouldBe 0L
                    workerB.stats().malformed shouldBe 0L
                }
                RecordingOutputs.assertSame(local, outB)
                // Two speakers; their spurts may merge into one utterance each (pauses under the 600 ms end silence).
                local.utterances.size.toLong() shouldBeGreaterThan 1L
                first = Recorded(local, topic, connection.session.token, connection.receiver.stats().lateTicks)
            }
            connection.disconnect()
        }
    }

    test("no record carries the voice token; every record has the documented headers") {
        val rec = checkNotNull(first) { "needs the recording test" }
        val records = readAll(broker.bootstrap, rec.topic)
        records.size.toLong() shouldBeGreaterThan 10L
        val token = rec.token.toByteArray()
        for (r in records) {
            for (h in r.headers()) indexOf(h.value(), token) shouldBe -1
            indexOf(r.value(), token) shouldBe -1
            r.key().startsWith("111") shouldBe true
            for (name in listOf(VoiceRecords.H_VERSION, VoiceRecords.H_TYPE, VoiceRecords.H_SESSION, VoiceRecords.H_SEQ,
                VoiceRecords.H_GUILD, VoiceRecords.H_CHANNEL, VoiceRecords.H_TICK, VoiceRecords.H_WALLCLOCK)) {
                (r.headers().lastHeader(name) != null) shouldBe true
            }
        }
        records.map { it.partition() }.distinct().size shouldBe 1
    }

    test("records sent twice (a producer retry without idempotence) do not duplicate audio") {
        val rec = checkNotNull(first) { "needs the recording test" }
        val records = readAll(broker.bootstrap, rec.topic)
        val topic = TestBroker.topic("dup")
        broker.createTopic(topic, 1)
        // A plain producer writing every record twice in a row, and some a third time further on.
        KafkaProducer(
            mapOf<String, Any>(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG to broker.bootstrap, ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG to false),
            StringSerializer(), ByteArraySerializer(),
        ).use { p ->
            for ((i, r) in records.withIndex()) {
                repeat(2) { p.send(ProducerRecord(topic, 0, r.key(), r.value(), r.headers())) }
                if (i % 7 == 3 && i >= 10) {
                    val old = records[i - 5]
                    p.send(ProducerRecord(topic, 0, old.key(), old.value(), old.headers()))
                }
            }
            p.flush()
        }
        val out = RecordingOutputs(Files.createTempDirectory("earshot-kafka-dup"))
        val finished = CompletableFuture<Long>()
        workerFor(topic, "dup", { out }, finished).start().use { w ->
            finished.get(60, TimeUnit.SECONDS)
            w.stats().duplicates shouldBeGreaterThan records.size.toLong() - 1
        }
        RecordingOutputs.assertSame(rec.local, out)
    }

    test("the node consumer (kafkajs) reads the same records") {
        val rec = checkNotNull(first) { "needs the recording test" }
        val node = NodeConsumer.available()
        if (node == null) {
            println("node consumer skipped: ${NodeConsumer.why}")
            check(System.getenv("EARSHOT_REQUIRE_INTEROP") == null) { "node and voice-kafka/src/test/node/node_modules are required here" }
            return@test
        }
        val expected = NodeConsumer.summarise(readAll(broker.bootstrap, rec.topic))
        val actual = NodeConsumer.run(broker.bootstrap, rec.topic)
        actual shouldBe expected
    }

    test("a broker outage mid-recording: receive stays on time, the buffer covers the outage, nothing is lost") {
        val topic = TestBroker.topic("outage")
        broker.createTopic(topic, 1)
        val root = Files.createTempDirectory("earshot-kafka-outage")
        val local = RecordingOutputs(Files.createDirectories(root.resolve("local")))
        KafkaSession(guild = 333).use { session ->
            val connection = session.connect(scope)
            // The stated buffer: 90 s of retries, 64 MiB in the producer, 32 MiB queued; the outage is shorter.
            val config = KafkaPublisherConfig(broker.bootstrap, topic = topic, deliveryTimeout = java.time.Duration.ofSeconds(90))
            VoiceKafkaPublisher(config).use { publisher ->
                val kafkaSink = publisher.sink(session.guild, session.channel)
                val recording = connection.receiver.newRecording()
                connection.receiver.listen(local.sink(), recording)
                val sinkListening = connection.receiver.listen(kafkaSink, recording)
                session.addSpeakers(spurts = 12)
                withTimeout(30.seconds) { while (publisher.stats().sentFrames < 50) delay(20) }
                val receiver = connection.receiver
                val probe = StallProbe.start()
                val lateBefore = receiver.stats().lateTicks
                val sentBefore = publisher.stats().sentRecords
                val ticksBefore = receiver.stats().ticks
                broker.stop()
                val down = System.nanoTime()
                // The outage lasts until the speakers are done (about 12 s), then the broker restarts.
                session.awaitSpeakers()
                val ticksWhileDown = receiver.stats().ticks - ticksBefore
                // The clock is where wall time says it should be: receive did not wait for the broker.
                val behind = receiver.timeline.tickAt(java.time.Instant.now()) - receiver.timeline.lastTick
                val lateDuring = receiver.stats().lateTicks - lateBefore
                probe.close()
                publisher.stats().sentRecords - sentBefore shouldBeLessThanOrEqual 50L
                broker.start()
                val outage = (System.nanoTime() - down) / 1_000_000
                recording.stop()
                val os = java.lang.management.ManagementFactory.getOperatingSystemMXBean()
                println("outage $outage ms, $ticksWhileDown ticks while down, clock $behind ticks behind wall time at its end, " +
                    "late ticks during it: $lateDuring, machine stalls: $probe, Kafka sink queue drops ${sinkListening.dropped}, " +
                    "load ${os.systemLoadAverage} on ${os.availableProcessors} cores")
                ticksWhileDown shouldBeGreaterThan 300L
                behind shouldBeLessThanOrEqual 5L
                sinkListening.dropped shouldBe 0L
                receiver.stats().droppedTicks shouldBe 0L
                // A late tick is one the clock produced 20 ms or more behind schedule. Receive does not wait for the
                // broker, so the only late ticks are those this shared machine's stalls caused (the broker's own
                // shutdown is one), as measured beside it; waiting for the broker would make hundreds.
                lateDuring shouldBeLessThanOrEqual probe.stalledTicks()
                publisher.flush(java.time.Duration.ofSeconds(60)) shouldBe true
                val stats = publisher.stats()
                println("publisher after the outage: $stats")
                // Within the stated buffer: nothing lost, nothing dropped.
                stats.lostFrames shouldBe 0L
            }
            connection.disconnect()
        }
        val out = RecordingOutputs(Files.createTempDirectory("earshot-kafka-outage-w"))
        val finished = CompletableFuture<Long>()
        workerFor(topic, "outage", { out }, finished).start().use {
            finished.get(60, TimeUnit.SECONDS)
            it.stats().missingRecords shouldBe 0L
        }
        RecordingOutputs.assertSame(local, out)
    }
})


private fun indexOf(haystack: ByteArray?, needle: ByteArray): Int {
    if (haystack == null || needle.isEmpty()) return -1
    outer@ for (i in 0..haystack.size - needle.size) {
        for (j in needle.indices) if (haystack[i + j] != needle[j]) continue@outer
        return i
    }
    return -1
}

/** Every record of [topic], in partition order. */
fun readAll(bootstrap: String, topic: String): List<ConsumerRecord<String, ByteArray>> {
    KafkaConsumer(
        mapOf<String, Any>(
            ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG to bootstrap,
            ConsumerConfig.AUTO_OFFSET_RESET_CONFIG to "earliest",
            ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG to false,
        ),
        StringDeserializer(), ByteArrayDeserializer(),
    ).use { c ->
        val parts = c.partitionsFor(topic).map { org.apache.kafka.common.TopicPartition(topic, it.partition()) }
        c.assign(parts)
        c.seekToBeginning(parts)
        val end = c.endOffsets(parts)
        val out = ArrayList<ConsumerRecord<String, ByteArray>>()
        val deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60)
        while (parts.any { c.position(it) < end.getValue(it) }) {
            check(System.nanoTime() < deadline) { "could not read $topic" }
            out += c.poll(java.time.Duration.ofMillis(200))
        }
        return out.sortedWith(compareBy({ it.partition() }, { it.offset() }))
    }
}

