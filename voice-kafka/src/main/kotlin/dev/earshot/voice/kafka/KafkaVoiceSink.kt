package dev.earshot.voice.kafka

import dev.earshot.voice.model.ReceiveTimeline
import dev.earshot.voice.codec.PcmFormat
import dev.earshot.voice.connection.VoiceConnection
import dev.earshot.voice.connection.VoiceConnectionState
import dev.earshot.voice.model.AudioFrame
import dev.earshot.voice.model.VoiceEvent
import dev.earshot.voice.model.VoiceTick
import dev.earshot.voice.sink.AudioFormat
import dev.earshot.voice.sink.AudioSink
import dev.earshot.voice.sink.Listening
import dev.earshot.voice.sink.SinkOverflow
import dev.earshot.voice.sink.VoiceUser
import kotlinx.coroutines.CoroutineName
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Job
import kotlinx.coroutines.launch
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.buildJsonObject
import kotlinx.serialization.json.put
import org.apache.kafka.common.header.Header
import org.apache.kafka.common.header.internals.RecordHeader
import java.nio.ByteBuffer
import java.time.Instant
import java.util.concurrent.ConcurrentLinkedQueue

/**
 * An [AudioSink] that publishes what one connection receives to Kafka through a [VoiceKafkaPublisher]: per user, a
 * record of up to `batchTicks` frames (Opus as received and/or PCM), the control events on the same keys, a `start`
 * record, `progress` records saying which ticks are complete, and an `end` record. Made by
 * [VoiceKafkaPublisher.sink]; listen it like any sink (`connection.listen(sink)`), in the same recording as local
 * sinks to get the same t0 and end. Its work per tick is encoding and a non-blocking hand-over: it never waits for
 * the broker.
 *
 * @property sessionId this sink's session: every record carries it; a worker keeps sessions apart by it.
 */
