package dev.earshot.voice.javaapi.internal

import dev.earshot.voice.audio.MixPolicy
import dev.earshot.voice.connection.VoiceConnection
import dev.earshot.voice.connection.VoiceConnectionConfig
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
import kotlinx.coroutines.future.await
import kotlinx.coroutines.future.future
import kotlinx.coroutines.launch
import java.util.concurrent.CompletableFuture
import java.util.concurrent.CompletionStage
import java.util.function.Consumer
import java.util.function.Function
import kotlin.time.toJavaDuration

/**
 * One voice-core connection with the coroutine scope the Java facade runs its collectors in: the only place where
 * suspend functions and flows meet the futures and callbacks of the Java API.
 */
internal class ConnectionRuntime private constructor(val connection: VoiceConnection, private val scope: CoroutineScope) {
    /** Completes with the connection's end cause (null after a disconnect). */
    val closed: CompletableFuture<Throwable?> = scope.future { connection.awaitClosed() }

    /** Leaves the channel; completes once voice-core has released everything (sinks cleaned up, files finished). */
    fun disconnect(): CompletableFuture<Void?> = scope.future {
        connection.disconnect()
        null
    }

    /** The last heartbeat round trip, or null. */
    fun ping(): java.time.Duration? = connection.ping?.toJavaDuration()

    /** Ticks and events of the receiver, in the order they happened. */
    fun outputs(): Flow<VoiceOutput> = connection.receiver.outputsFlow

    /** One user's frames. */
    fun frames(userId: Long): Flow<AudioFrame> = connection.receiver.frames(userId)

    /** Every Opus packet. */
    fun opusPackets(): Flow<OpusPacket> = connection.receiver.opusPackets

    /** The combined track by [policy]. */
    fun mixed(policy: MixPolicy): Flow<AudioFrame> = connection.receiver.mixed(policy)

    /** Every event. */
    fun events(): Flow<VoiceEvent> = connection.receiver.events

    /**
     * Collects [flow] from now on (subscribed before this returns) and hands each item to [deliver]; when that
     * returns a stage, the next item waits for it, so a slow consumer backs up into the receiver's bounded queue
     * (oldest dropped and counted) rather than into memory. When the flow ends on its own (the receiver stopped), or
     * [deliver] throws, [end] gets null or the error. Closing the result stops collecting; [end] is then not called.
     */
    fun <T> pump(flow: Flow<T>, deliver: Function<in T, out CompletionStage<*>?>, end: Consumer<Throwable?>): AutoCloseable {
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

    /** Listens with [sink]; [after] gets the sink's end (null, or the error that ended it). */
    fun listen(sink: AudioSink, after: Consumer<Throwable?>): Listening = connection.listen(sink) { after.accept(it) }

    /** Stops one listening sink and waits for its cleanup. */
    fun stop(listening: Listening): CompletableFuture<Void?> = scope.future {
        listening.stop()
        null
    }

    /** Stops every listening sink. */
    fun stopListening(): CompletableFuture<Void?> = scope.future {
        connection.stopListening()
        null
    }

    /** Applies a VOICE_SERVER_UPDATE. */
    fun updateServer(token: String, endpoint: String?): CompletableFuture<Void?> = scope.future {
        connection.updateServer(token, endpoint)
        null
    }

    /** Applies the bot's own VOICE_STATE_UPDATE (channel null: it left or was removed). */
    fun updateVoiceState(channelId: Long?, sessionId: String): CompletableFuture<Void?> = scope.future {
        connection.updateVoiceState(channelId, sessionId)
        null
    }

    /** Plays [source]. */
    fun play(source: OpusAudioSource): Playback = connection.play(source)

    /** Completes when [playback] has finished (exceptionally when its source failed). */
    fun done(playback: Playback): CompletableFuture<Void?> = scope.future {
        playback.await()
        null
    }

    companion object {
        /**
         * Connects in a scope of its own. Cancelling the returned future cancels the attempt: voice-core then closes
         * the socket and releases everything, and the scope is cancelled.
         */
        @JvmStatic
        fun connect(info: VoiceSessionInfo, config: VoiceConnectionConfig): CompletableFuture<ConnectionRuntime> {
            val scope = CoroutineScope(SupervisorJob() + Dispatchers.Default + CoroutineName("earshot-java"))
            val future = scope.future { ConnectionRuntime(VoiceConnection.connect(info, config, scope), scope) }
            future.whenComplete { _, e -> if (e != null) scope.cancel() }
            return future
        }
    }
}
