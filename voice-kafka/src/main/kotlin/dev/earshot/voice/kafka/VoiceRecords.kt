package dev.earshot.voice.kafka

import dev.earshot.voice.codec.PcmFormat
import dev.earshot.voice.model.AudioFrame
import dev.earshot.voice.model.FrameKind
import dev.earshot.voice.model.VoiceEvent
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.JsonPrimitive
import kotlinx.serialization.json.buildJsonObject
import kotlinx.serialization.json.jsonPrimitive
import kotlinx.serialization.json.put
import java.nio.ByteBuffer
import java.nio.ByteOrder

/**
 * The record format (version 1) shared by [KafkaVoiceSink] and [VoiceKafkaWorker], described for other languages in
 * `docs/kafka-records.md`. Header values are UTF-8 text; audio values are binary (big-endian fields, little-endian
 * PCM); control values are UTF-8 JSON objects.
 */
public object VoiceRecords {
    /** The format version, header [H_VERSION]. */
    public const val VERSION: String = "1"

    public const val H_VERSION: String = "earshot-version"
    public const val H_TYPE: String = "earshot-type"
    public const val H_SESSION: String = "earshot-session"
    public const val H_SEQ: String = "earshot-seq"
    public const val H_GUILD: String = "earshot-guild"
    public const val H_CHANNEL: String = "earshot-channel"
    public const val H_USER: String = "earshot-user"
    public const val H_SSRC: String = "earshot-ssrc"
    public const val H_TICK: String = "earshot-tick"
    public const val H_WALLCLOCK: String = "earshot-wallclock"
    public const val H_FRAMES: String = "earshot-frames"
    public const val H_FORMAT: String = "earshot-format"

    /** Record types (header [H_TYPE]). */
    public const val T_START: String = "start"
    public const val T_AUDIO: String = "audio"
    public const val T_EVENT: String = "event"
    public const val T_PROGRESS: String = "progress"
    public const val T_CONNECTION: String = "connection"
    public const val T_END: String = "end"

    /** The key of a user's records: `<guild>/<user>`. */
    @JvmStatic
    public fun userKey(guildId: Long, userId: Long): String = "$guildId/$userId"

    /** The key of audio from an SSRC whose user is not known yet: `<guild>/ssrc-<ssrc>`. */
    @JvmStatic
    public fun ssrcKey(guildId: Long, ssrc: Long): String = "$guildId/ssrc-$ssrc"

    /** The key of session-wide records (start, progress, connection, end): `<guild>`. */
    @JvmStatic
    public fun sessionKey(guildId: Long): String = "$guildId"

    /** The value of [H_FORMAT] for what a sink publishes. */
    @JvmStatic
    public fun formatName(opus: Boolean, pcm: PcmFormat?): String = buildString {
        if (opus) append("opus")
        if (pcm != null) {
            if (opus) append('+')
            append("pcm-s16le-").append(pcm.sampleRate).append('-').append(pcm.channels)
        }
    }

    /** The PCM format named in a [formatName], or null. */
    internal fun pcmOf(format: String): PcmFormat? {
        val part = format.split('+').firstOrNull { it.startsWith("pcm-s16le-") } ?: return null
        val (rate, channels) = part.removePrefix("pcm-s16le-").split('-').map { it.toInt() }
        return PcmFormat.entries.firstOrNull { it.sampleRate == rate && it.channels == channels }
            ?: throw IllegalArgumentException("unknown PCM format $part")
    }

    // Fixed part of a frame: tick 8, wallclock 8, ssrc 4, seq 2, rtp ts 4, kind 1, level 2, flags 2, user 8, count 1.
    internal const val FRAME_FIXED = 40

    /** Kind codes on the wire (`kind` byte). */
    internal fun kindCode(kind: FrameKind): Int = when (kind) {
        FrameKind.DECODED -> 0
        FrameKind.CONCEALED -> 1
        FrameKind.FEC_RECOVERED -> 2
        FrameKind.MISSING -> 3
        FrameKind.SILENCE -> 4
    }

    internal fun kindOf(code: Int): FrameKind = when (code) {
        0 -> FrameKind.DECODED
        1 -> FrameKind.CONCEALED
        2 -> FrameKind.FEC_RECOVERED
        3 -> FrameKind.MISSING
        4 -> FrameKind.SILENCE
        else -> throw IllegalArgumentException("unknown frame kind $code")
    }

    /** Bytes [writeFrame] writes for [f]. */
    internal fun frameSize(f: AudioFrame, opus: Boolean, pcm: Boolean): Int {
        var n = FRAME_FIXED + 4
        if (opus) {
            if (f.opus != null) n += 2 + f.opus!!.size
            for (p in f.extraOpus) n += 2 + p.size
        }
        if (pcm) n += 2 * (f.pcm?.size ?: 0)
        return n
    }

    /** Writes one frame (see `docs/kafka-records.md`, "audio"). */
    internal fun writeFrame(buf: ByteBuffer, f: AudioFrame, wallclockMs: Long, opus: Boolean, pcm: Boolean) {
        buf.order(ByteOrder.BIG_ENDIAN)
        buf.putLong(f.tick)
        buf.putLong(wallclockMs)
        buf.putInt(f.ssrc.toInt())
        buf.putShort(f.sequence.toShort())
        buf.putInt(f.rtpTimestamp.toInt())
        buf.put(kindCode(f.kind).toByte())
        buf.putShort(f.audioLevel.toShort())
        buf.putShort(f.speakerFlags.toShort())
        buf.putLong(f.userId ?: 0L)
        val packets = if (!opus || f.opus == null) emptyList() else listOf(f.opus!!) + f.extraOpus
        buf.put(packets.size.toByte())
        for (p in packets) {
            buf.putShort(p.size.toShort())
            buf.put(p)
        }
        val samples = if (pcm) f.pcm else null
        buf.putInt(samples?.size ?: 0)
        if (samples != null) {
            buf.order(ByteOrder.LITTLE_ENDIAN)
            for (s in samples) buf.putShort(s)
            buf.order(ByteOrder.BIG_ENDIAN)
        }
    }

