package dev.earshot.voice.kafka

import dev.earshot.voice.codec.PcmFormat
import dev.earshot.voice.connection.VoiceConnectionState
import dev.earshot.voice.javaapi.JavaVoiceConnection
import dev.earshot.voice.javaapi.VoiceSink
import dev.earshot.voice.javaapi.internal.CoreConnections
import dev.earshot.voice.javaapi.internal.CoreSinks
import java.time.Duration
import java.util.UUID
import java.util.concurrent.atomic.AtomicLong
import java.util.concurrent.locks.ReentrantLock
import kotlin.concurrent.withLock
import kotlinx.coroutines.CoroutineName
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.cancel
import kotlinx.coroutines.flow.transformWhile
import kotlinx.coroutines.launch
import org.apache.kafka.clients.producer.KafkaProducer
import org.apache.kafka.clients.producer.ProducerConfig
import org.apache.kafka.clients.producer.ProducerRecord
import org.apache.kafka.common.serialization.ByteArraySerializer
import org.apache.kafka.common.serialization.StringSerializer
import org.apache.kafka.common.utils.Utils
import org.slf4j.LoggerFactory

/**
 * How a [VoiceKafkaPublisher] talks to Kafka and how much it buffers.
 *
 * The publisher survives a broker outage by buffering: records wait in its queue (at most [queueRecords] records and
 * [queueBytes] bytes; beyond that the oldest are dropped) and in the producer's own buffer ([bufferMemory] bytes),
 * and each record is retried until [deliveryTimeout] after the sink queued it. An outage shorter than
 * [deliveryTimeout] (and within both byte bounds) loses nothing; after that, records are dropped and counted
 * ([PublisherStats]), and publishing resumes by itself when the broker is back.
 *
 * @property bootstrapServers Kafka's `bootstrap.servers` (e.g. `127.0.0.1:9092`).
 * @property topic the topic every record goes to. Default `earshot.voice`.
 * @property queueRecords capacity of the queue between the sinks and the producer, in records. Default 16384.
 * @property queueBytes capacity of that queue in value bytes. Default 32 MiB.
 * @property bufferMemory the producer's `buffer.memory`, in bytes. Default 64 MiB.
 * @property deliveryTimeout the producer's `delivery.timeout.ms`: how long a record is retried. Default 60 s.
 * @property maxBlock the producer's `max.block.ms`: how long the publisher's thread (never a receive thread) waits
 *   for metadata or buffer space before putting the record back and trying again (until its [deliveryTimeout]).
 *   Default 1 s.
 * @property linger the producer's `linger.ms`. Default 5 ms.
 * @property extra further producer properties (security settings, compression); they cannot turn off idempotence or
 *   `acks=all`.
 */
