package dev.earshot.voice.e2e

import io.kotest.matchers.longs.shouldBeLessThanOrEqual
import io.kotest.matchers.ints.shouldBeGreaterThanOrEqual
import io.kotest.matchers.shouldBe
import dev.earshot.voice.ReceiveConfig
import dev.earshot.voice.model.ReceiveStats
import dev.earshot.voice.codec.ConcentusDecoderFactory
import dev.earshot.voice.codec.PcmFormat
import dev.earshot.voice.connection.VoiceConnection
import dev.earshot.voice.connection.VoiceConnectionConfig
import dev.earshot.voice.connection.VoiceSessionInfo
import dev.earshot.voice.model.AudioFrame
import dev.earshot.voice.model.FrameKind
import dev.earshot.voice.testing.Pcm
import dev.earshot.voice.testing.Speech
import dev.earshot.voice.testkit.ClientSession
import dev.earshot.voice.testkit.SentFrame
import dev.earshot.voice.testkit.TestServerConfig
import dev.earshot.voice.testkit.VoiceTestServer
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.Deferred
import kotlinx.coroutines.async
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.filter
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.flow.produceIn
import kotlinx.coroutines.withTimeoutOrNull
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.withTimeout
import dev.earshot.voice.model.VoiceEvent
import dev.earshot.voice.testkit.ScriptedMember
import kotlin.time.Duration.Companion.seconds
import kotlin.math.log10
import kotlin.time.Duration.Companion.milliseconds

/** Earshot's real connection against a real (local) voice server over loopback: the end-to-end setup. */
class E2eHarness(config: TestServerConfig = TestServerConfig(seed = 42)) : AutoCloseable {
    val server: VoiceTestServer = VoiceTestServer.start(config)
    val channel = server.channel(GUILD.toString(), CHANNEL.toString())

    suspend fun connect(scope: CoroutineScope, configure: VoiceConnectionConfig.Builder.() -> Unit = {}): VoiceConnection {
        val grant = server.grant(GUILD.toString(), CHANNEL.toString(), BOT.toString())
        val info = VoiceSessionInfo(GUILD, CHANNEL, BOT, grant.sessionId, grant.token, grant.endpoint)
        return VoiceConnection.connect(info, connectionConfig(configure), scope)
    }

    fun connectionConfig(configure: VoiceConnectionConfig.Builder.() -> Unit = {}): VoiceConnectionConfig = VoiceConnectionConfig {
        secure = server.config.tls
        trustManager = server.tls?.trustManager
        // Collectors may queue a minute of ticks: these tests check the network path, and a starved test thread
        // must not lose the recording (in production a slow collector loses its own oldest ticks, counted).
        receive = ReceiveConfig { decode = PcmFormat.STEREO_48K; tickQueueCapacity = RECORDING_QUEUE_TICKS }
        reconnectDelay = 100.milliseconds
        configure()
    }

    /** The testkit's view of our bot's session. */
    fun botSession(): ClientSession = checkNotNull(server.session(GUILD.toString(), BOT.toString())) { "no bot session" }

    override fun close() = server.close()

    companion object {
        const val GUILD = 111L
        const val CHANNEL = 222L
        const val BOT = 999L
        const val RECORDING_QUEUE_TICKS = 3000
    }
}

/**
 * Waits until Earshot and every one of [members] are in the same DAVE epoch (equal, non-null privacy codes: the code
 * is derived from the epoch authenticator, so equal codes mean one group and one epoch) and returns the code.
 */
suspend fun VoiceConnection.awaitSameDaveGroup(members: List<ScriptedMember>): String = withTimeout(10.seconds) {
    var code = dave?.privacyCode
    while (code == null || members.any { it.daveSession?.privacyCode != code }) {
        delay(10)
        code = dave?.privacyCode
    }
    code
}

/** The share of [member]'s audio frames (silence excluded) that went out as DAVE frames. */
fun daveShare(member: ScriptedMember): Double {
    val audio = member.sent.filter { !it.isSilence }
    return audio.count { it.daveEncrypted }.toDouble() / audio.size
}

/** Collects one user's frames from now until the connection ends. */
fun CoroutineScope.recordFrames(connection: VoiceConnection, userId: Long): Deferred<List<AudioFrame>> =
    async(start = CoroutineStart.UNDISPATCHED) { connection.receiver.frames(userId).toList() }

/** Suspends until [member] has sent [frames] frames: a point in its script rather than a wall-clock time. */
suspend fun ScriptedMember.awaitSent(frames: Int) = withTimeout(30.seconds) {
    while (sent.size < frames) delay(5)
}

/**
 * Watches from now for [userId]'s talking to end in [connection]'s receiver (their last audio played out, the speaking
 * hang over, and a second without a new start); await the result. Start it before the user's last talk spurt.
 */
