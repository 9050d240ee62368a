package dev.earshot.voice.send

import dev.earshot.voice.base.NanoClock
import dev.earshot.voice.crypto.EncryptionMode
import dev.earshot.voice.crypto.TransportCipher
import dev.earshot.voice.datagram.DatagramSink
import dev.earshot.voice.rtp.RtpPayload
import dev.earshot.voice.rtp.RtpView
import kotlinx.coroutines.ExperimentalCoroutinesApi
import kotlinx.coroutines.delay
import kotlinx.coroutines.test.TestScope

/** What a test saw, in order: a speaking update or a datagram, each with the player clock's time in ms. */
sealed class Seen {
    abstract val atMs: Long

    data class Speaking(override val atMs: Long, val flags: Int) : Seen()

    class Datagram(override val atMs: Long, val bytes: ByteArray) : Seen()
}

/** An RTP packet opened with a cipher: header fields and the decrypted Opus payload. */
class Opened(val atMs: Long, val sequence: Int, val timestamp: Long, val ssrc: Long, val payload: ByteArray) {
    override fun toString(): String = "Opened(at=$atMs, seq=$sequence, ts=$timestamp, ssrc=$ssrc, ${payload.size} bytes)"
}

/**
 * Records a player's speaking updates and datagrams against the player's clock, which is the test's virtual time
 * plus [stallMs]: raising [stallMs] makes the player find itself late, as after a JVM pause.
 */
@OptIn(ExperimentalCoroutinesApi::class)
class PlayerRecorder(private val scope: TestScope) {
    val seen = ArrayList<Seen>()
    var stallMs = 0L
    /** Called with the index of each datagram after it is recorded (to detach, stall, ... at a given packet). */
    var onDatagram: (Int) -> Unit = {}
    var accept = true

    fun nowMs(): Long = scope.testScheduler.currentTime + stallMs

    val clock = NanoClock { nowMs() * 1_000_000L }

    val speaking: suspend (Int) -> Unit = { seen += Seen.Speaking(nowMs(), it) }

    val sink = object : DatagramSink {
        override fun send(buffer: ByteArray, offset: Int, length: Int): Boolean {
            seen += Seen.Datagram(nowMs(), buffer.copyOfRange(offset, offset + length))
            onDatagram(datagrams.size - 1)
            return accept
        }
    }

    val datagrams: List<Seen.Datagram> get() = seen.filterIsInstance<Seen.Datagram>()

    val speakingFlags: List<Int> get() = seen.filterIsInstance<Seen.Speaking>().map { it.flags }

    fun player(scope: kotlinx.coroutines.CoroutineScope = this.scope.backgroundScope) = AudioPlayer(scope, speaking, clock)
}

/** Opens [datagram] (rtpsize, as the player sends it) with [cipher]; null if it does not authenticate. */
fun open(datagram: Seen.Datagram, cipher: TransportCipher): Opened? {
    val d = datagram.bytes.copyOf()
    val view = RtpView()
    check(view.wrap(d, 0, d.size) == null) { "not RTP" }
    val plain = cipher.decrypt(d, 0, d.size, view.headerLength)
    if (plain < 0) return null
    val packed = RtpPayload.locate(d, view.headerLength, plain, view.padding, view.extensionLengthWords)
    check(packed != -1L) { "bad payload region" }
    val at = RtpPayload.payloadOffset(packed)
    return Opened(datagram.atMs, view.sequence, view.timestamp, view.ssrc, d.copyOfRange(at, at + RtpPayload.payloadLength(packed)))
}

fun key(seed: Int): ByteArray = ByteArray(TransportCipher.KEY_LENGTH) { (it * 13 + seed).toByte() }

fun cipher(seed: Int, mode: EncryptionMode = EncryptionMode.AEAD_AES256_GCM_RTPSIZE): TransportCipher =
    TransportCipher.create(mode, key(seed))

val SILENCE: ByteArray = byteArrayOf(0xF8.toByte(), 0xFF.toByte(), 0xFE.toByte())

/**
 * A source of the given frames that records what the player did with it: [beforeFrame] runs (and may suspend)
 * before frame i is returned; [failAt] makes frame i throw instead.
 */
class ScriptedSource(
    private val frames: List<ByteArray>,
    private val failAt: Int = -1,
    private val beforeFrame: suspend (Int) -> Unit = {},
) : OpusAudioSource {
    var served = 0
        private set
    var closed = 0
        private set

    override suspend fun nextFrame(): ByteArray? {
        if (served == failAt) throw IllegalStateException("source broke at frame $served")
        if (served >= frames.size) return null
        beforeFrame(served)
        return frames[served++]
    }

    override fun close() {
        closed++
    }
}

/** A source whose every frame waits [ms] first: a live source that has nothing yet. */
fun slowAt(index: Int, ms: Long): suspend (Int) -> Unit = { if (it == index) delay(ms) }