public data class KafkaPublisherConfig @JvmOverloads constructor(
    public val bootstrapServers: String,
    public val topic: String = DEFAULT_TOPIC,
    public val queueRecords: Int = 16_384,
    public val queueBytes: Long = 32L shl 20,
    public val bufferMemory: Long = 64L shl 20,
    public val deliveryTimeout: Duration = Duration.ofSeconds(60),
    public val maxBlock: Duration = Duration.ofSeconds(1),
    public val linger: Duration = Duration.ofMillis(5),
    public val extra: Map<String, Any> = emptyMap(),
) {
    init {
        require(queueRecords > 0 && queueBytes > 0 && bufferMemory > 0) { "the buffers need a positive size" }
        require(deliveryTimeout >= Duration.ofSeconds(1)) { "deliveryTimeout must be at least 1 s" }
        require(!maxBlock.isNegative && !linger.isNegative) { "maxBlock and linger must not be negative" }
    }

    /**
     * Builds a [KafkaPublisherConfig] one setting at a time (for Java; Kotlin has named arguments). Every setting
     * starts at the default given on the class.
     */
    public class Builder internal constructor(private var config: KafkaPublisherConfig) {
        /** See [KafkaPublisherConfig.topic]. */
        public fun topic(topic: String): Builder = apply { config = config.copy(topic = topic) }

        /** See [KafkaPublisherConfig.queueRecords]. */
        public fun queueRecords(records: Int): Builder = apply { config = config.copy(queueRecords = records) }

        /** See [KafkaPublisherConfig.queueBytes]. */
        public fun queueBytes(bytes: Long): Builder = apply { config = config.copy(queueBytes = bytes) }

        /** See [KafkaPublisherConfig.bufferMemory]. */
        public fun bufferMemory(bytes: Long): Builder = apply { config = config.copy(bufferMemory = bytes) }

        /** See [KafkaPublisherConfig.deliveryTimeout]. */
        public fun deliveryTimeout(timeout: Duration): Builder = apply { config = config.copy(deliveryTimeout = timeout) }

        /** See [KafkaPublisherConfig.maxBlock]. */
        public fun maxBlock(timeout: Duration): Builder = apply { config = config.copy(maxBlock = timeout) }

        /** See [KafkaPublisherConfig.linger]. */
        public fun linger(linger: Duration): Builder = apply { config = config.copy(linger = linger) }

        /** See [KafkaPublisherConfig.extra]. */
        public fun extra(properties: Map<String, Any>): Builder = apply { config = config.copy(extra = properties.toMap()) }

        /** The configuration. */
        public fun build(): KafkaPublisherConfig = config
    }

    /** The default topic, and [builder]. */
    public companion object {
        public const val DEFAULT_TOPIC: String = "earshot.voice"

        /** A [Builder] starting from the defaults, for the brokers at [bootstrapServers]. */
        @JvmStatic
        public fun builder(bootstrapServers: String): Builder = Builder(KafkaPublisherConfig(bootstrapServers))
    }
}

/** Counters of a [VoiceKafkaPublisher]; frames are audio frames (one speaker, one tick). */
public data class PublisherStats(
    /** Records written to Kafka (acknowledged by all in-sync replicas). */
    val sentRecords: Long,
    /** Audio frames in those records. */
    val sentFrames: Long,
    /** Records dropped from the full queue (oldest first). */
    val queueDroppedRecords: Long,
    /** Audio frames in those records. */
    val queueDroppedFrames: Long,
    /** Records the producer failed to write (buffer full for [KafkaPublisherConfig.maxBlock], delivery timeout, ...). */
    val failedRecords: Long,
    /** Audio frames in those records. */
    val failedFrames: Long,
    /** Records waiting in the queue now. */
    val queued: Int,
) {
    /** Every frame lost on the way: dropped from the queue or failed in the producer. */
    val lostFrames: Long get() = queueDroppedFrames + failedFrames
}

/**
 * Publishes what Earshot receives to Kafka: one per process (or per cluster), shared by the [KafkaVoiceSink]s of
 * every connection. Sinks hand records to a bounded queue and never wait; one thread (`earshot-kafka-publisher`)
 * moves them into an idempotent producer (`enable.idempotence=true`, `acks=all`): at-least-once, in order per
 * partition. All records of a guild go to one partition (murmur2 of the guild id's decimal text, as Kafka's default
 * partitioner hashes keys), so a session stays in order across its users and a worker sees a whole guild.
 *
 * The format is in `docs/kafka-records.md`. No voice token, key or other secret is ever part of a record.
 */
public class VoiceKafkaPublisher(public val config: KafkaPublisherConfig) : AutoCloseable {
    private val producer: KafkaProducer<String, ByteArray> = KafkaProducer(producerProperties(config), StringSerializer(), ByteArraySerializer())
    private val lock = ReentrantLock()
    private val notEmpty = lock.newCondition()
    private val drained = lock.newCondition()
    private val queue = ArrayDeque<OutRecord>()
    private var queuedBytes = 0L
    private var closed = false

    private val sentRecords = AtomicLong()
    private val sentFrames = AtomicLong()
    private val queueDroppedRecords = AtomicLong()
    private val queueDroppedFrames = AtomicLong()
    private val failedRecords = AtomicLong()
    private val failedFrames = AtomicLong()

    private val thread = Thread(::run, "earshot-kafka-publisher").apply {
        isDaemon = true
        start()
    }