public class KafkaVoiceSink internal constructor(
    private val publisher: VoiceKafkaPublisher,
    public val guildId: Long,
    public val channelId: Long,
    private val opus: Boolean,
    private val pcm: PcmFormat?,
    private val batchTicks: Int,
    public val sessionId: String,
) : AudioSink {
    init {
        require(opus || pcm != null) { "publish Opus, PCM or both" }
        require(batchTicks in 1..50) { "batchTicks must be 1..50" }
    }

    override val wants: AudioFormat = if (pcm != null) AudioFormat.Pcm(pcm) else AudioFormat.Opus

    /** 10 s of ticks: encoding is quick, so this only fills when the process stalls. */
    override val overflow: SinkOverflow = SinkOverflow.DropOldest(500)

    private val format = VoiceRecords.formatName(opus, pcm)
    private var listening: Listening? = null
    private var timeline: ReceiveTimeline? = null
    private var startSent = false
    private var seq = 0L
    private var windowStart = -1L
    private var lastTick = -1L
    private var lastProgress = -1L
    private val audio = LinkedHashMap<String, MutableList<AudioFrame>>()
    private val pending = ArrayList<OutRecord>()
    private val connectionNotes = ConcurrentLinkedQueue<JsonObject>()

    override suspend fun onStart(listening: Listening) {
        this.listening = listening
        this.timeline = listening.recording.timeline
        lastTick = listening.listenTick - 1
    }

    override suspend fun write(user: VoiceUser?, data: AudioFrame) {
        val key = data.userId?.let { VoiceRecords.userKey(guildId, it) } ?: VoiceRecords.ssrcKey(guildId, data.ssrc)
        audio.getOrPut(key) { ArrayList(batchTicks) } += data
    }

    override suspend fun onTick(tick: VoiceTick) {
        if (windowStart < 0) windowStart = tick.tick
        for (f in tick.speaking) write(null, f)
        lastTick = tick.tick
        if (tick.tick - windowStart + 1 >= batchTicks) flush(progressIdle = false)
    }

    override suspend fun onEvent(event: VoiceEvent) {
        val json = VoiceRecords.eventJson(event) ?: return
        val (user, ssrc) = when (event) {
            is VoiceEvent.SpeakingStarted -> event.userId to event.ssrc
            is VoiceEvent.SpeakingStopped -> event.userId to event.ssrc
            is VoiceEvent.SpeakingStateChanged -> event.userId to event.ssrc
            is VoiceEvent.MemberConnected -> event.userId to null
            is VoiceEvent.MemberDisconnected -> event.userId to null
            is VoiceEvent.MemberVideo -> event.userId to event.audioSsrc
            is VoiceEvent.MemberFlags -> event.userId to null
            is VoiceEvent.MemberPlatform -> event.userId to null
            else -> null to null
        }
        val key = when {
            user != null -> VoiceRecords.userKey(guildId, user)
            ssrc != null -> VoiceRecords.ssrcKey(guildId, ssrc)
            else -> VoiceRecords.sessionKey(guildId)
        }
        pending += control(VoiceRecords.T_EVENT, key, lastTick, json, user, ssrc)
    }

    /**
     * Publishes a connection state change (a reconnect, a resume, the end) in order with the audio, on the session key.
     * Thread-safe; the record goes out with the next batch. [follow] calls it for every state of a connection.
     */
    public fun connectionState(state: VoiceConnectionState) {
        connectionNotes += buildJsonObject {
            when (state) {
                is VoiceConnectionState.Connecting -> put("state", "connecting")
                is VoiceConnectionState.Connected -> { put("state", "connected"); put("ssrc", state.ssrc) }
                is VoiceConnectionState.Reconnecting -> {
                    put("state", "reconnecting"); put("resuming", state.resuming); put("close_code", state.closeCode)
                    put("attempt", state.attempt)
                }
                is VoiceConnectionState.WaitingForServer -> put("state", "waiting_for_server")
                // The cause's class only: a message could carry anything.
                is VoiceConnectionState.Closed -> { put("state", "closed"); state.cause?.let { put("cause", it.javaClass.name) } }
            }
        }
    }

    /** Publishes [connection]'s state changes ([connectionState]) until [scope] ends. */
    public fun follow(connection: VoiceConnection, scope: CoroutineScope): Job =
        scope.launch(CoroutineName("earshot-kafka-follow")) { connection.state.collect { connectionState(it) } }

    override suspend fun cleanup() {
        flush(progressIdle = true)
        val end = listening?.endTick ?: lastTick
        val json = buildJsonObject { put("end_tick", end) }
        publish(control(VoiceRecords.T_END, VoiceRecords.sessionKey(guildId), end, json, null, null))
    }

    private fun flush(progressIdle: Boolean) {
        if (!startSent) {
            startSent = true
            publish(startRecord())
        }
        var published = false
        while (true) {
            val note = connectionNotes.poll() ?: break
            publish(control(VoiceRecords.T_CONNECTION, VoiceRecords.sessionKey(guildId), lastTick, note, null, null))
            published = true
        }
        for (r in pending) publish(r)
        if (pending.isNotEmpty()) published = true
        pending.clear()
        for ((key, frames) in audio) {
            if (frames.isEmpty()) continue
            publish(audioRecord(key, frames))
            frames.clear()
            published = true
        }
        // Drop per-key lists of speakers gone quiet so a long session with many speakers stays small.
        if (audio.size > 64) audio.values.removeAll { it.isEmpty() }
        windowStart = -1
        // Silence needs no record every window: a worker only needs to learn, now and then, that time went on.
        if (published || progressIdle || lastTick - lastProgress >= IDLE_PROGRESS_TICKS) {
            if (lastTick > lastProgress) {
                val json = buildJsonObject { put("tick", lastTick) }
                publish(control(VoiceRecords.T_PROGRESS, VoiceRecords.sessionKey(guildId), lastTick, json, null, null))
                lastProgress = lastTick
            }
        }
    }

    private fun publish(r: OutRecord) = publisher.offer(r)

    private fun origin(): Instant = timeline?.takeIf { it.isStarted }?.origin ?: Instant.EPOCH

    private fun wallclockMs(tick: Long): Long = origin().toEpochMilli() + tick * 20

    private fun startRecord(): OutRecord {
        val l = listening
        val json = buildJsonObject {
            put("session", sessionId)
            put("guild", guildId.toString())
            put("channel", channelId.toString())
            put("start_tick", l?.startTick ?: 0)
            put("listen_tick", l?.listenTick ?: 0)
            put("origin", origin().toString())
            put("format", format)
            put("batch_ticks", batchTicks)
        }
        return control(VoiceRecords.T_START, VoiceRecords.sessionKey(guildId), l?.listenTick ?: 0, json, null, null)
    }

    private fun headers(type: String, tick: Long, user: Long?, ssrc: Long?): MutableList<Header> {
        val h = ArrayList<Header>(12)
        fun add(name: String, value: String) {
            h += RecordHeader(name, value.toByteArray(Charsets.UTF_8))
        }
        add(VoiceRecords.H_VERSION, VoiceRecords.VERSION)
        add(VoiceRecords.H_TYPE, type)
        add(VoiceRecords.H_SESSION, sessionId)
        add(VoiceRecords.H_SEQ, (seq++).toString())
        add(VoiceRecords.H_GUILD, guildId.toString())
        add(VoiceRecords.H_CHANNEL, channelId.toString())
        if (user != null) add(VoiceRecords.H_USER, user.toString())
        if (ssrc != null) add(VoiceRecords.H_SSRC, ssrc.toString())
        add(VoiceRecords.H_TICK, tick.toString())
        add(VoiceRecords.H_WALLCLOCK, wallclockMs(tick).toString())
        return h
    }

    private fun control(type: String, key: String, tick: Long, json: JsonObject, user: Long?, ssrc: Long?): OutRecord =
        OutRecord(guildId, key, json.toString().toByteArray(Charsets.UTF_8), headers(type, tick, user, ssrc), wallclockMs(tick), 0)

    private fun audioRecord(key: String, frames: List<AudioFrame>): OutRecord {
        var size = 0
        for (f in frames) size += VoiceRecords.frameSize(f, opus, pcm != null)
        val buf = ByteBuffer.allocate(size)
        for (f in frames) VoiceRecords.writeFrame(buf, f, wallclockMs(f.tick), opus, pcm != null)
        val first = frames[0]
        val h = headers(VoiceRecords.T_AUDIO, first.tick, first.userId, first.ssrc)
        h += RecordHeader(VoiceRecords.H_FRAMES, frames.size.toString().toByteArray())
        h += RecordHeader(VoiceRecords.H_FORMAT, format.toByteArray())
        return OutRecord(guildId, key, buf.array(), h, wallclockMs(first.tick), frames.size)
    }

    override fun toString(): String = "KafkaVoiceSink(guild=$guildId, session=$sessionId, format=$format)"

    private companion object {
        /** A `progress` record at least once a second even when nobody speaks. */
        const val IDLE_PROGRESS_TICKS = 50
    }
}