    /** A decoded frame of an audio record, with its wall-clock stamp. */
    internal class DecodedFrame(val frame: AudioFrame, val wallclockMs: Long)

    /**
     * Reads the frames of an audio record's value; throws [IllegalArgumentException] (or a [java.nio.BufferUnderflowException])
     * on a malformed value. [maxFrames] bounds what a broken or hostile record can make us allocate.
     */
    internal fun readFrames(value: ByteArray, maxFrames: Int = 1000): List<DecodedFrame> {
        val buf = ByteBuffer.wrap(value).order(ByteOrder.BIG_ENDIAN)
        val out = ArrayList<DecodedFrame>()
        while (buf.hasRemaining()) {
            require(out.size < maxFrames) { "more than $maxFrames frames in one record" }
            val tick = buf.long
            val wallclock = buf.long
            val ssrc = buf.int.toLong() and 0xFFFF_FFFFL
            val seq = buf.short.toInt() and 0xFFFF
            val ts = buf.int.toLong() and 0xFFFF_FFFFL
            val kind = kindOf(buf.get().toInt() and 0xFF)
            val level = buf.short.toInt()
            val flags = buf.short.toInt()
            val user = buf.long.takeIf { it != 0L }
            val count = buf.get().toInt() and 0xFF
            val packets = ArrayList<ByteArray>(count)
            repeat(count) {
                val len = buf.short.toInt() and 0xFFFF
                require(len <= buf.remaining()) { "Opus packet longer than the record" }
                packets += ByteArray(len).also(buf::get)
            }
            val samples = buf.int
            require(samples >= 0 && samples * 2L <= buf.remaining()) { "PCM longer than the record" }
            val pcm = if (samples == 0) null else ShortArray(samples).also {
                buf.order(ByteOrder.LITTLE_ENDIAN)
                buf.asShortBuffer().get(it)
                buf.position(buf.position() + samples * 2)
                buf.order(ByteOrder.BIG_ENDIAN)
            }
            val frame = AudioFrame(
                ssrc, user, tick, seq, ts, pcm, packets.firstOrNull(), kind, level, flags,
                if (packets.size > 1) packets.subList(1, packets.size).toList() else emptyList(),
            )
            out += DecodedFrame(frame, wallclock)
        }
        return out
    }

    /** The JSON of a control event, or null for events that are not published (RTCP, stats). */
    internal fun eventJson(event: VoiceEvent): JsonObject? = when (event) {
        is VoiceEvent.SpeakingStarted -> buildJsonObject {
            put("event", "speaking_started"); event.userId?.let { put("user", it.toString()) }; put("ssrc", event.ssrc); put("tick", event.tick)
        }
        is VoiceEvent.SpeakingStopped -> buildJsonObject {
            put("event", "speaking_stopped"); event.userId?.let { put("user", it.toString()) }; put("ssrc", event.ssrc); put("tick", event.tick)
        }
        is VoiceEvent.MemberConnected -> buildJsonObject { put("event", "member_connected"); put("user", event.userId.toString()) }
        is VoiceEvent.MemberDisconnected -> buildJsonObject { put("event", "member_disconnected"); put("user", event.userId.toString()) }
        is VoiceEvent.SpeakingStateChanged -> buildJsonObject {
            put("event", "ssrc_mapped"); put("user", event.userId.toString()); put("ssrc", event.ssrc); put("flags", event.flags)
        }
        is VoiceEvent.MemberVideo -> buildJsonObject {
            put("event", "member_video"); put("user", event.userId.toString()); put("audio_ssrc", event.audioSsrc); put("video_ssrc", event.videoSsrc)
        }
        is VoiceEvent.MemberFlags -> buildJsonObject { put("event", "member_flags"); put("user", event.userId.toString()); put("flags", event.flags) }
        is VoiceEvent.MemberPlatform -> buildJsonObject { put("event", "member_platform"); put("user", event.userId.toString()); put("platform", event.platform) }
        is VoiceEvent.Rtcp, is VoiceEvent.Stats -> null
    }

    /** The [VoiceEvent] of an event record's JSON, or null for an event this version does not know. */
    internal fun eventOf(json: JsonObject): VoiceEvent? {
        // Ids are JSON strings (snowflakes exceed a double's 53 bits), counts and ticks numbers; both read here.
        fun long(name: String): Long = json.getValue(name).jsonPrimitive.content.toLong()
        fun userOrNull(): Long? = (json["user"] as? JsonPrimitive)?.content?.toLongOrNull()
        return when (json["event"]?.jsonPrimitive?.content) {
            "speaking_started" -> VoiceEvent.SpeakingStarted(userOrNull(), long("ssrc"), long("tick"))
            "speaking_stopped" -> VoiceEvent.SpeakingStopped(userOrNull(), long("ssrc"), long("tick"))
            "member_connected" -> VoiceEvent.MemberConnected(long("user"))
            "member_disconnected" -> VoiceEvent.MemberDisconnected(long("user"))
            "ssrc_mapped" -> VoiceEvent.SpeakingStateChanged(long("user"), long("ssrc"), long("flags").toInt())
            "member_video" -> VoiceEvent.MemberVideo(long("user"), long("audio_ssrc"), long("video_ssrc"))
            "member_flags" -> VoiceEvent.MemberFlags(long("user"), long("flags").toInt())
            "member_platform" -> VoiceEvent.MemberPlatform(long("user"), long("platform").toInt())
            else -> null
        }
    }
}