    /**
     * A sink publishing one connection's audio and events for [guildId] / [channelId]: Opus packets as received when
     * [opus], PCM in [pcm] when not null (the receiver converts if it decodes another format), [batchTicks] ticks of a
     * speaker per record (default 5, 100 ms). Each listened sink is one session with its own id ([sessionId]).
     */
    @JvmOverloads
    public fun sink(
        guildId: Long,
        channelId: Long,
        opus: Boolean = true,
        pcm: PcmFormat? = PcmFormat.STEREO_48K,
        batchTicks: Int = 5,
        sessionId: String = UUID.randomUUID().toString(),
    ): KafkaVoiceSink = KafkaVoiceSink(this, guildId, channelId, opus, pcm, batchTicks, sessionId)

    /**
     * For Java: a sink like [sink]'s, as a voice-java-api `VoiceSink` to give [connection]'s `listen`, that also
     * publishes [connection]'s state changes (as [KafkaVoiceSink.follow] does) until it closes or this publisher does.
     */
    @JvmOverloads
    public fun voiceSink(
        connection: JavaVoiceConnection,
        guildId: Long,
        channelId: Long,
        opus: Boolean = true,
        pcm: PcmFormat? = PcmFormat.STEREO_48K,
        batchTicks: Int = 5,
    ): VoiceSink {
        val sink = sink(guildId, channelId, opus, pcm, batchTicks)
        val core = CoreConnections.of(connection)
        follows.launch {
            core.state.transformWhile { emit(it); it !is VoiceConnectionState.Closed }.collect { sink.connectionState(it) }
        }
        return CoreSinks.wrap(sink)
    }

    // Runs the state-following of the sinks made by voiceSink; cancelled at close.
    private val follows = CoroutineScope(SupervisorJob() + Dispatchers.Default + CoroutineName("earshot-kafka-follow"))

    /** The counters now. */
    public fun stats(): PublisherStats = PublisherStats(
        sentRecords.get(), sentFrames.get(), queueDroppedRecords.get(), queueDroppedFrames.get(),
        failedRecords.get(), failedFrames.get(), lock.withLock { queue.size },
    )

    /** Queues [record]; never blocks. The oldest records are dropped (and counted) when the queue is full. */
    internal fun offer(record: OutRecord) {
        lock.withLock {
            if (closed) {
                countDropped(record)
                return
            }
            queue.addLast(record)
            queuedBytes += record.size
            while (queue.size > config.queueRecords || queuedBytes > config.queueBytes) {
                val old = queue.removeFirst()
                queuedBytes -= old.size
                countDropped(old)
            }
            notEmpty.signal()
        }
    }

    private fun countDropped(r: OutRecord) {
        queueDroppedRecords.incrementAndGet()
        queueDroppedFrames.addAndGet(r.frames.toLong())
    }

    /**
     * Waits (at most [timeout]) until every queued record has been handed to the producer and the producer has
     * completed them (written or failed). Returns whether that happened in time.
     */
    public fun flush(timeout: Duration): Boolean {
        var left = timeout.toNanos()
        lock.withLock {
            while (queue.isNotEmpty() || handing) {
                if (left <= 0) return false
                left = drained.awaitNanos(left)
            }
        }
        producer.flush()
        return true
    }

    private var handing = false

    private fun run() {
        var partitions = 0
        var partitionsAt = 0L
        while (true) {
            val r = lock.withLock {
                while (queue.isEmpty() && !closed) notEmpty.await()
                if (queue.isEmpty()) return
                handing = true
                queue.removeFirst().also { queuedBytes -= it.size }
            }
            try {
                // The partition count is read from the producer's metadata (it waits at most maxBlock) every 10 s;
                // while the broker is away the last count is kept.
                if (partitions == 0 || System.nanoTime() - partitionsAt > 10_000_000_000L) {
                    partitions = runCatching { producer.partitionsFor(config.topic).size }.getOrElse { if (partitions == 0) throw it else partitions }
                    partitionsAt = System.nanoTime()
                }
                val partition = Utils.toPositive(Utils.murmur2(r.guildId.toString().toByteArray())) % partitions
                val pr = ProducerRecord(config.topic, partition, r.timestamp, r.key, r.value, r.headers)
                producer.send(pr) { _, e ->
                    if (e == null) {
                        sentRecords.incrementAndGet()
                        sentFrames.addAndGet(r.frames.toLong())
                    } else {
                        retryOrFail(r, e)
                    }
                }
            } catch (e: Exception) {
                retryOrFail(r, e)
            } finally {
                lock.withLock {
                    handing = false
                    if (queue.isEmpty()) drained.signalAll()
                }
            }
        }
    }