fun CoroutineScope.playedOut(connection: VoiceConnection, userId: Long): Deferred<VoiceEvent> =
    async(start = CoroutineStart.UNDISPATCHED) {
        val events = connection.receiver.speaking.filter {
            (it is VoiceEvent.SpeakingStarted && it.userId == userId) || (it is VoiceEvent.SpeakingStopped && it.userId == userId)
        }.produceIn(this)
        try {
            withTimeout(30.seconds) {
                while (true) {
                    val e = events.receive()
                    // A stall of this machine can end a talk spurt early; the user is done only once a stop is
                    // followed by a quiet second.
                    if (e is VoiceEvent.SpeakingStopped && withTimeoutOrNull(QUIET_AFTER_STOP) { events.receive() } == null) return@withTimeout e
                }
                @Suppress("UNREACHABLE_CODE") error("unreachable")
            }
        } finally {
            events.cancel()
        }
    }

private val QUIET_AFTER_STOP = 1.seconds

/** How a user's received frames compare with what the scripted member sent. */
class Comparison(
    val sentAudio: Int,
    val receivedIntact: Int,
    val concealed: Int,
    val fecRecovered: Int,
    /** SNR of the decoded frames against a clean decode of everything sent. */
    val snrDecodedDb: Double,
    /** SNR over every slot the receiver played for the user (decoded, concealed, FEC-recovered). */
    val snrAllDb: Double,
    /**
     * Frames whose PCM differs from a fresh decoder fed the same decisions the receiver reports (decode the packet
     * for DECODED, conceal for CONCEALED, FEC from the next packet for FEC_RECOVERED, a reset where the user's
     * ticks stop): 0 means every sample the receiver produced is exactly what that decoding yields.
     */
    val mismatched: Int,
) {
    val intactShare: Double get() = receivedIntact.toDouble() / sentAudio
    override fun toString(): String =
        "sent=$sentAudio intact=$receivedIntact (${"%.1f".format(100 * intactShare)} %) concealed=$concealed fec=$fecRecovered " +
            "snr decoded=${"%.1f".format(snrDecodedDb)} dB, all=${"%.1f".format(snrAllDb)} dB, mismatched=$mismatched"
}

/**
 * Matches received frames to sent audio frames by RTP sequence number: counts frames whose Opus payload arrived
 * byte-identical, and computes the SNR of the received PCM against a clean, lossless decode of everything sent.
 */
fun compare(sent: List<SentFrame>, received: List<AudioFrame>): Comparison =
    compareFrames(sent.filter { !it.isSilence }.map { it.sequence to it.opus }, received)

/** [compare] for audio frames given as (RTP sequence, Opus payload), silence frames excluded. */
fun compareFrames(audio: List<Pair<Int, ByteArray>>, received: List<AudioFrame>): Comparison {
    val reference = Speech.decodeAll(audio.map { it.second }, PcmFormat.STEREO_48K)
    val refBySeq = audio.indices.associateBy { audio[it].first }
    val opusBySeq = audio.associate { it.first to it.second }
    var intact = 0
    val decoded = DoubleArray(2)
    val all = DoubleArray(2)
    for (f in received) {
        val i = refBySeq[f.sequence] ?: continue
        if (f.kind == FrameKind.DECODED && f.opus?.contentEquals(opusBySeq[f.sequence]) == true) intact++
        val pcm = f.pcm ?: continue
        val ref = reference[i]
        if (ref.size != pcm.size) continue
        val signal = Pcm.energy(ref, 0, ref.size)
        var noise = 0.0
        for (k in ref.indices) {
            val d = (ref[k] - pcm[k]).toDouble()
            noise += d * d
        }
        all[0] += signal
        all[1] += noise
        if (f.kind == FrameKind.DECODED) {
            decoded[0] += signal
            decoded[1] += noise
        }
    }
    fun snr(a: DoubleArray) = if (a[1] == 0.0) Double.POSITIVE_INFINITY else 10 * log10(a[0] / a[1])
    return Comparison(
        audio.size, intact,
        received.count { it.kind == FrameKind.CONCEALED && it.sequence in refBySeq },
        received.count { it.kind == FrameKind.FEC_RECOVERED && it.sequence in refBySeq },
        snr(decoded), snr(all), followingMismatches(opusBySeq, received),
    )
}

/**
 * Replays the receiver's reported decisions for one user's [received] frames (20 ms each, in tick order) on a fresh
 * decoder and counts the frames whose PCM differs. A talk spurt ends, and the receiver resets its decoder, exactly
 * where the user's ticks stop being consecutive.
 */
