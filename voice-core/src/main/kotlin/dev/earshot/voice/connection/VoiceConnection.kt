package dev.earshot.voice.connection

import dev.earshot.voice.VoiceReceiver
import dev.earshot.voice.base.NanoClock
import dev.earshot.voice.crypto.EncryptionMode
import dev.earshot.voice.dave.DaveSession
import dev.earshot.voice.e2ee.FrameDecryptor
import dev.earshot.voice.gateway.DaveGateway
import dev.earshot.voice.gateway.GatewayMessages
import dev.earshot.voice.gateway.GatewaySession
import dev.earshot.voice.gateway.KtorGatewayConnector
import dev.earshot.voice.model.VoiceEvent
import dev.earshot.voice.send.AudioPlayer
import dev.earshot.voice.send.OpusAudioSource
import dev.earshot.voice.send.Playback
import dev.earshot.voice.sink.AudioSink
import dev.earshot.voice.sink.Listening
import dev.earshot.voice.udp.SwitchableDatagramSource
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.CoroutineName
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Deferred
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.Job
import kotlinx.coroutines.NonCancellable
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.isActive
import kotlinx.coroutines.job
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext
import kotlinx.coroutines.withTimeoutOrNull
import org.slf4j.LoggerFactory
import kotlin.time.Duration
import kotlin.time.Duration.Companion.seconds

/**
 * A live connection to one Discord voice channel: the voice gateway (v8, heartbeats with `seq_ack`, resume), UDP
 * with IP discovery and keepalive, the [receiver] that turns packets into audio, and a player for sending.
 *
 * Get one with [connect]. It keeps itself alive: it resumes after drops (4015, non-4xxx closes, dead heartbeats),
 * reconnects in full when the session is gone (4006, 4009...), follows server moves ([updateServer]) and stops only
 * where Discord says not to reconnect (4014, 4021, 4022, 4004) or on 4017 (DAVE required, a configuration error),
 * which ends it with a typed [VoiceConnectionException] in [closed]. Sinks and flows carry on across all of that: a
 * gap shows as silence.
 */
