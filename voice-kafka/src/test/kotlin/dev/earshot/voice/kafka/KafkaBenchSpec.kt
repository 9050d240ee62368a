package dev.earshot.voice.kafka

import dev.earshot.voice.codec.PcmFormat
import dev.earshot.voice.model.AudioFrame
import dev.earshot.voice.model.FrameKind
import dev.earshot.voice.model.VoiceTick
import dev.earshot.voice.sink.Recording
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.longs.shouldBeGreaterThan
import io.kotest.matchers.shouldBe
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.cancel
import kotlinx.coroutines.delay
import kotlinx.coroutines.withTimeout
import org.apache.kafka.clients.consumer.ConsumerConfig
import org.apache.kafka.clients.consumer.KafkaConsumer
import org.apache.kafka.common.TopicPartition
import org.apache.kafka.common.serialization.ByteArrayDeserializer
import org.apache.kafka.common.serialization.StringDeserializer
import java.lang.management.ManagementFactory
import java.util.concurrent.atomic.AtomicBoolean
import kotlin.concurrent.thread
import kotlin.random.Random
import kotlin.time.Duration.Companion.seconds

/**
 * The figures for BENCHMARKS.md (run with `-Dearshot.kafka.bench=true`; skipped otherwise, it takes a minute):
 * frames published per second per core (the sink's encoding, the publisher and the producer, against the real
 * broker, whose CPU is its own process's), and the latency from a tick's end at the receiver to a consumer on
 * loopback, with the receiver's playout delay beside it (datagram to consumer = the two together).
 */
class KafkaBenchSpec : FunSpec({
    val enabled = System.getProperty("earshot.kafka.bench") == "true"
    val os = ManagementFactory.getOperatingSystemMXBean() as com.sun.management.OperatingSystemMXBean
    val scope = CoroutineScope(SupervisorJob() + Dispatchers.Default)
    afterSpec { scope.cancel() }

    test("frames published per second per core").config(enabled = enabled) {
        val broker = TestBroker.shared
        for ((label, pcm) in listOf("Opus + PCM 48 kHz stereo" to PcmFormat.STEREO_48K, "Opus only" to null)) {
            val topic = TestBroker.topic("bench")
            broker.createTopic(topic, 4)
            VoiceKafkaPublisher(KafkaPublisherConfig(broker.bootstrap, topic = topic)).use { publisher ->
                val speakers = 20
                val ticks = 3000
                val rnd = Random(1)
                val opus = ByteArray(120).also(rnd::nextBytes)
                val samples = ShortArray(1920) { rnd.nextInt(-3000, 3000).toShort() }
                val sinks = (0 until 4).map { g -> publisher.sink(1000L + g, 1L, opus = true, pcm = pcm) }
                for (s in sinks) s.onStart(detachedListening(s))
                // Warm-up, then the measured run.
                for (round in 0..1) {
                    val c0 = os.processCpuTime
                    val w0 = System.nanoTime()
                    val sent0 = publisher.stats().sentFrames
                    for (t in 0 until ticks) {
                        val tick = round * ticks + t.toLong()
                        for ((g, s) in sinks.withIndex()) {
                            val frames = (0 until speakers / sinks.size).map { u ->
                                val user = 10_000L + g * 100 + u
                                AudioFrame(user, user, tick, (tick and 0xFFFF).toInt(), tick * 960, if (pcm != null) samples else null, opus, FrameKind.DECODED)
                            }
                            s.onTick(VoiceTick(tick, frames, emptySet()))
                        }
                        // Paced by the queue, as a receiver is by time: an unpaced flood only measures drop-oldest.
                        while (publisher.stats().queued > 500) delay(1)
                    }
                    publisher.flush(java.time.Duration.ofSeconds(120)) shouldBe true
                    val frames = publisher.stats().sentFrames - sent0
                    val cpu = (os.processCpuTime - c0) / 1e9
                    val wall = (System.nanoTime() - w0) / 1e9
                    if (round == 1) {
                        println("KAFKA-BENCH | $label | $frames frames | %.0f frames/s wall | %.0f frames/s per core (CPU %.1f s) | load %.1f on %d cores |"
                            .format(frames / wall, frames / cpu, cpu, os.systemLoadAverage, os.availableProcessors))
                    }
                    publisher.stats().lostFrames shouldBe 0L
                }
            }
        }
    }

    test("latency: tick end to a consumer, and the receiver's playout delay").config(enabled = enabled) {
        val broker = TestBroker.shared
        val topic = TestBroker.topic("latency")
        broker.createTopic(topic, 1)
        val latencies = ArrayList<Long>()
        val running = AtomicBoolean(true)
        val consumer = thread(name = "bench-consumer") {
            KafkaConsumer(
                mapOf<String, Any>(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG to broker.bootstrap, ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG to false),
                StringDeserializer(), ByteArrayDeserializer(),
            ).use { c ->
                c.assign(listOf(TopicPartition(topic, 0)))
                c.seekToBeginning(listOf(TopicPartition(topic, 0)))
                while (running.get()) {
                    for (r in c.poll(java.time.Duration.ofMillis(50))) {
                        val now = System.currentTimeMillis()
                        if (r.headers().lastHeader(VoiceRecords.H_TYPE)?.value()?.toString(Charsets.UTF_8) != VoiceRecords.T_AUDIO) continue
                        for (f in VoiceRecords.readFrames(r.value())) synchronized(latencies) { latencies += now - (f.wallclockMs + 20) }
                    }
                }
            }
        }
        val delays = ArrayList<Long>()
        KafkaSession(guild = 444).use { session ->
            val connection = session.connect(scope)
            VoiceKafkaPublisher(KafkaPublisherConfig(broker.bootstrap, topic = topic)).use { publisher ->
                val recording: Recording = connection.receiver.newRecording()
                connection.receiver.listen(publisher.sink(session.guild, session.channel, batchTicks = 5), recording)
                session.addSpeakers(spurts = 6)
                withTimeout(60.seconds) {
                    while (!session.testChannel.member("1001")!!.isFinished) {
                        connection.receiver.speakerStats().filter { it.received > 0 }.forEach { delays += it.playoutDelay.inWholeMilliseconds }
                        delay(200)
                    }
                }
                recording.stop()
                publisher.flush(java.time.Duration.ofSeconds(30)) shouldBe true
            }
            connection.disconnect()
        }
        withTimeout(30.seconds) { while (synchronized(latencies) { latencies.size } < 100) delay(50) }
        running.set(false)
        consumer.join()
        val sorted = synchronized(latencies) { latencies.sorted() }
        sorted.size.toLong() shouldBeGreaterThan 100L
        fun pct(p: Double, xs: List<Long>) = xs[((xs.size - 1) * p).toInt()]
        val d = delays.sorted()
        println("KAFKA-BENCH | latency tick end -> consumer (batch 5 ticks) | ${sorted.size} frames | p50 ${pct(0.5, sorted)} ms | p99 ${pct(0.99, sorted)} ms | " +
            "playout delay p50 ${pct(0.5, d)} ms p99 ${pct(0.99, d)} ms | load %.1f on %d cores |".format(os.systemLoadAverage, os.availableProcessors))
    }
})

/** A listening for a sink driven directly (no receiver): a driver's, which the sink only reads. */
private fun detachedListening(sink: KafkaVoiceSink) =
    dev.earshot.voice.sink.RemoteSinkDriver(sink, 0, java.time.Instant.now(), PcmFormat.STEREO_48K).listening
