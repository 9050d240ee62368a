package dev.earshot.voice.kafka

import dev.earshot.voice.codec.PcmFormat
import dev.earshot.voice.javaapi.VoiceSink
import dev.earshot.voice.javaapi.internal.CoreSinks
import dev.earshot.voice.model.AudioFrame
import dev.earshot.voice.model.VoiceEvent
import dev.earshot.voice.model.VoiceTick
import dev.earshot.voice.sink.AudioSink
import dev.earshot.voice.sink.RemoteSinkDriver
import kotlinx.coroutines.runBlocking
import kotlinx.serialization.json.Json
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.int
import kotlinx.serialization.json.jsonObject
import kotlinx.serialization.json.jsonPrimitive
import kotlinx.serialization.json.long
import org.apache.kafka.clients.consumer.ConsumerConfig
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener
import org.apache.kafka.clients.consumer.ConsumerRecord
import org.apache.kafka.clients.consumer.KafkaConsumer
import org.apache.kafka.clients.consumer.OffsetAndMetadata
import org.apache.kafka.common.TopicPartition
import org.apache.kafka.common.errors.WakeupException
import org.apache.kafka.common.serialization.ByteArrayDeserializer
import org.apache.kafka.common.serialization.StringDeserializer
import org.slf4j.LoggerFactory
import java.time.Instant
import java.util.TreeMap
import java.util.concurrent.atomic.AtomicLong
import java.time.Duration

/**
 * How a [VoiceKafkaWorker] consumes.
 *
 * @property bootstrapServers Kafka's `bootstrap.servers`.
 * @property groupId the consumer group: workers in one group share the topic's partitions, hence the guilds.
 *   Default `earshot-workers`.
 * @property topic the topic the publisher writes. Default [KafkaPublisherConfig.DEFAULT_TOPIC].
 * @property pollTimeout how long one poll waits for records. Default 100 ms.
 * @property commitInterval how often offsets are committed. Default 1 s.
 * @property maxOpenSessions sessions held at once; further `start` records are dropped and counted. Default 10,000.
 * @property maxBufferedTicks ticks of one session held while waiting for a `progress` record; beyond that the oldest
 *   are given to the sinks anyway. Default 3000 (60 s).
 * @property extra further consumer properties (security settings).
 */
public data class KafkaWorkerConfig @JvmOverloads constructor(
    public val bootstrapServers: String,
    public val groupId: String = "earshot-workers",
    public val topic: String = KafkaPublisherConfig.DEFAULT_TOPIC,
    public val pollTimeout: Duration = Duration.ofMillis(100),
    public val commitInterval: Duration = Duration.ofSeconds(1),
    public val maxOpenSessions: Int = 10_000,
    public val maxBufferedTicks: Int = 3000,
    public val extra: Map<String, Any> = emptyMap(),
) {
    init {
        require(!pollTimeout.isNegative && !commitInterval.isNegative) { "pollTimeout and commitInterval must not be negative" }
        require(maxOpenSessions > 0 && maxBufferedTicks > 0) { "maxOpenSessions and maxBufferedTicks must be positive" }
    }

    /**
     * Builds a [KafkaWorkerConfig] one setting at a time (for Java; Kotlin has named arguments). Every setting starts
     * at the default given on the class.
     */
    public class Builder internal constructor(private var config: KafkaWorkerConfig) {
        /** See [KafkaWorkerConfig.groupId]. */
        public fun groupId(groupId: String): Builder = apply { config = config.copy(groupId = groupId) }

        /** See [KafkaWorkerConfig.topic]. */
        public fun topic(topic: String): Builder = apply { config = config.copy(topic = topic) }

        /** See [KafkaWorkerConfig.pollTimeout]. */
        public fun pollTimeout(timeout: Duration): Builder = apply { config = config.copy(pollTimeout = timeout) }

        /** See [KafkaWorkerConfig.commitInterval]. */
        public fun commitInterval(interval: Duration): Builder = apply { config = config.copy(commitInterval = interval) }

        /** See [KafkaWorkerConfig.maxOpenSessions]. */
        public fun maxOpenSessions(sessions: Int): Builder = apply { config = config.copy(maxOpenSessions = sessions) }

        /** See [KafkaWorkerConfig.maxBufferedTicks]. */
        public fun maxBufferedTicks(ticks: Int): Builder = apply { config = config.copy(maxBufferedTicks = ticks) }

        /** See [KafkaWorkerConfig.extra]. */
        public fun extra(properties: Map<String, Any>): Builder = apply { config = config.copy(extra = properties.toMap()) }

        /** The configuration. */
        public fun build(): KafkaWorkerConfig = config
    }

    /** [builder]. */
    public companion object {
        /** A [Builder] starting from the defaults, for the brokers at [bootstrapServers]. */
        @JvmStatic
        public fun builder(bootstrapServers: String): Builder = Builder(KafkaWorkerConfig(bootstrapServers))
    }
}

