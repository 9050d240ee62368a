package dev.earshot.voice.send

import dev.earshot.voice.base.NanoClock
import dev.earshot.voice.base.VoiceConstants
import dev.earshot.voice.e2ee.FrameEncryptor
import dev.earshot.voice.crypto.TransportCipher
import dev.earshot.voice.datagram.DatagramSink
import kotlinx.coroutines.CoroutineExceptionHandler
import kotlinx.coroutines.CoroutineName
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.Job
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.delay
import kotlinx.coroutines.launch
import org.slf4j.LoggerFactory
import java.util.concurrent.atomic.AtomicLong

/**
 * Plays Opus audio into a voice connection: one [OpusAudioSource] at a time, one RTP packet per 20 ms.
 *
 * The connection tells the player where to send with [attach] (after each Session Description) and [detach]
 * (while it reconnects). A playback sends op 5 speaking(1) through [speaking] before its first packet, paces
 * frames at absolute 20 ms deadlines of the coroutine clock ([delay], read through [clock]), and after the last
 * frame sends five Opus silence frames (`F8 FF FE`, so that receivers do not interpolate into the pause) and then
 * speaking(0).
 *
 * Timing: a frame is fetched from the source before its deadline and sent at it. Whole slots that pass while the
 * player waits for the source (a live source with nothing yet) or for speaking(1) stay empty: that is a pause in the
 * audio, and the RTP timestamp moves over it. Time the player itself loses (a stalled JVM, a busy dispatcher) is
 * made up: late frames go out at once, at most [MAX_BURST] back to back, then two per 20 ms until back on the grid.
 * When it is more than [MAX_LAG_MS] (200 ms) behind, it skips instead: the frames of the missed slots are taken from
 * the source and dropped (counted in [framesDropped]); if the source has no such backlog, the remaining slots are
 * left empty. RTP timestamps advance by 960 per slot (sent, dropped or empty) and, across a pause between two
 * playbacks, by the time elapsed; sequence numbers advance by one per packet. A live source should therefore produce
 * in real time; one that buffers a backlog adds that much latency.
 *
 * Failures stay inside: a source that throws ends its playback with that error (logged; [Playback.await] throws it),
 * and neither the player nor [scope] is cancelled. All methods are thread-safe.
 *
 * @param scope where playbacks run (the connection's scope); cancelling it stops them. The player never cancels it.
 * @param speaking sends op 5 Speaking with the given flags (1 = microphone, 0 = stopped) for the current SSRC;
 *   called from the player's coroutine. An exception from it is logged and the playback goes on.
 * @param clock the monotonic clock the deadlines are measured on; tests pass the test scheduler's virtual time.
 * @param frameEncryptor the end-to-end (DAVE) step applied to each frame before packetizing; null sends frames as they are.
 */
