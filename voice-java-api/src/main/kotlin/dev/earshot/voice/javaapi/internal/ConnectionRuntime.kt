package dev.earshot.voice.javaapi.internal

import dev.earshot.voice.model.SpeakerStats
import dev.earshot.voice.audio.MixPolicy
import dev.earshot.voice.codec.PcmFormat
import dev.earshot.voice.connection.VoiceConnection
import dev.earshot.voice.connection.VoiceConnectionConfig
import dev.earshot.voice.connection.VoiceConnectionState
import dev.earshot.voice.connection.VoiceSessionInfo
import dev.earshot.voice.model.AudioFrame
import dev.earshot.voice.model.OpusPacket
import dev.earshot.voice.model.VoiceEvent
import dev.earshot.voice.model.VoiceOutput
import dev.earshot.voice.send.OpusAudioSource
import dev.earshot.voice.send.Playback
import dev.earshot.voice.sink.AudioSink
import dev.earshot.voice.sink.Listening
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.CoroutineName
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.cancel
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.transformWhile
import kotlinx.coroutines.future.await
import kotlinx.coroutines.future.future
import kotlinx.coroutines.launch
import java.util.concurrent.CompletableFuture
import java.util.concurrent.CompletionStage
import java.util.concurrent.Executor
import java.util.concurrent.atomic.LongAdder
import java.util.function.Consumer
import java.util.function.Function
import kotlin.time.toJavaDuration

/**
 * Not API (the `internal` package is implementation, left out of the Javadoc): one voice-core connection with the
 * coroutine scope the Java facade runs in, the only place where suspend functions and flows meet the futures,
 * callbacks and publishers of the Java API. Its public signatures are Java-clean (no `Flow`, no suspend, no Kotlin
 * function types; a test checks it), so the facade's Java sources call only public declarations.
 */