/**
 * One published session as a worker sees it (from its `start` record).
 *
 * @property sessionId the session id of every record of it.
 * @property startTick the recording's t0; @property listenTick the publishing sink's first tick.
 * @property origin wall-clock time of tick 0 of the publishing receiver.
 * @property opus whether records carry Opus packets; @property pcm the PCM format they carry, or null.
 * @property partition the Kafka partition it is read from.
 */
public data class WorkerSession(
    public val sessionId: String,
    public val guildId: Long,
    public val channelId: Long,
    public val startTick: Long,
    public val listenTick: Long,
    public val origin: Instant,
    public val opus: Boolean,
    public val pcm: PcmFormat?,
    public val partition: Int,
)

/** Makes the sink (tree) a worker runs for one session, e.g. `RecordingSinks.perUserWav(dir / session.sessionId)`. */
public fun interface SessionSinkFactory {
    /** The sink for [session]; it is started, fed and cleaned up on the worker's thread. */
    public fun create(session: WorkerSession): AudioSink
}

/**
 * For Java: makes the sink a worker runs for one session as a voice-java-api `VoiceSink` (from `Sinks`: per-user WAV,
 * a mixed track, speech segments, your own `JavaSink`...). Give it to [VoiceKafkaWorker.ofVoiceSinks].
 */
public interface VoiceSinkFactory {
    /** The sink for [session]; it is started, fed and cleaned up on the worker's thread. */
    public fun create(session: WorkerSession): VoiceSink
}

/** What happened to sessions, called on the worker's thread. All functions default to doing nothing. */
public interface WorkerListener {
    /** [session]'s `end` record arrived: its sink has been cleaned up (files complete), ending at [endTick]. */
    public fun onFinished(session: WorkerSession, endTick: Long) {}

    /**
     * [session]'s partition went to another worker (a rebalance) or this worker closed before its end: its sink was
     * cleaned up early. The worker that gets the partition next reads the session again from its `start` record.
     */
    public fun onAbandoned(session: WorkerSession) {}

    /** [session]'s sink threw [error]; the session is dropped. */
    public fun onFailed(session: WorkerSession, error: Throwable) {}
}

/** Counters of a [VoiceKafkaWorker]. */
public data class WorkerStats(
    /** Records read. */
    val records: Long,
    /** Audio frames given to sinks. */
    val frames: Long,
    /** Records or frames seen before (a producer retry, a re-read after a restart) and dropped. */
    val duplicates: Long,
    /** Records missing by their sequence numbers (dropped by the publisher): lost, not replayed. */
    val missingRecords: Long,
    /** Records that could not be read (wrong version, malformed) and were skipped. */
    val malformed: Long,
    /** Records of sessions whose `start` this worker has not seen (skipped). */
    val orphans: Long,
    /** Sessions finished by their `end` record. */
    val finished: Long,
    /** Sessions abandoned (rebalance, close) or failed. */
    val abandoned: Long,
)