    private val failuresLogged = AtomicLong()

    /**
     * No metadata or no buffer space within maxBlock (the broker is away, or restarting and not yet serving the
     * topic; the producer reports it through the callback): a retriable failure puts the record back at the head of
     * the queue until its delivery timeout; anything else, or an older record, is lost and counted.
     */
    private fun retryOrFail(r: OutRecord, e: Throwable) {
        if (e is org.apache.kafka.common.errors.RetriableException && System.nanoTime() - r.queuedAt < config.deliveryTimeout.toNanos()) {
            lock.withLock {
                queue.addFirst(r)
                queuedBytes += r.size
                notEmpty.signal()
            }
        } else {
            failed(r, e)
        }
    }

    private fun failed(r: OutRecord, e: Throwable) {
        failedRecords.incrementAndGet()
        failedFrames.addAndGet(r.frames.toLong())
        // The first few at warn (a broker problem an operator should see), the rest at debug.
        if (failuresLogged.incrementAndGet() <= 5) log.warn("a record of guild {} was not written: {}", r.guildId, e.toString())
        else log.debug("a record of guild {} was not written: {}", r.guildId, e.toString())
    }

    /** Stops taking records, hands what is queued to the producer and closes it (waiting at most [timeout]). */
    public fun close(timeout: Duration) {
        lock.withLock {
            closed = true
            notEmpty.signalAll()
        }
        follows.cancel()
        thread.join(timeout.toMillis().coerceAtLeast(1))
        producer.close(timeout)
    }

    /** [close] waiting at most 5 s. */
    override fun close() {
        close(Duration.ofSeconds(5))
    }

    private companion object {
        private val log = LoggerFactory.getLogger(VoiceKafkaPublisher::class.java)

        fun producerProperties(config: KafkaPublisherConfig): Map<String, Any> {
            val delivery = config.deliveryTimeout.toMillis()
            val linger = config.linger.toMillis()
            val props = HashMap<String, Any>(config.extra)
            props[ProducerConfig.BOOTSTRAP_SERVERS_CONFIG] = config.bootstrapServers
            props[ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG] = true
            props[ProducerConfig.ACKS_CONFIG] = "all"
            props[ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION] = 5
            props[ProducerConfig.RETRIES_CONFIG] = Int.MAX_VALUE
            props[ProducerConfig.BUFFER_MEMORY_CONFIG] = config.bufferMemory
            props[ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG] = delivery.toInt()
            // delivery.timeout.ms must be at least linger.ms + request.timeout.ms.
            props[ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG] = minOf(30_000L, delivery - linger).toInt()
            props[ProducerConfig.LINGER_MS_CONFIG] = linger.toInt()
            props[ProducerConfig.MAX_BLOCK_MS_CONFIG] = config.maxBlock.toMillis()
            props[ProducerConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG] = 1000
            props.putIfAbsent(ProducerConfig.CLIENT_ID_CONFIG, "earshot-publisher")
            return props
        }
    }
}

/** One record on its way: key, value, headers, and what it counts for. */
internal class OutRecord(
    val guildId: Long,
    val key: String,
    val value: ByteArray,
    val headers: List<org.apache.kafka.common.header.Header>,
    val timestamp: Long,
    val frames: Int,
) {
    val size: Int get() = value.size + key.length + 64

    /** When it was queued ([System.nanoTime]): its delivery timeout counts from here. */
    val queuedAt: Long = System.nanoTime()
}