public class ConnectionRuntime private constructor(
    /** The voice-core connection. */
    @get:JvmName("connection") public val connection: VoiceConnection,
    private val scope: CoroutineScope,
) {
    private val cause: CompletableFuture<Throwable?> = scope.future { connection.awaitClosed() }
    private val closed: CompletableFuture<Void?> = CompletableFuture<Void?>().also { f ->
        cause.whenComplete { c, e ->
            val why = e ?: c
            if (why == null) f.complete(null) else f.completeExceptionally(why)
        }
    }

    /** Completes with the connection's end cause as a value: null after a disconnect. */
    public fun closeCause(): CompletableFuture<Throwable?> = cause

    /** Completes normally after a disconnect, exceptionally with the cause when the connection ended on its own. */
    public fun closed(): CompletableFuture<Void?> = closed

    /** Leaves the channel; completes once voice-core has released everything (sinks cleaned up, files finished). */
    public fun disconnect(): CompletableFuture<Void?> = futureOf { connection.disconnect() }

    /** The last heartbeat round trip, or null. */
    public fun ping(): java.time.Duration? = connection.ping?.toJavaDuration()

    /** Every speaker's playout figures, taken on the pipeline's thread. */
    public fun speakerStats(): CompletableFuture<List<SpeakerStats>> = scope.future { connection.receiver.speakerStats() }

    /** Stops every listening sink and waits for their cleanup. */
    public fun stopListening(): CompletableFuture<Void?> = futureOf { connection.stopListening() }

    /** Applies a VOICE_SERVER_UPDATE. */
    public fun updateServer(token: String, endpoint: String?): CompletableFuture<Void?> =
        futureOf { connection.updateServer(token, endpoint) }

    /** Applies the bot's VOICE_STATE_UPDATE; a null [channelId] means the bot was removed from the channel. */
    public fun updateVoiceState(channelId: Long?, sessionId: String): CompletableFuture<Void?> =
        futureOf { connection.updateVoiceState(channelId, sessionId) }

    /** Stops one listening sink and waits for its cleanup. */
    public fun stop(listening: Listening): CompletableFuture<Void?> = futureOf { listening.stop() }

    /** Listens with [sink]; [after] gets the sink's end (null, or the error that ended it). */
    public fun listen(sink: AudioSink, after: Consumer<Throwable?>): Listening = connection.listen(sink) { after.accept(it) }

    /** Plays [source]. */
    public fun play(source: OpusAudioSource): Playback = connection.play(source)

    /** Completes when [playback] has finished (exceptionally when its source failed). */
    public fun done(playback: Playback): CompletableFuture<Void?> = futureOf { playback.await() }

    /** Ticks and events of the receiver, in order, to [deliver]; see [pump]. */
    public fun pumpOutputs(deliver: Function<in VoiceOutput, out CompletionStage<*>?>, end: Consumer<Throwable?>): AutoCloseable =
        pump(connection.receiver.outputsFlow, deliver, end)

    /** The connection's states to [deliver], the current one first, ending after [VoiceConnectionState.Closed]; see [pump]. */
    public fun pumpStates(deliver: Function<in VoiceConnectionState, out CompletionStage<*>?>, end: Consumer<Throwable?>): AutoCloseable =
        pump(connection.stateChanges.transformWhile { emit(it); it !is VoiceConnectionState.Closed }, deliver, end)

    /** One user's frames to [deliver]; see [pump]. */
    public fun pumpFrames(userId: Long, deliver: Function<in AudioFrame, out CompletionStage<*>?>, end: Consumer<Throwable?>): AutoCloseable =
        pump(connection.receiver.frames(userId), deliver, end)

    /** One user's frames, with PCM in [format] (null: the receiver's), as a publisher (see [publisher]). */
    public fun <T : Any> framesPublisher(
        userId: Long, format: PcmFormat?, convert: Function<in AudioFrame, out T?>, executor: Executor, capacity: Int, dropped: LongAdder,
    ): java.util.concurrent.Flow.Publisher<T> {
        val frames = if (format == null) connection.receiver.frames(userId) else connection.receiver.frames(userId, format)
        return publisher(frames, convert, executor, capacity, dropped)
    }

    /** One SSRC's frames, whether or not its user is known, as a publisher. */
    public fun <T : Any> ssrcFramesPublisher(
        ssrc: Long, convert: Function<in AudioFrame, out T?>, executor: Executor, capacity: Int, dropped: LongAdder,
    ): java.util.concurrent.Flow.Publisher<T> = publisher(connection.receiver.framesOfSsrc(ssrc), convert, executor, capacity, dropped)

    /** Every Opus packet as a publisher. */
    public fun <T : Any> opusPublisher(
        convert: Function<in OpusPacket, out T?>, executor: Executor, capacity: Int, dropped: LongAdder,
    ): java.util.concurrent.Flow.Publisher<T> = publisher(connection.receiver.opusPackets, convert, executor, capacity, dropped)

    /** The combined track by [policy] in [format] (null: the receiver's) as a publisher. */
    public fun <T : Any> mixedPublisher(
        policy: MixPolicy, format: PcmFormat?, convert: Function<in AudioFrame, out T?>, executor: Executor, capacity: Int, dropped: LongAdder,
    ): java.util.concurrent.Flow.Publisher<T> = publisher(connection.receiver.mixed(policy, format), convert, executor, capacity, dropped)

    /** Every event as a publisher. */
    public fun <T : Any> eventsPublisher(
        convert: Function<in VoiceEvent, out T?>, executor: Executor, capacity: Int, dropped: LongAdder,
    ): java.util.concurrent.Flow.Publisher<T> = publisher(connection.receiver.events, convert, executor, capacity, dropped)

    /**
     * [source] converted (null results skipped) behind a drop-oldest buffer of [capacity], as a Reactive Streams
     * publisher signalling on [executor]; it completes when the connection ends after a disconnect and fails with the
     * cause when it ends on its own.
     */
    private fun <S, T : Any> publisher(
        source: Flow<S>, convert: Function<in S, out T?>, executor: Executor, capacity: Int, dropped: LongAdder,
    ): java.util.concurrent.Flow.Publisher<T> =
        Publishers.livePublisher(source, convert, executor, capacity, dropped) { connection.awaitClosed() }

    /**
     * Collects [flow] from now on (subscribed before this returns) and hands each item to [deliver]; when that
     * returns a stage, the next item waits for it, so a slow consumer backs up into the receiver's bounded queue
     * (oldest dropped and counted) rather than into memory. When the flow ends on its own (the receiver stopped), or
     * [deliver] throws, [end] gets null or the error. Closing the result stops collecting; [end] is then not called.
     */
    private fun <T> pump(flow: Flow<T>, deliver: Function<in T, out CompletionStage<*>?>, end: Consumer<Throwable?>): AutoCloseable {
        val job = scope.launch(CoroutineName("earshot-java-collector"), start = CoroutineStart.UNDISPATCHED) {
            var failure: Throwable? = null
            try {
                flow.collect { item -> deliver.apply(item)?.await() }
            } catch (e: CancellationException) {
                throw e
            } catch (e: Throwable) {
                failure = e
            }
            end.accept(failure)
        }
        return AutoCloseable { job.cancel() }
    }

    private fun futureOf(block: suspend () -> Unit): CompletableFuture<Void?> = scope.future {
        block()
        null
    }

    /** Connecting. */
    public companion object {
        /**
         * Connects in a scope of its own. Cancelling the returned future cancels the attempt: voice-core then closes
         * the socket and releases everything, and the scope is cancelled.
         */
        @JvmStatic
        public fun connect(info: VoiceSessionInfo, config: VoiceConnectionConfig): CompletableFuture<ConnectionRuntime> {
            val scope = CoroutineScope(SupervisorJob() + Dispatchers.Default + CoroutineName("earshot-java"))
            val future = scope.future { ConnectionRuntime(VoiceConnection.connect(info, config, scope), scope) }
            future.whenComplete { _, e -> if (e != null) scope.cancel() }
            return future
        }
    }
}
