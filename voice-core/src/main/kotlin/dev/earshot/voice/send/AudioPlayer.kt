package dev.earshot.voice.send

import dev.earshot.voice.base.NanoClock
import dev.earshot.voice.base.VoiceConstants
import dev.earshot.voice.e2ee.FrameEncryptor
import dev.earshot.voice.codec.OpusPacketInfo
import dev.earshot.voice.crypto.TransportCipher
import dev.earshot.voice.datagram.DatagramSink
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.CoroutineExceptionHandler
import kotlinx.coroutines.CoroutineName
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.Job
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.cancelAndJoin
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.delay
import kotlinx.coroutines.launch
import org.slf4j.LoggerFactory
import java.util.concurrent.atomic.AtomicLong

/**
 * A handle on one [AudioPlayer.play]: wait for it, stop it, ask whether it still runs.
 */
public sealed interface Playback {
    /** True until the playback has finished: its frames, its silence tail and the speaking(0) update are done. */
    public val isActive: Boolean

    /**
     * Suspends until the playback has finished: the source ended, or it was stopped or replaced, or the player was
     * closed. Throws the source's exception if the source failed (or an [IllegalArgumentException] if it gave a
     * frame that is not a 20 ms Opus packet). Cancelling the caller does not stop the playback.
     */
    public suspend fun await()