/**
 * The worker side: consumes the records of a [VoiceKafkaPublisher] in a consumer group and runs, per session, the
 * sink that [factory] makes, with the same calls (start, ticks with every frame, events in order, cleanup at the
 * recording's end tick) as a local `listen`, through [RemoteSinkDriver]; so a per-user WAV, a mixed track, Ogg Opus
 * or utterances written here equal the local ones sample for sample. Duplicates (by session sequence number, and by
 * session, SSRC and tick for frames) are dropped.
 *
 * Offsets are committed only up to the `start` of the oldest session still open on a partition, so a worker that
 * restarts (or takes over a partition) reads every unfinished session again from its start and writes its files
 * whole; sessions already finished whose records lie after that point are written again, with the same content.
 * One thread (`earshot-kafka-worker`) polls and runs the sinks; [start] starts it, [close] ends it.
 */
public class VoiceKafkaWorker @JvmOverloads constructor(
    public val config: KafkaWorkerConfig,
    private val factory: SessionSinkFactory,
    private val listener: WorkerListener = object : WorkerListener {},
) : AutoCloseable {
    private val consumer = KafkaConsumer(consumerProperties(config), StringDeserializer(), ByteArrayDeserializer())
    private val sessions = HashMap<String, SessionState>()
    private val recentlyFinished = object : LinkedHashMap<String, Boolean>() {
        override fun removeEldestEntry(eldest: MutableMap.MutableEntry<String, Boolean>?): Boolean = size > 4096
    }
    private val nextOffsets = HashMap<TopicPartition, Long>()
    private val thread = Thread(::run, "earshot-kafka-worker").apply { isDaemon = true }

    @Volatile
    private var running = true

    private val records = AtomicLong()
    private val frames = AtomicLong()
    private val duplicates = AtomicLong()
    private val missing = AtomicLong()
    private val malformed = AtomicLong()
    private val orphans = AtomicLong()
    private val finished = AtomicLong()
    private val abandoned = AtomicLong()

    /** Starts consuming (subscribes to the topic in the group). */
    public fun start(): VoiceKafkaWorker {
        thread.start()
        return this
    }

    /** The counters now. */
    public fun stats(): WorkerStats = WorkerStats(
        records.get(), frames.get(), duplicates.get(), missing.get(), malformed.get(), orphans.get(), finished.get(), abandoned.get(),
    )

    private fun run() {
        try {
            consumer.subscribe(listOf(config.topic), object : ConsumerRebalanceListener {
                override fun onPartitionsRevoked(partitions: Collection<TopicPartition>) {
                    // On close the sessions were abandoned already and the commit made: committing again now would
                    // move past their starts.
                    if (!running) return
                    commit()
                    for (p in partitions) abandonPartition(p.partition())
                    nextOffsets.keys.removeAll(partitions.toSet())
                }

                override fun onPartitionsAssigned(partitions: Collection<TopicPartition>) {}
            })
            var lastCommit = System.nanoTime()
            while (running) {
                val batch = consumer.poll(config.pollTimeout)
                for (r in batch) {
                    records.incrementAndGet()
                    try {
                        handle(r)
                    } catch (e: Exception) {
                        malformed.incrementAndGet()
                        log.debug("record at {}-{}@{} skipped: {}", r.topic(), r.partition(), r.offset(), e.toString())
                    }
                    nextOffsets[TopicPartition(r.topic(), r.partition())] = r.offset() + 1
                }
                if (System.nanoTime() - lastCommit > config.commitInterval.toNanos()) {
                    commit()
                    lastCommit = System.nanoTime()
                }
            }
        } catch (_: WakeupException) {
            // close()
        } catch (e: Exception) {
            log.warn("the Kafka worker stopped", e)
        } finally {
            running = false
            try {
                commit()
            } catch (e: Exception) {
                log.debug("final commit failed: {}", e.toString())
            }
            for (p in sessions.values.map { it.session.partition }.distinct()) abandonPartition(p)
            nextOffsets.clear()
            consumer.close()
        }
    }

    /** Commits, per partition, the oldest open session's start offset, or the next offset when none is open. */
    private fun commit() {
        if (nextOffsets.isEmpty()) return
        val offsets = HashMap<TopicPartition, OffsetAndMetadata>()
        for ((tp, next) in nextOffsets) {
            val oldestOpen = sessions.values.filter { it.session.partition == tp.partition() }.minOfOrNull { it.startOffset }
            offsets[tp] = OffsetAndMetadata(oldestOpen ?: next)
        }
        consumer.commitSync(offsets)
    }

    private fun abandonPartition(partition: Int) {
        val gone = sessions.values.filter { it.session.partition == partition }
        for (s in gone) {
            sessions.remove(s.session.sessionId)
            abandoned.incrementAndGet()
            try {
                runBlocking { s.driver.finish() }
            } catch (e: Exception) {
                log.debug("cleanup of abandoned session {} failed: {}", s.session.sessionId, e.toString())
            }
            listener.onAbandoned(s.session)
        }
    }

    private fun handle(r: ConsumerRecord<String, ByteArray>) {
        fun header(name: String): String? = r.headers().lastHeader(name)?.value()?.toString(Charsets.UTF_8)
        require(header(VoiceRecords.H_VERSION) == VoiceRecords.VERSION) { "not a version ${VoiceRecords.VERSION} record" }
        val type = header(VoiceRecords.H_TYPE) ?: throw IllegalArgumentException("no type")
        val sessionId = header(VoiceRecords.H_SESSION) ?: throw IllegalArgumentException("no session")
        val seq = header(VoiceRecords.H_SEQ)?.toLong() ?: throw IllegalArgumentException("no sequence number")
        if (type == VoiceRecords.T_START) {
            if (sessionId in sessions || sessionId in recentlyFinished) {
                duplicates.incrementAndGet()
                return
            }
            if (sessions.size >= config.maxOpenSessions) {
                orphans.incrementAndGet()
                return
            }
            open(r, sessionId, seq)
            return
        }
        val s = sessions[sessionId]
        if (s == null) {
            if (sessionId in recentlyFinished) duplicates.incrementAndGet() else orphans.incrementAndGet()
            return
        }
        if (seq <= s.lastSeq) {
            duplicates.incrementAndGet()
            return
        }
        if (seq > s.lastSeq + 1) missing.addAndGet(seq - s.lastSeq - 1)
        s.lastSeq = seq
        try {
            runBlocking {
                when (type) {
                    VoiceRecords.T_AUDIO -> {
                        for (d in VoiceRecords.readFrames(r.value())) s.add(d.frame)
                        s.bound()
                    }
                    VoiceRecords.T_EVENT -> {
                        val tick = header(VoiceRecords.H_TICK)?.toLong() ?: throw IllegalArgumentException("no tick")
                        VoiceRecords.eventOf(json(r))?.let { s.addEvent(tick, it) }
                    }
                    VoiceRecords.T_PROGRESS -> s.emitUpTo(json(r).getValue("tick").jsonPrimitive.long)
                    VoiceRecords.T_END -> {
                        val end = json(r).getValue("end_tick").jsonPrimitive.long
                        s.emitUpTo(end)
                        s.flushEvents()
                        sessions.remove(sessionId)
                        recentlyFinished[sessionId] = true
                        s.driver.finish(end)
                        finished.incrementAndGet()
                        listener.onFinished(s.session, end)
                    }
                    else -> {} // connection states and later types: nothing for the sinks
                }
            }
        } catch (e: IllegalArgumentException) {
            throw e
        } catch (e: Exception) {
            sessions.remove(sessionId)
            recentlyFinished[sessionId] = true
            abandoned.incrementAndGet()
            log.warn("the sink of session {} failed; the session is dropped", sessionId, e)
            listener.onFailed(s.session, e)
        }
    }

    private fun json(r: ConsumerRecord<String, ByteArray>): JsonObject =
        Json.parseToJsonElement(r.value().toString(Charsets.UTF_8)).jsonObject

    private fun open(r: ConsumerRecord<String, ByteArray>, sessionId: String, seq: Long) {
        val j = json(r)
        val format = j.getValue("format").jsonPrimitive.content
        val session = WorkerSession(
            sessionId,
            j.getValue("guild").jsonPrimitive.content.toLong(),
            j.getValue("channel").jsonPrimitive.content.toLong(),
            j.getValue("start_tick").jsonPrimitive.long,
            j.getValue("listen_tick").jsonPrimitive.long,
            Instant.parse(j.getValue("origin").jsonPrimitive.content),
            format.split('+').contains("opus"),
            VoiceRecords.pcmOf(format),
            r.partition(),
        )
        require(j["batch_ticks"]?.jsonPrimitive?.int != 0) { "bad batch_ticks" }
        val sink = factory.create(session)
        val driver = RemoteSinkDriver(sink, session.startTick, session.origin, session.pcm, session.listenTick)
        sessions[sessionId] = SessionState(session, r.offset(), driver).also { it.lastSeq = seq }
        runBlocking { driver.start() }
    }

    private inner class SessionState(val session: WorkerSession, val startOffset: Long, val driver: RemoteSinkDriver) {
        var lastSeq = -1L
        private var emitted = session.listenTick - 1
        private val ticks = TreeMap<Long, MutableList<AudioFrame>>()
        private val events = ArrayDeque<Pair<Long, VoiceEvent>>()

        fun add(f: AudioFrame) {
            if (f.tick <= emitted) {
                duplicates.incrementAndGet()
                return
            }
            val list = ticks.getOrPut(f.tick) { ArrayList(2) }
            if (list.any { it.ssrc == f.ssrc }) {
                duplicates.incrementAndGet()
                return
            }
            list += f
        }

        fun addEvent(afterTick: Long, e: VoiceEvent) {
            if (events.size >= MAX_EVENTS) {
                events.removeFirst()
                malformed.incrementAndGet()
            }
            events.addLast(afterTick to e)
        }

        /** Bounds what a session holds without progress records (a broken producer): the oldest ticks go out. */
        suspend fun bound() {
            if (ticks.size > config.maxBufferedTicks) emitUpTo(ticks.lastKey() - config.maxBufferedTicks)
        }

        suspend fun emitUpTo(tick: Long) {
            var t = emitted + 1
            while (t <= tick) {
                while (events.isNotEmpty() && events.first().first < t) driver.event(events.removeFirst().second)
                val fs = ticks.remove(t) ?: emptyList()
                frames.addAndGet(fs.size.toLong())
                driver.tick(VoiceTick(t, fs, emptySet()))
                emitted = t
                t++
            }
        }

        suspend fun flushEvents() {
            while (events.isNotEmpty()) driver.event(events.removeFirst().second)
        }
    }

    /** Stops consuming: open sessions are abandoned (their cleanup runs), offsets are committed, the consumer closes. */
    override fun close() {
        running = false
        consumer.wakeup()
        if (thread.isAlive) thread.join(30_000)
    }

    /** [ofVoiceSinks], the worker for Java callers. */
    public companion object {
        private val log = LoggerFactory.getLogger(VoiceKafkaWorker::class.java)

        /** Events of one session held at most (beyond it the oldest are dropped). */
        public const val MAX_EVENTS: Int = 100_000

        /**
         * For Java: a worker running, per session, the `VoiceSink` that [factory] makes (as the constructor does with
         * a Kotlin [SessionSinkFactory]); [listener] hears what happened to sessions.
         */
        @JvmStatic
        @JvmOverloads
        public fun ofVoiceSinks(
            config: KafkaWorkerConfig,
            factory: VoiceSinkFactory,
            listener: WorkerListener = object : WorkerListener {},
        ): VoiceKafkaWorker = VoiceKafkaWorker(config, { session -> CoreSinks.unwrap(factory.create(session)) }, listener)

        private fun consumerProperties(config: KafkaWorkerConfig): Map<String, Any> {
            val props = HashMap<String, Any>(config.extra)
            props[ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG] = config.bootstrapServers
            props[ConsumerConfig.GROUP_ID_CONFIG] = config.groupId
            props[ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG] = false
            props[ConsumerConfig.AUTO_OFFSET_RESET_CONFIG] = "earliest"
            props.putIfAbsent(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 500)
            props.putIfAbsent(ConsumerConfig.CLIENT_ID_CONFIG, "earshot-worker")
            return props
        }
    }
}