public class AudioPlayer(
    scope: CoroutineScope,
    internal val speaking: suspend (flags: Int) -> Unit,
    internal val clock: NanoClock = NanoClock.SYSTEM,
    internal val frameEncryptor: FrameEncryptor? = null,
) : AutoCloseable {
    private val supervisor = SupervisorJob(scope.coroutineContext[Job])
    private val scope = CoroutineScope(
        scope.coroutineContext + supervisor + CoroutineName("earshot-player") +
            CoroutineExceptionHandler { _, e -> log.error("audio player coroutine failed", e) },
    )

    internal val lock = Any()

    // Guarded by lock.
    internal var packetizer: RtpPacketizer? = null
    internal var sink: DatagramSink? = null
    internal var attachment = 0
    internal var current: PacedPlayback? = null
    private var closed = false
    internal val datagram = ByteArray(VoiceConstants.MAX_DATAGRAM)
    internal val encrypted = ByteArray(VoiceConstants.MAX_DATAGRAM)

    // Used only by playback coroutines, which run one after another (each joins the one it replaces).
    internal var speakingOn = false
    internal var speakingAttachment = -1
    /** Clock time that the packetizer's next timestamp stands for; null before the first slot. */
    internal var nextSlotNanos: Long? = null

    internal val sent = AtomicLong()
    internal val dropped = AtomicLong()

    /** Packets (audio and silence frames) handed to the sink and accepted by it. */
    public val framesSent: Long get() = sent.get()

    /**
     * Frames due but not sent: while detached (or before the first [attach]), skipped when the player fell more
     * than [MAX_LAG_MS] behind, or refused by the sink.
     */
    public val framesDropped: Long get() = dropped.get()

    /** True while a playback runs (including its silence tail). */
    public val isPlaying: Boolean get() = synchronized(lock) { current?.isActive == true }

    /**
     * Sends from now on to [sink] as [ssrc] with [cipher] (the player's own instance; a cipher is not thread-safe).
     * With the same SSRC as before, the RTP sequence number, timestamp and nonce counter continue; with a new SSRC,
     * sequence and timestamp start fresh (random) and the nonce counter still continues, so no nonce repeats even if
     * a key did. The next packet is preceded by speaking(1) again, since a new session needs it before audio.
     */
    public fun attach(sink: DatagramSink, ssrc: Long, cipher: TransportCipher) {
        synchronized(lock) {
            val old = packetizer
            packetizer = when {
                old == null -> RtpPacketizer(ssrc, cipher)
                old.ssrc == ssrc -> RtpPacketizer(ssrc, cipher, old.sequence, old.timestamp, old.nonce)
                else -> RtpPacketizer(ssrc, cipher, nonce = old.nonce)
            }
            this.sink = sink
            attachment++
        }
    }

    /**
     * Stops sending until the next [attach] (the connection is reconnecting). A playback keeps its clock: frames
     * due meanwhile are taken from the source and dropped (counted), so a live source does not fall behind, and the
     * RTP timestamp moves on with them.
     */
    public fun detach() {
        synchronized(lock) { sink = null }
    }

    /**
     * Plays [source], replacing what plays now (which stops without its silence tail, since audio follows at once).
     * The first frame goes out at the next 20 ms slot. The source is closed when the playback ends.
     * @throws IllegalStateException if the player is closed (the source is closed too).
     */
    public fun play(source: OpusAudioSource): Playback {
        val playback = PacedPlayback(this, source)
        val previous: PacedPlayback?
        synchronized(lock) {
            if (closed) {
                runCatching { source.close() }
                throw IllegalStateException("the audio player is closed")
            }
            previous = current
            current = playback
            playback.job = scope.launch(start = CoroutineStart.LAZY) { playback.run(previous) }
        }
        // The previous playback's own coroutine finishes its cleanup; the new one joins it before sending.
        previous?.job?.cancel()
        val job = playback.job!!
        job.invokeOnCompletion { playback.finish() }
        job.start()
        return playback
    }

    /** Stops the current playback as [Playback.stop] does; does nothing when idle. */
    public fun stopPlaying() {
        synchronized(lock) { current }?.stop()
    }

    /**
     * Stops the current playback at once (no silence tail, no speaking(0): the connection is going away) and refuses
     * further [play]s. Idempotent.
     */
    override fun close() {
        val playing = synchronized(lock) {
            closed = true
            current
        }
        playing?.job?.cancel()
        supervisor.cancel()
    }

    /** Player limits and protocol constants. */
    public companion object {
        /** Most frames sent back to back when the player is late. */
        public const val MAX_BURST: Int = 3

        /** How far behind (milliseconds) the player may fall before it skips frames instead of catching up. */
        public const val MAX_LAG_MS: Long = 200

        /** Opus silence frames sent after the last audio frame (docs/protocol.md §7). */
        public const val SILENCE_FRAMES: Int = 5

        /** Op 5 Speaking flag: microphone audio. */
        public const val MICROPHONE: Int = 1

        /**
         * Largest Opus packet the player accepts, in bytes: a 20 ms packet at the highest bitrate is 1276, and with
         * the 32 bytes of RTP header and AEAD overhead a datagram stays under the usual 1460-byte voice MTU.
         */
        public const val MAX_FRAME_BYTES: Int = 1400

        private val log = LoggerFactory.getLogger(AudioPlayer::class.java)
    }
}
