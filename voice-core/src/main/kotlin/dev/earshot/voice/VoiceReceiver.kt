package dev.earshot.voice

import dev.earshot.voice.crypto.EncryptionMode
import dev.earshot.voice.crypto.TransportCipher
import dev.earshot.voice.e2ee.FrameDecryptor
import dev.earshot.voice.identity.SsrcDirectory
import dev.earshot.voice.audio.MixPolicy
import dev.earshot.voice.audio.PcmMixer
import dev.earshot.voice.model.AudioFrame
import dev.earshot.voice.base.Counters
import dev.earshot.voice.model.OpusPacket
import dev.earshot.voice.model.ReceiveStats
import dev.earshot.voice.model.ReceiveTimeline
import dev.earshot.voice.model.SpeakerStats
import dev.earshot.voice.model.VoiceEvent
import dev.earshot.voice.model.VoiceOutput
import dev.earshot.voice.model.VoiceTick
import dev.earshot.voice.model.snapshot
import dev.earshot.voice.datagram.DatagramSource
import dev.earshot.voice.pipeline.PipelineSettings
import dev.earshot.voice.pipeline.ReceivePipeline
import dev.earshot.voice.audio.TickConverter
import dev.earshot.voice.codec.PcmFormat
import dev.earshot.voice.sink.AudioFormat
import dev.earshot.voice.sink.AudioSink
import dev.earshot.voice.sink.Listening
import dev.earshot.voice.sink.MixerSink
import dev.earshot.voice.sink.Recording
import dev.earshot.voice.model.RtcpPacket
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.CoroutineName
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Job
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.filterIsInstance
import kotlinx.coroutines.flow.transform
import kotlinx.coroutines.flow.map
import kotlinx.coroutines.flow.mapNotNull
import kotlinx.coroutines.launch
import org.slf4j.LoggerFactory

/**
 * The receive side of one voice connection: datagrams in, time-aligned audio out.
 *
 * Reads from a [DatagramSource], authenticates and decrypts with the transport key ([setTransportKey]), resolves
 * SSRCs to users through [ssrcs], applies the end-to-end [FrameDecryptor], reorders per speaker in a jitter buffer,
 * decodes Opus (with concealment and FEC recovery) and emits one [VoiceTick] every 20 ms. Nothing a peer sends can
 * throw out of it: bad packets are dropped and counted in [stats].
 *
 * Nothing runs until [start]. Outputs are hot streams exposed as cold [Flow]s: collecting one subscribes from that
 * moment on with its own bounded queue (oldest dropped and counted when the collector is slow); cancelling the
 * collector frees the queue. Every flow completes when the receiver stops.
 *
 * @param source where datagrams come from (the UDP socket, or a test channel).
 * @param config settings; see [ReceiveConfig] for defaults.
 * @param ssrcs the SSRC-to-user map, filled by the voice gateway.
 * @param frameDecryptor the end-to-end step; default passes frames through.
 */