private fun followingMismatches(opusBySeq: Map<Int, ByteArray>, received: List<AudioFrame>): Int {
    val format = PcmFormat.STEREO_48K
    val decoder = ReceiveConfig {}.decoderFactory.create(format) // the receiver's default decoder
    val out = ShortArray(format.maxBufferSize)
    var mismatched = 0
    var lastTick = Long.MIN_VALUE
    for (f in received) {
        if (lastTick != Long.MIN_VALUE && f.tick != lastTick + 1) decoder.reset()
        lastTick = f.tick
        val n = when (f.kind) {
            FrameKind.DECODED -> opusBySeq[f.sequence]?.let { decoder.decode(it, 0, it.size, out) }
            FrameKind.CONCEALED -> decoder.conceal(FRAME_SAMPLES, out)
            FrameKind.FEC_RECOVERED -> opusBySeq[(f.sequence + 1) and 0xFFFF]?.let { decoder.decodeFec(it, 0, it.size, FRAME_SAMPLES, out) }
            else -> null
        }
        val pcm = f.pcm
        if (n == null || pcm == null || n * format.channels != pcm.size || !pcm.contentEquals(out.copyOf(pcm.size))) mismatched++
    }
    return mismatched
}

private const val FRAME_SAMPLES = 960

/**
 * Checks what a discord.js member heard of Earshot's player against the file it played: every frame byte for byte and
 * in order. Only frames the player skipped after a stall of this machine (more than 200 ms behind; it counts them) may
 * be missing: at most 15 %. Returns how many were heard.
 */
fun assertHeardInOrder(heard: List<ByteArray>, file: List<ByteArray>): Int {
    val expected = file.map { it.toList() }
    val positions = heard.filter { it.size != 3 }.map { expected.indexOf(it.toList()) } // 3 bytes: silence frames
    positions.count { it < 0 } shouldBe 0
    positions.zipWithNext().count { (x, y) -> y <= x } shouldBe 0
    (positions.size * 100 / expected.size) shouldBeGreaterThanOrEqual 85
    return positions.size
}

/**
 * How many play-out slots stalls of this shared machine may have cost one user: each tick the receive clock produced
 * late ([ReceiveStats.lateTicks], counted once it is a whole tick behind) and each frame the sender put out more than
 * 40 ms behind its own schedule can make a slot play before its packet is in. [schedule] is the sender's frames as
 * (RTP timestamp, send time in `System.nanoTime()` nanoseconds).
 */
@JvmName("stalledSlotsOfSchedule")
fun stalledSlots(receiver: ReceiveStats, schedule: List<Pair<Long, Long>>): Long =
    receiver.lateTicks + behindSchedule(schedule, SENDER_SLACK_NANOS)

/** [stalledSlots] for a scripted member's frames. */
fun stalledSlots(receiver: ReceiveStats, sent: List<SentFrame>): Long =
    stalledSlots(receiver, sent.map { it.timestamp to it.sentAtNanos })

/**
 * Counts frames sent more than [slackNanos] behind the sender's schedule: a frame's due time is the most punctual
 * frame's send time moved by the RTP timestamp difference (48 kHz; pauses move the timestamp too).
 */
fun behindSchedule(schedule: List<Pair<Long, Long>>, slackNanos: Long): Int {
    val (firstTimestamp, firstNanos) = schedule.firstOrNull() ?: return 0
    val lateness = schedule.map { (timestamp, nanos) ->
        (nanos - firstNanos) - ((timestamp - firstTimestamp) and 0xFFFF_FFFFL) * 1_000_000_000L / 48_000
    }
    val punctual = lateness.min()
    return lateness.count { it - punctual > slackNanos }
}

private const val SENDER_SLACK_NANOS = 40_000_000L

/**
 * On loopback nothing is lost; only slots that a stall of this shared machine made play before their packet came are
 * concealed instead of decoded: at most 5 % of the frames plus the [stalledSlots] the run measured.
 */
fun Comparison.shouldBeIntactBarStalls(stalledSlots: Long) {
    (sentAudio - receivedIntact).toLong() shouldBeLessThanOrEqual sentAudio / 20 + stalledSlots
}

/** The RTP sequence numbers of the frames the receiver decoded from their own packet. */
fun intactSequences(received: List<AudioFrame>): Set<Int> =
    received.filter { it.kind == FrameKind.DECODED }.map { it.sequence }.toSet()

/** How a member's audio frames sent outside an outage fared: [sent] of them, [missing] not decoded from their packet. */
data class OutsideOutage(val sent: Int, val missing: Int)

/**
 * Compares the audio frames [sent] outside the outage from [fromNanos] to [toNanos] (`System.nanoTime()`, widened by
 * 100 ms either side for frames in flight) with what was [received]: those should all be intact.
 */
fun outsideOutage(sent: List<SentFrame>, received: List<AudioFrame>, fromNanos: Long, toNanos: Long): OutsideOutage {
    val intact = intactSequences(received)
    val outside = sent.filter { !it.isSilence && (it.sentAtNanos < fromNanos - OUTAGE_MARGIN_NANOS || it.sentAtNanos > toNanos + OUTAGE_MARGIN_NANOS) }
    return OutsideOutage(outside.size, outside.count { it.sequence !in intact })
}

private const val OUTAGE_MARGIN_NANOS = 100_000_000L
