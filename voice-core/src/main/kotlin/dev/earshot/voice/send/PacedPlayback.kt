package dev.earshot.voice.send

import dev.earshot.voice.base.VoiceConstants
import dev.earshot.voice.codec.OpusPacketInfo
import dev.earshot.voice.send.AudioPlayer.Companion.MAX_BURST
import dev.earshot.voice.send.AudioPlayer.Companion.MAX_FRAME_BYTES
import dev.earshot.voice.send.AudioPlayer.Companion.MAX_LAG_MS
import dev.earshot.voice.send.AudioPlayer.Companion.MICROPHONE
import dev.earshot.voice.send.AudioPlayer.Companion.SILENCE_FRAMES
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.Job
import kotlinx.coroutines.cancelAndJoin
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.delay
import kotlinx.coroutines.launch
import org.slf4j.LoggerFactory

/**
 * One [AudioPlayer.play] as it runs in the `earshot-player` coroutine: the frame loop that paces [source]'s frames at
 * absolute 20 ms deadlines (making up lost time in bursts, skipping past [MAX_LAG_MS]), speaking(1) before the first
 * packet, the silence tail and speaking(0) at the end, and the [Playback] handle on all of it. The sending state it
 * shares with later playbacks (packetizer, sink, speaking state, the slot grid's next free time) stays in [player],
 * under its lock where the attach and detach calls touch it.
 */
internal class PacedPlayback(private val player: AudioPlayer, private val source: OpusAudioSource) : Playback {
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

    suspend fun run(previous: PacedPlayback?) {
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
            if (player.speakingOn) {
                // Time spent waiting for a source that then ended (or was stopped) is a pause, not a delay.
                val lag = player.clock.nanoTime() - due()
                if (lag > 0) skipSlots(lag / FRAME_NANOS)
                repeat(SILENCE_FRAMES) { sendSlot(SILENCE) }
                player.speakingOn = false
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
        synchronized(player.lock) { if (player.current === this) player.current = null }
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
        val now = player.clock.nanoTime()
        val free = player.nextSlotNanos
        anchor = if (free == null || free < now) now else free
        if (free != null && anchor > free) {
            // Truncated to 32 bits: RTP timestamps wrap, so only the low bits of a very long pause matter.
            val samples = (anchor - free) * VoiceConstants.SAMPLE_RATE / 1_000_000_000L
            synchronized(player.lock) { player.packetizer?.skip(samples.toInt()) }
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
            val fetchStart = player.clock.nanoTime()
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
            val lag = player.clock.nanoTime() - due()
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
                due() - player.clock.nanoTime() >= 0 -> burst = 0
                burst < MAX_BURST -> burst++
                else -> {
                    // Catching up after a burst: at most two frames per 20 ms.
                    val wait = lastSend + FRAME_NANOS / 2 - player.clock.nanoTime()
                    if (wait > 0) delay(nanosToMillisUp(wait))
                }
            }
            sendSlot(frame)
            lastSend = player.clock.nanoTime()
        }
    }

    /**
     * Leaves empty the whole slots that passed while the player waited (since [waitStart]) for something
     * outside it (the source, speaking(1)); lateness from before the wait stays to be made up.
     */
    private fun skipWaitedSlots(waitStart: Long) {
        val now = player.clock.nanoTime()
        val waited = minOf(now - due(), now - waitStart)
        if (waited >= FRAME_NANOS) skipSlots(waited / FRAME_NANOS)
    }

    /** Moves the grid and the RTP timestamp over [count] slots in which nothing is sent or dropped. */
    private fun skipSlots(count: Long) {
        if (count <= 0) return
        slot += count
        player.nextSlotNanos = due()
        // Truncated to 32 bits as in startClock.
        synchronized(player.lock) { player.packetizer?.skip((count * VoiceConstants.SAMPLES_PER_FRAME).toInt()) }
    }

    /** Waits for the current slot's deadline, sends [frame] in it (or drops it when detached) and moves on. */
    private suspend fun sendSlot(frame: ByteArray) {
        while (true) {
            val epoch = synchronized(player.lock) { if (player.sink == null) -1 else player.attachment }
            if (epoch >= 0 && (!player.speakingOn || player.speakingAttachment != epoch)) {
                player.speakingOn = true
                player.speakingAttachment = epoch
                val start = player.clock.nanoTime()
                callSpeaking(MICROPHONE)
                skipWaitedSlots(start)
            }
            val wait = due() - player.clock.nanoTime()
            if (wait > 0) delay(nanosToMillisUp(wait))
            if (transmit(frame, epoch)) break
        }
        nextSlot()
    }

    /** Sends under the lock; false if an attach came in since [epoch] was read (speaking(1) first, then). */
    private fun transmit(frame: ByteArray, epoch: Int): Boolean {
        synchronized(player.lock) {
            val s = player.sink
            val p = player.packetizer
            if (s == null || p == null) {
                if (epoch >= 0) return false
                p?.skip(VoiceConstants.SAMPLES_PER_FRAME)
                player.dropped.incrementAndGet()
                return true
            }
            if (player.attachment != epoch) return false
            val n = if (player.frameEncryptor == null) {
                p.packetize(frame, out = player.datagram)
            } else {
                val m = player.frameEncryptor.encrypt(frame, 0, frame.size, player.encrypted)
                if (m < 0) {
                    // Never sent in the clear: the slot is skipped like a refused send.
                    p.skip(VoiceConstants.SAMPLES_PER_FRAME)
                    player.dropped.incrementAndGet()
                    return true
                }
                p.packetize(player.encrypted, 0, m, out = player.datagram)
            }
            val accepted = try {
                s.send(player.datagram, 0, n)
            } catch (e: Exception) {
                log.debug("datagram sink threw; the packet counts as dropped", e)
                false
            }
            if (accepted) player.sent.incrementAndGet() else player.dropped.incrementAndGet()
            return true
        }
    }

    private fun dropSlot() {
        synchronized(player.lock) { player.packetizer?.skip(VoiceConstants.SAMPLES_PER_FRAME) }
        player.dropped.incrementAndGet()
        nextSlot()
    }

    private fun nextSlot() {
        slot++
        player.nextSlotNanos = due()
    }

    private fun due(): Long = anchor + slot * FRAME_NANOS

    private suspend fun callSpeaking(flags: Int) {
        try {
            player.speaking(flags)
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

private val SILENCE = byteArrayOf(0xF8.toByte(), 0xFF.toByte(), 0xFE.toByte())
private const val FRAME_NANOS = VoiceConstants.FRAME_MS * 1_000_000L
private const val MAX_LAG_NANOS = MAX_LAG_MS * 1_000_000L
private val log = LoggerFactory.getLogger(AudioPlayer::class.java)

private fun nanosToMillisUp(nanos: Long): Long = (nanos + 999_999) / 1_000_000