    /**
     * Stops the playback: no further frame is taken from the source; the five silence frames and speaking(0) still
     * follow if audio was sent. Returns at once; [await] returns when it is done. Does nothing once finished.
     */
    public fun stop()
}

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
    private val speaking: suspend (flags: Int) -> Unit,
    private val clock: NanoClock = NanoClock.SYSTEM,
    private val frameEncryptor: FrameEncryptor? = null,
) : AutoCloseable {
    private val supervisor = SupervisorJob(scope.coroutineContext[Job])
    private val scope = CoroutineScope(
        scope.coroutineContext + supervisor + CoroutineName("earshot-player") +
            CoroutineExceptionHandler { _, e -> log.error("audio player coroutine failed", e) },
    )

    private val lock = Any()

    // Guarded by lock.
    private var packetizer: RtpPacketizer? = null
    private var sink: DatagramSink? = null
    private var attachment = 0
    private var current: PlaybackImpl? = null
    private var closed = false
    private val datagram = ByteArray(VoiceConstants.MAX_DATAGRAM)
    private val encrypted = ByteArray(VoiceConstants.MAX_DATAGRAM)

    // Used only by playback coroutines, which run one after another (each joins the one it replaces).
    private var speakingOn = false
    private var speakingAttachment = -1
    /** Clock time that the packetizer's next timestamp stands for; null before the first slot. */
    private var nextSlotNanos: Long? = null

    private val sent = AtomicLong()
    private val dropped = AtomicLong()

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
        val playback = PlaybackImpl(source)
        val previous: PlaybackImpl?
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

    private inner class PlaybackImpl(private val source: OpusAudioSource) : Playback {
        var job: Job? = null
        private val done = CompletableDeferred<Unit>()
        @Volatile private var stopRequested = false
        @Volatile private var frameJob: Job? = null
        @Volatile private var failure: Throwable? = null
        private var sourceClosed = false

        // The slot grid: slot n is due at anchor + n * FRAME_NANOS.
        private var anchor = 0L
        private var slot = 0L

        override val isActive: Boolean get() = !done.isCompleted

        override suspend fun await() = done.await()

        override fun stop() {
            stopRequested = true
            frameJob?.cancel()
        }

        suspend fun run(previous: PlaybackImpl?) {
            try {
                previous?.job?.cancelAndJoin()
                startClock()
                coroutineScope {
                    val loop = launch { failure = frameLoop() }
                    frameJob = loop
                    if (stopRequested) loop.cancel()
                }
                closeSource()
                failure?.let { log.warn("playback ended: the source failed", it) }
                if (speakingOn) {
                    // Time spent waiting for a source that then ended (or was stopped) is a pause, not a delay.
                    val lag = clock.nanoTime() - due()
                    if (lag > 0) skipSlots(lag / FRAME_NANOS)
                    repeat(SILENCE_FRAMES) { sendSlot(SILENCE) }
                    speakingOn = false
                    callSpeaking(0)
                }
            } catch (e: CancellationException) {
                throw e
            } catch (e: Throwable) {
                // A bug of ours (or a cipher refusing a nonce): end this playback with it, never the player.
                if (failure == null) failure = e
                log.error("audio playback failed", e)
            } finally {
                closeSource()
                finish()
            }
        }

        /** Closes the source and completes [await]; also runs for a playback whose coroutine never started. */
        fun finish() {
            closeSource()
            val f = failure
            if (f == null) done.complete(Unit) else done.completeExceptionally(f)
            synchronized(lock) { if (current === this) current = null }
        }

        @Synchronized
        private fun closeSource() {
            if (sourceClosed) return
            sourceClosed = true
            try {
                source.close()
            } catch (e: Exception) {
                log.warn("closing an audio source failed", e)
            }
        }

        /** Puts slot 0 at the next free slot and moves the RTP timestamp over the pause since the last one. */
        private fun startClock() {
            val now = clock.nanoTime()
            val free = nextSlotNanos
            anchor = if (free == null || free < now) now else free
            if (free != null && anchor > free) {
                // Truncated to 32 bits: RTP timestamps wrap, so only the low bits of a very long pause matter.
                val samples = (anchor - free) * VoiceConstants.SAMPLE_RATE / 1_000_000_000L
                synchronized(lock) { packetizer?.skip(samples.toInt()) }
            }
            slot = 0
        }

        /**
         * Sends source frames until the source ends (null) or fails (the error), or the loop is cancelled.
         *
         * Lateness has two causes, treated differently. Time spent waiting for the source (or for speaking(1)) is
         * a pause in the audio: the slots it covered stay empty, and the RTP timestamp moves over them. Time the
         * player itself lost (a stalled JVM, a busy dispatcher) is made up: late frames go out at once, at most
         * [MAX_BURST] back to back and then two per 20 ms; beyond [MAX_LAG_MS] the missed slots' frames are taken
         * from the source and dropped, and if the source has no such backlog, the rest is given up as empty slots.
         */
        private suspend fun frameLoop(): Throwable? {
            var index = 0L
            var burst = 0
            var lastSend = Long.MIN_VALUE
            var dropUntil = -1L
            var dropPhaseDone = false
            while (true) {
                val fetchStart = clock.nanoTime()
                val frame = try {
                    source.nextFrame() ?: return null
                } catch (e: CancellationException) {
                    // Our cancellation, or a source that was cancelled underneath (a cancelled channel): either way
                    // the source is over.
                    throw e
                } catch (e: Throwable) {
                    // Throwable, not Exception: Concentus throws AssertionError on some inputs.
                    return e
                }
                checkFrame(frame, index)?.let { return it }
                index++
                skipWaitedSlots(fetchStart)
                if (slot < dropUntil) {
                    dropSlot()
                    continue
                }
                val lag = clock.nanoTime() - due()
                if (lag > MAX_LAG_NANOS) {
                    if (!dropPhaseDone) {
                        // Drop the frames of the slots already missed, this one included.
                        dropUntil = slot + lag / FRAME_NANOS
                        dropPhaseDone = true
                        dropSlot()
                        continue
                    }
                    // Dropping did not catch up: the source has no backlog. Give up the missed slots.
                    skipSlots(lag / FRAME_NANOS)
                }
                dropPhaseDone = false
                when {
                    due() - clock.nanoTime() >= 0 -> burst = 0
                    burst < MAX_BURST -> burst++
                    else -> {
                        // Catching up after a burst: at most two frames per 20 ms.
                        val wait = lastSend + FRAME_NANOS / 2 - clock.nanoTime()
                        if (wait > 0) delay(nanosToMillisUp(wait))
                    }
                }
                sendSlot(frame)
                lastSend = clock.nanoTime()
            }
        }

        /**
         * Leaves empty the whole slots that passed while the player waited (since [waitStart]) for something
         * outside it (the source, speaking(1)); lateness from before the wait stays to be made up.
         */
        private fun skipWaitedSlots(waitStart: Long) {
            val now = clock.nanoTime()
            val waited = minOf(now - due(), now - waitStart)
            if (waited >= FRAME_NANOS) skipSlots(waited / FRAME_NANOS)
        }

        /** Moves the grid and the RTP timestamp over [count] slots in which nothing is sent or dropped. */
        private fun skipSlots(count: Long) {
            if (count <= 0) return
            slot += count
            nextSlotNanos = due()
            // Truncated to 32 bits as in startClock.
            synchronized(lock) { packetizer?.skip((count * VoiceConstants.SAMPLES_PER_FRAME).toInt()) }
        }

        /** Waits for the current slot's deadline, sends [frame] in it (or drops it when detached) and moves on. */
        private suspend fun sendSlot(frame: ByteArray) {
            while (true) {
                val epoch = synchronized(lock) { if (sink == null) -1 else attachment }
                if (epoch >= 0 && (!speakingOn || speakingAttachment != epoch)) {
                    speakingOn = true
                    speakingAttachment = epoch
                    val start = clock.nanoTime()
                    callSpeaking(MICROPHONE)
                    skipWaitedSlots(start)
                }
                val wait = due() - clock.nanoTime()
                if (wait > 0) delay(nanosToMillisUp(wait))
                if (transmit(frame, epoch)) break
            }
            nextSlot()
        }

        /** Sends under the lock; false if an attach came in since [epoch] was read (speaking(1) first, then). */
        private fun transmit(frame: ByteArray, epoch: Int): Boolean {
            synchronized(lock) {
                val s = sink
                val p = packetizer
                if (s == null || p == null) {
                    if (epoch >= 0) return false
                    p?.skip(VoiceConstants.SAMPLES_PER_FRAME)
                    dropped.incrementAndGet()
                    return true
                }
                if (attachment != epoch) return false
                val n = if (frameEncryptor == null) {
                    p.packetize(frame, out = datagram)
                } else {
                    val m = frameEncryptor.encrypt(frame, 0, frame.size, encrypted)
                    if (m < 0) {
                        // Never sent in the clear: the slot is skipped like a refused send.
                        p.skip(VoiceConstants.SAMPLES_PER_FRAME)
                        dropped.incrementAndGet()
                        return true
                    }
                    p.packetize(encrypted, 0, m, out = datagram)
                }
                val accepted = try {
                    s.send(datagram, 0, n)
                } catch (e: Exception) {
                    log.debug("datagram sink threw; the packet counts as dropped", e)
                    false
                }
                if (accepted) sent.incrementAndGet() else dropped.incrementAndGet()
                return true
            }
        }

        private fun dropSlot() {
            synchronized(lock) { packetizer?.skip(VoiceConstants.SAMPLES_PER_FRAME) }
            dropped.incrementAndGet()
            nextSlot()
        }

        private fun nextSlot() {
            slot++
            nextSlotNanos = due()
        }

        private fun due(): Long = anchor + slot * FRAME_NANOS

        private suspend fun callSpeaking(flags: Int) {
            try {
                speaking(flags)
            } catch (e: CancellationException) {
                throw e
            } catch (e: Exception) {
                log.warn("sending speaking($flags) failed; playback goes on", e)
            }
        }

        private fun checkFrame(frame: ByteArray, index: Long): Throwable? {
            val samples = OpusPacketInfo.samplesPerChannel48k(frame, 0, frame.size)
            if (samples == VoiceConstants.SAMPLES_PER_FRAME && frame.size <= MAX_FRAME_BYTES) return null
            val what = when {
                samples < 0 -> "not a valid Opus packet"
                samples != VoiceConstants.SAMPLES_PER_FRAME -> "${samples / 48.0} ms long"
                else -> "${frame.size} bytes long"
            }
            return IllegalArgumentException("frame $index of the source is $what; the player sends 20 ms Opus packets of at most $MAX_FRAME_BYTES bytes")
        }
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

        private val SILENCE = byteArrayOf(0xF8.toByte(), 0xFF.toByte(), 0xFE.toByte())
        private const val FRAME_NANOS = VoiceConstants.FRAME_MS * 1_000_000L
        private const val MAX_LAG_NANOS = MAX_LAG_MS * 1_000_000L
        private val log = LoggerFactory.getLogger(AudioPlayer::class.java)

        private fun nanosToMillisUp(nanos: Long): Long = (nanos + 999_999) / 1_000_000
    }
}