public class VoiceConnection private constructor(
    info: VoiceSessionInfo,
    /** The settings this connection was made with. */
    public val config: VoiceConnectionConfig,
    parent: CoroutineScope,
) {
    private val scope = CoroutineScope(parent.coroutineContext + SupervisorJob(parent.coroutineContext[Job]) + CoroutineName("earshot-voice"))
    private val source = SwitchableDatagramSource()

    // DAVE needs the channel id (the MLS group id); without one, or when not offered, the call is transport-only.
    private val daveBridge: DaveBridge? = info.channelId?.takeIf { config.maxDaveProtocolVersion > 0 }?.let { channel ->
        // MLS work off the threads the receive clocks run on; inline under a virtual clock, as tests need.
        DaveBridge(config.daveSessionFactory, info.userId, channel, scope, DaveWorker.dispatcher.takeIf { config.receive.clock === NanoClock.SYSTEM })
    }

    /** The receive side: flows of ticks, frames, Opus packets and events, sinks, stats. */
    public val receiver: VoiceReceiver = VoiceReceiver(
        source, config.receive, frameDecryptor = daveBridge?.frameDecryptor ?: FrameDecryptor.PASSTHROUGH,
    )

    private val player = AudioPlayer(
        scope, speaking = { flags -> sendSpeaking(flags) }, clock = config.receive.clock, frameEncryptor = daveBridge?.frameEncryptor,
    )
    private val ownConnector = if (config.gatewayConnector == null) KtorGatewayConnector(config.trustManager, scope) else null
    private val driver = ConnectionDriver(
        info, config, receiver, source, player,
        config.gatewayConnector ?: ownConnector!!, config.udpConnector ?: NioUdpConnector, scope,
        daveBridge ?: DaveGateway.Ignore(0),
    )

    /**
     * The DAVE session of this connection (privacy code, epoch, stats), or null when DAVE is not offered
     * ([VoiceConnectionConfig.maxDaveProtocolVersion] 0, or no channel id in the session info).
     */
    public val dave: DaveSession? get() = daveBridge?.session

    /** The voice gateway's counters (messages, drops), for tests and diagnostics. */
    internal val counters: dev.earshot.voice.gateway.GatewayCounters get() = driver.counters
    private val done = CompletableDeferred<Throwable?>()
    @Volatile
    private var driverJob: Job? = null
    // Set once by whoever ends the connection first (disconnect, a channel leave, the driver, a cancelled scope), so
    // that two ends racing never run the teardown twice or report the loser's cause.
    private val ending = java.util.concurrent.atomic.AtomicBoolean()

    /** Where the connection is in its life; [VoiceConnectionState.Closed] at the end. */
    public val state: StateFlow<VoiceConnectionState> = driver.state

    /**
     * Every state the connection enters, in order: the current one first, then each change, so that a listener sees a
     * reconnect even when it is over before the listener runs (a [state] collector sees only the latest value). A
     * collector more than 16 changes behind loses the oldest. Never completes; [VoiceConnectionState.Closed] is last.
     */
    public val stateChanges: Flow<VoiceConnectionState> get() = driver.stateChanges

    /** Completes when the connection has ended, with the cause: null after [disconnect], else a [VoiceConnectionException]. */
    public val closed: Deferred<Throwable?> get() = done

    /** Whether the connection has not ended yet (it may be reconnecting). */
    public val isAlive: Boolean get() = !done.isCompleted

    /** The current session: guild, user, endpoint (changes with [updateServer]). */
    public val session: VoiceSessionInfo get() = driver.info

    /** Our SSRC from the last Ready; 0 before the first. */
    public val ssrc: Long get() = driver.ssrc

    /** The transport encryption mode in use, or null before the first Session Description. */
    public val encryptionMode: EncryptionMode? get() = driver.mode

    /** The round trip of the last acknowledged heartbeat, or null. */
    public val ping: Duration? get() = driver.session?.ping

    /** The users in the channel as the voice server announced them (op 11 joins, op 13 leaves), without us. */
    public val members: Set<Long> get() = HashSet(driver.members) // not toSet(): it reads size first and races a concurrent removal

    /** Every event: speaking, speaking mode, members, video, flags, platform, RTCP, stats. Hot, from the moment of collection. */
    public val events: Flow<VoiceEvent> get() = receiver.events

    /** Feeds [sink] until stopped; see [VoiceReceiver.listen]. */
    public fun listen(sink: AudioSink, after: (Throwable?) -> Unit = {}): Listening = receiver.listen(sink, after)

    /** Stops every listening sink and waits for their cleanup. */
    public suspend fun stopListening(): Unit = receiver.stopListening()

    /** Pauses delivery to sinks. */
    public fun pauseListening(): Unit = receiver.pauseListening()

    /** Resumes delivery to sinks. */
    public fun resumeListening(): Unit = receiver.resumeListening()

    /** Whether any sink is listening. */
    public val isListening: Boolean get() = receiver.isListening

    /** Plays [source] into the channel (replacing what plays now); see [AudioPlayer.play]. */
    public fun play(source: OpusAudioSource): Playback = player.play(source)

    /** Stops playing (five silence frames follow, then Speaking off). */
    public fun stopPlaying(): Unit = player.stopPlaying()

    /** Whether something is playing. */
    public val isPlaying: Boolean get() = player.isPlaying

    /** Stops listening and playing; the connection stays up. */
    public suspend fun stop() {
        stopPlaying()
        stopListening()
    }

    /**
     * Applies a VOICE_SERVER_UPDATE from the main gateway: a new [endpoint] (a server move, or the same endpoint with a
     * new token after a channel change) makes the connection identify there afresh; a null endpoint means Discord is
     * reallocating the server, and the connection waits for the next update. Recordings carry on.
     */
    public suspend fun updateServer(token: String, endpoint: String?) {
        driver.updateServer(token, endpoint)
    }

    /**
     * Applies the bot's own VOICE_STATE_UPDATE from the main gateway: a new [channelId] (a channel move) or a new
     * [sessionId] (a new main-gateway session). The connection leaves its voice server session at once and waits
     * ([VoiceConnectionState.WaitingForServer]) for the VOICE_SERVER_UPDATE Discord sends next; [updateServer] then
     * identifies with the new values. On a channel move the DAVE session starts over for the new channel's MLS group
     * ([dave] returns the new session; its stats start from zero). Recordings carry on: receiver, sinks and flows stay.
     * Unchanged values do nothing. A null [channelId] means the bot was removed from the channel: the connection
     * ends with [VoiceChannelLeftException] (sinks finish as after [disconnect]).
     */
    public suspend fun updateVoiceState(channelId: Long?, sessionId: String) {
        if (done.isCompleted) return
        if (channelId == null) {
            end(VoiceChannelLeftException(driver.info.channelId))
            return
        }
        val channelChanged = driver.info.channelId != channelId
        if (!driver.updateVoiceState(channelId, sessionId)) return
        if (channelChanged) daveBridge?.switchChannel(channelId)
    }

    /**
     * Leaves: closes the socket (1000), stops the player and receiver, lets every sink work through what it has queued
     * and clean up (at most 10 s), completes the flows, and waits for all of that.
     */
    public suspend fun disconnect() {
        end(null)
    }

    /** Ends the connection from outside the driver with [cause]; waits for the teardown if another end won the race. */
    private suspend fun end(cause: Throwable?) {
        if (!ending.compareAndSet(false, true)) {
            done.await()
            return
        }
        // Taken before the driver is cancelled: its socket loop forgets the session as it ends, and a socket that is
        // then cut without a close frame looks like a dropped connection, which the server keeps for a resume.
        val session = driver.session
        driverJob?.cancel()
        finish(cause, session)
    }

    /** Suspends until the connection has ended; returns [closed]'s cause. */
    public suspend fun awaitClosed(): Throwable? = done.await()

    private suspend fun sendSpeaking(flags: Int) {
        driver.speakingFlags = flags
        val s = driver.session ?: return // sent with the next Session Description
        try {
            s.sendText(GatewayMessages.speaking(flags, driver.ssrc))
        } catch (e: Exception) {
            if (e is CancellationException) throw e // the session turns a closed socket's cancellation into an IOException
            log.debug("speaking not sent: {}", e.toString())
        }
    }

    private fun start() {
        receiver.start(scope)
        driverJob = scope.launch(CoroutineName("earshot-voice-connection")) {
            val cause = try {
                driver.run()
            } catch (e: CancellationException) {
                if (isActive) {
                    // Not our cancellation: a CancellationException escaped from below. Never vanish silently.
                    log.warn("voice connection failed", e)
                    VoiceConnectionInternalException("the voice connection's control loop failed: $e", e)
                } else {
                    // disconnect() or a channel leave ends the connection itself; a cancelled scope ends it here.
                    if (ending.compareAndSet(false, true)) finish(null)
                    throw e
                }
            } catch (e: Throwable) {
                if (e.isVmFatal()) {
                    if (ending.compareAndSet(false, true)) finish(VoiceConnectionInternalException("the voice connection failed: $e", e))
                    throw e
                }
                log.warn("voice connection failed", e)
                e as? VoiceConnectionException ?: VoiceConnectionInternalException("the voice connection's control loop failed: $e", e)
            }
            if (ending.compareAndSet(false, true)) finish(cause)
        }
    }

    /** The teardown; runs once, by whoever set [ending]. */
    private suspend fun finish(cause: Throwable?, session: GatewaySession? = driver.session) = withContext(NonCancellable) {
        // The close frame has to reach the server before the connection's scope (and the socket's request) is
        // cancelled below: hence waiting for its answer, bounded.
        session?.closeAndAwait(1000, "disconnecting")
        player.close()
        driver.release()
        daveBridge?.close()
        // The source has ended, so the receiver plays out what it holds and stops by itself; cap the wait.
        if (withTimeoutOrNull(2.seconds) { receiver.awaitClose() } == null) receiver.close()
        // Sinks still working through their queues (a recording behind by a few seconds) finish before the scope
        // ends: cancelling them here would lose the queued audio. Bounded, so a stuck sink cannot hold the close.
        withTimeoutOrNull(SINK_DRAIN_TIMEOUT) { receiver.awaitSinks() }
        ownConnector?.close()
        driver.setState(VoiceConnectionState.Closed(cause))
        // A connect() still waiting learns why; null means the connection's scope was cancelled under it.
        driver.firstConnect.completeExceptionally(cause ?: CancellationException("the voice connection was closed before it connected"))
        done.complete(cause)
        scope.coroutineContext.job.cancel()
    }

    /** Connecting. */
    public companion object {
        private val log = LoggerFactory.getLogger(VoiceConnection::class.java)
        private val SINK_DRAIN_TIMEOUT = 10.seconds

        /**
         * Connects to the voice server in [info] and returns once audio can flow (the first Session Description), or
         * throws the typed cause ([DaveRequiredException], [VoiceGatewayClosedException],
         * [NoSupportedEncryptionModeException], [VoiceServerProtocolException], [VoiceReconnectFailedException]...),
         * never a raw error. The connection's coroutines run in [scope] (default: its own scope on
         * [Dispatchers.Default]); cancelling [scope] ends the connection ([closed] completes with null). Cancelling
         * this call abandons the attempt and releases everything.
         *
         * Bound: each attempt takes at most [VoiceConnectionConfig.handshakeTimeout] to open the WebSocket plus
         * [VoiceConnectionConfig.handshakeTimeout] from open to Session Description (IP discovery included), and at
         * most `maxReconnectAttempts + 1` attempts are made, with the backoff delays between them; so connect returns
         * or throws within `(maxReconnectAttempts + 1) x 2 x handshakeTimeout` plus those delays (with the defaults at
         * most 180 s + 91 s; a refused connection fails in about 1 minute, a protocol violation after 2 attempts).
         */
        public suspend fun connect(
            info: VoiceSessionInfo,
            config: VoiceConnectionConfig = VoiceConnectionConfig.DEFAULT,
            scope: CoroutineScope = CoroutineScope(Dispatchers.Default),
        ): VoiceConnection {
            val connection = VoiceConnection(info, config, scope)
            connection.start()
            try {
                connection.driver.firstConnect.await()
            } catch (e: Throwable) {
                connection.disconnect()
                throw e
            }
            return connection
        }
    }
}