public class VoiceReceiver(
    private val source: DatagramSource,
    public val config: ReceiveConfig = ReceiveConfig.DEFAULT,
    public val ssrcs: SsrcDirectory = SsrcDirectory(),
    frameDecryptor: FrameDecryptor = FrameDecryptor.PASSTHROUGH,
) {
    private val counters = Counters()

    /** Wall-clock time now; replaced by the offline replay, whose time is the capture's. */
    internal var wallClock: () -> java.time.Instant = java.time.Instant::now

    // The topology (stages, queue, broadcaster, sink hosting, timeline) lives in the pipeline; this class is its front.
    private val pipeline = ReceivePipeline(config.pipelineSettings(), source, ssrcs, frameDecryptor, counters) { wallClock() }
    private val sinks = pipeline.sinks

    /**
     * The receiver's one timeline: every flow and sink places a frame at the same tick, and ticks map to wall-clock
     * time, to the [NanoClock] and to each speaker's RTP timestamps (see [ReceiveTimeline]).
     */
    public val timeline: ReceiveTimeline get() = pipeline.timeline
    private val done = CompletableDeferred<Throwable?>()
    private var job: Job? = null
    private var scope: CoroutineScope? = null

    /**
     * Installs the transport key from the voice gateway's Session Description (op 4). May be called at any time from
     * any thread; packets still in flight under the previous key are accepted for 2 s after a change.
     */
    public fun setTransportKey(mode: EncryptionMode, secretKey: ByteArray) {
        setTransportCipher(TransportCipher.create(mode, secretKey))
    }

    /** As [setTransportKey], with a cipher made by the caller (a connection's pair sharing tables with its sender). */
    internal fun setTransportCipher(cipher: TransportCipher) {
        pipeline.setCipher(cipher)
    }

    /**
     * Starts the pipeline in [scope] and returns its job. The receiver stops when the source ends and the last audio
     * has played out, when [close] is called, or when [scope] is cancelled; a failure of the source (an I/O error)
     * stops it too and is reported by [awaitClose]. It never fails [scope].
     */
    public fun start(scope: CoroutineScope): Job {
        check(job == null) { "already started" }
        this.scope = scope
        return scope.launch(CoroutineName("earshot-receiver")) {
            var cause: Throwable? = null
            try {
                pipeline.run()
            } catch (e: CancellationException) {
                throw e
            } catch (e: Throwable) {
                log.warn("voice receiver stopped by an error", e)
                cause = e
            } finally {
                // Recorded before the stream closes, so that sinks ending with it can report the cause.
                pipeline.closeOutputs(cause)
                done.complete(cause)
            }
        }.also { job = it }
    }

    /** Every receive-clock tick, from the moment of collection; completes when the receiver stops. */
    public val ticks: Flow<VoiceTick> get() = pipeline.outputs { it is VoiceTick }.filterIsInstance<VoiceTick>()

    /** Every [VoiceEvent] (speaking, members, RTCP, stats), from the moment of collection. */
    public val events: Flow<VoiceEvent> get() = pipeline.outputs { it is VoiceEvent }.filterIsInstance<VoiceEvent>()

    /** Ticks and events interleaved in the order they happened, from the moment of collection. */
    public val outputsFlow: Flow<VoiceOutput> get() = pipeline.outputs()

    /**
     * Every tick with its PCM in [format]: the receiver's own format as is, or converted from 48 kHz stereo to 16 kHz
     * mono per speaker (each with its own filter state, 1.25 ms delay), so one connection can feed a 48 kHz recording
     * and a 16 kHz recogniser at once. Frame ticks are unchanged: converted frames stay on the one timeline.
     */
    public fun ticks(format: PcmFormat): Flow<VoiceTick> {
        val from = checkPcm(format, "flow")
        if (from == format) return ticks
        return kotlinx.coroutines.flow.flow {
            val converter = TickConverter(from, format)
            ticks.collect { emit(converter.convert(it)) }
        }
    }

    /** The frames of one user (by Discord user id), one per tick in which they speak. */
    public fun frames(userId: Long): Flow<AudioFrame> = ticks.mapNotNull { it.frameOf(userId) }

    /** The frames of one user with PCM in [format] (see [ticks] for the conversion). */
    public fun frames(userId: Long, format: PcmFormat): Flow<AudioFrame> = ticks(format).mapNotNull { it.frameOf(userId) }

    /** The frames of one SSRC, whether or not its user is known. */
    public fun framesOfSsrc(ssrc: Long): Flow<AudioFrame> = ticks.mapNotNull { it.frameOfSsrc(ssrc) }

    /** Speaking starts and stops derived from the audio itself (hang time [ReceiveConfig.speakingHang]). Hot, like all flows here. */
    public val speaking: Flow<VoiceEvent>
        get() = pipeline.outputs { it is VoiceEvent.SpeakingStarted || it is VoiceEvent.SpeakingStopped }
            .filterIsInstance<VoiceEvent>()

    /**
     * The combined track: one frame per tick, every speaker included by [policy] mixed (32-bit accumulation, clamped),
     * silence when nobody speaks. Needs decoding. Each collection mixes on its own, from the moment of collection.
     * [format] is the mix's PCM format: default (null) the receiver's, or 16 kHz mono from a 48 kHz stereo receiver.
     */
    public fun mixed(policy: MixPolicy = MixPolicy(), format: PcmFormat? = null): Flow<AudioFrame> {
        val decode = checkNotNull(config.decode) {
            "mixing needs PCM but this receiver decodes nothing (Opus only): ReceiveConfig { decode = PcmFormat.STEREO_48K } " +
                "in Kotlin, ReceiveConfig.builder().decode(PcmFormat.STEREO_48K) in Java"
        }
        val out = format ?: decode
        return kotlinx.coroutines.flow.flow {
            val mixer = PcmMixer(out)
            ticks(out).collect { tick -> emit(MixerSink.mixedFrame(mixer, policy, tick)) }
        }
    }

    /** The Opus packets of one user (by Discord user id), in playout order, each once. */
    public fun opusPackets(userId: Long): Flow<OpusPacket> = frames(userId).transform { f -> OpusPacket.of(f).forEach { emit(it) } }

    /** Every received Opus packet (in playout order, each once), for all speakers. */
    public val opusPackets: Flow<OpusPacket>
        get() = ticks.transform { t -> for (f in t.speaking) OpusPacket.of(f).forEach { emit(it) } }

    /** Decrypted RTCP packets (sender and receiver reports, goodbyes...). */
    public val rtcp: Flow<RtcpPacket> get() = events.filterIsInstance<VoiceEvent.Rtcp>().map { it.packet }

    /**
     * Starts feeding [sink] (see [AudioSink] for the contract) until it is stopped, the receiver stops, or the sink
     * throws; [after] is then called exactly once with the error, or null. Any number of sinks may listen at once,
     * each with its own queue and coroutine. The receiver must have been started.
     *
     * The sink joins the current default [Recording] (starting one at this tick if none runs), so sinks listened by
     * separate calls, at different moments, write files that start at the same t0 and end with the same tick. A sink
     * wanting 16 kHz mono from a receiver decoding 48 kHz stereo gets its PCM converted (see [ticks]).
     */
    public fun listen(sink: AudioSink, after: (Throwable?) -> Unit = {}): Listening = listen(sink, null, after)

    /**
     * Like the other [listen], in [recording] (from [newRecording]); null joins the default recording. Fails with
     * [IllegalStateException] if [recording] has ended.
     */
    public fun listen(sink: AudioSink, recording: Recording?, after: (Throwable?) -> Unit = {}): Listening {
        val scope = checkNotNull(scope) { "start the receiver before listening" }
        val wants = sink.wants
        if (wants is AudioFormat.Pcm) checkPcm(wants.format, "sink ${sink::class.simpleName}")
        return sinks.listen(scope, sink, recording, after)
    }

    /**
     * A new recording starting at the receiver's next tick, separate from the default one, for sinks that must share
     * a t0 and an end of their own: pass it to [listen]. It lasts until [Recording.stop] or the receiver's end.
     */
    public fun newRecording(): Recording = sinks.newRecording()

    /** The default recording that [listen] joins now, or null when none runs (the next [listen] starts one). */
    public val recording: Recording? get() = sinks.currentRecording

    /** Whether any sink is listening. */
    public val isListening: Boolean get() = sinks.isListening

    /**
     * Stops every listening sink at one tick, the last one emitted: each first handles the ticks up to it, then its
     * cleanup runs (all files end together) and its `after` gets null. Waits for them all. Ends the default recording.
     */
    public suspend fun stopListening() {
        sinks.stopAll()
    }

    /**
     * Waits until every listening sink has ended (cleanup done, files closed); after the receiver stopped, each
     * first works through its queue. With [awaitClose], the way to know a recording is complete.
     */
    public suspend fun awaitSinks() {
        sinks.awaitAll()
    }

    /** Checks that this receiver can deliver PCM in [format]; returns the format it decodes to. */
    private fun checkPcm(format: PcmFormat, who: String): PcmFormat {
        val decode = config.decode
        require(decode != null && TickConverter.supports(decode, format)) {
            "$who wants PCM $format but this receiver decodes to ${decode ?: "nothing (Opus only)"}; decode to " +
                "${PcmFormat.STEREO_48K} (converted to 16 kHz mono on demand) or $format: " +
                "ReceiveConfig { decode = PcmFormat.${PcmFormat.STEREO_48K} } in Kotlin, " +
                "ReceiveConfig.builder().decode(PcmFormat.${PcmFormat.STEREO_48K}) in Java"
        }
        return decode
    }

    /** Stops delivering to sinks until [resumeListening]; what happens meanwhile is not queued for them. */
    public fun pauseListening() {
        sinks.paused = true
    }

    /** Resumes delivering to sinks after [pauseListening]. */
    public fun resumeListening() {
        sinks.paused = false
    }

    /** Publishes an event from the voice gateway to every flow and sink, in order with what the receiver emits. */
    internal fun publish(event: VoiceEvent) = pipeline.publish(event)

    /** Speakers (SSRCs) with playout state right now; for tests of the state limits. */
    internal fun speakerCount(): Int = pipeline.speakerCount

    /** A snapshot of the counters. */
    public fun stats(): ReceiveStats = counters.snapshot()

    /**
     * A snapshot of every speaker's playout figures (current and target playout delay, jitter estimate, per-speaker
     * counters), one per SSRC with playout state, in no particular order. Taken on the pipeline's own thread, so it
     * is consistent with the ticks produced so far.
     */
    public suspend fun speakerStats(): List<SpeakerStats> = pipeline.speakerStats()

    /**
     * Drops the playout state and decoder of [ssrc] now (e.g. the SSRC now belongs to someone else); packets it still
     * held are dropped and counted in [ReceiveStats.droppedAtLeave]. A member's leave goes through [retireSsrc].
     */
    public fun forgetSsrc(ssrc: Long) {
        ssrcs.unmap(ssrc)
        pipeline.forget(scope, ssrc)
    }

    /**
     * [ssrc]'s member left the channel (op 13): what is buffered, and what was still in flight, plays out at its place
     * first; then the speaker, its SSRC mapping (unless remapped meanwhile) and its timeline anchor go. Bounded: after
     * 2 s whatever is still buffered is dropped and counted in [ReceiveStats.droppedAtLeave].
     */
    internal fun retireSsrc(ssrc: Long) {
        val user = ssrcs.userOf(ssrc)
        val s = scope
        if (s == null) {
            forgetSsrc(ssrc)
            return
        }
        pipeline.retire(s, ssrc) { gone ->
            ssrcs.unmapIf(gone, user)
            timeline.forget(gone)
        }
    }

    /** Stops the pipeline and waits until it has released everything. */
    public suspend fun close() {
        val j = job
        if (j == null) {
            pipeline.closeOutputs(null)
            done.complete(null)
            return
        }
        j.cancel()
        j.join()
    }

    /** Suspends until the receiver stops; returns the error that stopped it, or null for a normal end or [close]. */
    public suspend fun awaitClose(): Throwable? = done.await()

    private companion object {
        private val log = LoggerFactory.getLogger(VoiceReceiver::class.java)
    }
}

/** The pipeline's view of these settings: the same values, durations the stages count in ticks converted. */
internal fun ReceiveConfig.pipelineSettings(): PipelineSettings = PipelineSettings(
    decode = decode,
    playout = playout,
    concealTicks = concealTicks,
    jitterCapacity = jitterCapacity,
    maxSsrcs = maxSsrcs,
    unknownSsrcHold = unknownSsrcHold,
    holdPerSsrc = holdPerSsrc,
    maxHeldSsrcs = maxHeldSsrcs,
    speakingHangTicks = speakingHangTicks,
    stageQueueCapacity = stageQueueCapacity,
    tickQueueCapacity = tickQueueCapacity,
    decoderFactory = decoderFactory,
    decodeThreads = decodeThreads,
    clock = clock,
    readDispatcher = readDispatcher,
    pipelineDispatcher = pipelineDispatcher,
)
