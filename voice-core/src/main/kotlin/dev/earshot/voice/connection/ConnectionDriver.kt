package dev.earshot.voice.connection

import dev.earshot.voice.VoiceReceiver
import dev.earshot.voice.crypto.EncryptionMode
import dev.earshot.voice.crypto.TransportCipher
import dev.earshot.voice.gateway.CloseAction
import dev.earshot.voice.gateway.CloseCodes
import dev.earshot.voice.gateway.DaveGateway
import dev.earshot.voice.gateway.DaveGatewaySender
import dev.earshot.voice.gateway.GatewayClose
import dev.earshot.voice.gateway.GatewayConnector
import dev.earshot.voice.gateway.GatewayCounters
import dev.earshot.voice.gateway.GatewayMessages
import dev.earshot.voice.gateway.GatewaySession
import dev.earshot.voice.gateway.Inbound
import dev.earshot.voice.gateway.SeqTracker
import dev.earshot.voice.model.VoiceEvent
import dev.earshot.voice.send.AudioPlayer
import dev.earshot.voice.udp.SwitchableDatagramSource
import dev.earshot.voice.udp.runKeepalive
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.CoroutineName
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Job
import kotlinx.coroutines.TimeoutCancellationException
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.launch
import kotlinx.coroutines.withTimeout
import kotlinx.coroutines.withTimeoutOrNull
import kotlinx.serialization.json.JsonObject
import org.slf4j.LoggerFactory
import java.util.concurrent.ConcurrentHashMap

/**
 * The voice connection's control loop (one long-lived coroutine): opens a gateway socket, identifies or resumes,
 * sets up UDP on Ready, installs keys on Session Description, turns member messages into events, and after each close
 * decides by docs/protocol.md §2.6 whether to resume, reconnect in full, or stop. Receiver, sinks and flows live beyond any
 * one socket, so recordings carry on across resumes, reconnects, key changes and server moves.
 */
internal class ConnectionDriver(
    initial: VoiceSessionInfo,
    private val config: VoiceConnectionConfig,
    private val receiver: VoiceReceiver,
    private val source: SwitchableDatagramSource,
    private val player: AudioPlayer,
    private val connector: GatewayConnector,
    private val udp: UdpConnector,
    private val scope: CoroutineScope,
    private val dave: DaveGateway = DaveGateway.Ignore(0),
) {
    val state = MutableStateFlow<VoiceConnectionState>(VoiceConnectionState.Connecting)
    val firstConnect = CompletableDeferred<Unit>()
    val counters = GatewayCounters()
    val members: MutableSet<Long> = ConcurrentHashMap.newKeySet()

    @Volatile
    var info: VoiceSessionInfo = initial
        private set
    @Volatile
    var ssrc: Long = 0
        private set
    @Volatile
    var mode: EncryptionMode? = null
        private set
    @Volatile
    var session: GatewaySession? = null
        private set
    @Volatile
    var speakingFlags: Int = 0

    private val backoff = Backoff(config.reconnectDelay, config.reconnectDelayMax)
    private val seq = SeqTracker()
    private var link: UdpLink? = null
    private var pendingLink: UdpLink? = null
    private var keepalive: Job? = null
    @Volatile
    private var serverChanged = false
    @Volatile
    private var awaitingServer = false
    private val serverWake = Channel<Unit>(Channel.CONFLATED)

    /** A VOICE_SERVER_UPDATE: a null [endpoint] means the server is being reallocated; otherwise move there. */
    suspend fun updateServer(token: String, endpoint: String?) {
        if (endpoint == null) {
            awaitingServer = true
        } else {
            info = info.withServer(token, endpoint)
            awaitingServer = false
        }
        serverChanged = true
        serverWake.trySend(Unit)
        session?.close(CloseCodes.LOCAL_MOVING, "moving to a new voice server")
    }

    /**
     * The bot's own voice state changed (a channel move, or a new main-gateway session): the next Identify carries
     * [sessionId], and the connection leaves the current voice server session at once and waits for the
     * VOICE_SERVER_UPDATE that Discord sends next. Returns false (and does nothing) when neither value changed.
     */
    suspend fun updateVoiceState(channelId: Long, sessionId: String): Boolean {
        val old = info
        if (old.channelId == channelId && old.sessionId == sessionId) return false
        info = VoiceSessionInfo(old.guildId, channelId, old.userId, sessionId, old.token, old.endpoint)
        awaitingServer = true
        serverChanged = true
        serverWake.trySend(Unit)
        session?.close(CloseCodes.LOCAL_MOVING, "moving to another channel")
        return true
    }

    /** Runs until the connection ends on its own; returns why (never null), or is cancelled by disconnect. */
    suspend fun run(): Throwable {
        var resume = false
        var failures = 0
        var lastFailure: Throwable? = null
        while (true) {
            if (serverChanged) {
                serverChanged = false
                resume = false
                failures = 0
            }
            while (awaitingServer) {
                state.value = VoiceConnectionState.WaitingForServer
                serverWake.receive()
                if (serverChanged) serverChanged = false
            }
            if (failures > 0) {
                state.value = VoiceConnectionState.Reconnecting(resume, lastCloseCode, failures)
                delay(backoff.delayFor(failures))
            }
            val outcome = runSocket(resume)
            if (outcome.fatal != null) return outcome.fatal
            val close = outcome.close
            if (serverChanged) continue
            if (close != null) {
                when (CloseCodes.actionFor(close.code)) {
                    CloseAction.STOP -> {
                        if (close.code == CloseCodes.DISCONNECTED && awaitMove()) continue
                        return stopCause(close)
                    }
                    CloseAction.RESUME -> resume = ssrc != 0L
                    CloseAction.RECONNECT -> resume = false
                }
                lastCloseCode = close.code
                lastFailure = outcome.error ?: VoiceGatewayClosedException(close.code, close.reason, describe(close))
                log.info("voice gateway closed ({}); {}", describe(close), if (resume) "resuming" else "reconnecting")
            } else {
                lastCloseCode = 0
                lastFailure = outcome.error
                log.info("voice gateway connection failed: {}", outcome.error?.toString())
            }
            if (outcome.error is VoiceHandshakeTimeoutException) resume = false
            failures = if (outcome.progressed) 1 else failures + 1
            if (failures > config.maxReconnectAttempts) return VoiceReconnectFailedException(failures - 1, lastFailure)
            if (outcome.progressed) state.value = VoiceConnectionState.Reconnecting(resume, lastCloseCode, 1)
        }
    }

    @Volatile
    private var lastCloseCode = 0

    /**
     * After a 4014: Discord closes the voice session of a bot that is moved to another channel, and the main gateway's
     * VOICE_STATE_UPDATE for the move can arrive after that close. Waits up to [VoiceConnectionConfig.moveGrace] for
     * it ([updateVoiceState] or [updateServer]); true if it came, false if the 4014 stands.
     */
    private suspend fun awaitMove(): Boolean {
        if (serverChanged) return true
        if (!config.moveGrace.isPositive()) return false
        state.value = VoiceConnectionState.WaitingForServer
        withTimeoutOrNull(config.moveGrace) {
            while (!serverChanged) serverWake.receive()
        }
        return serverChanged
    }

    private class Outcome(val close: GatewayClose?, val error: Throwable?, val progressed: Boolean, val fatal: Throwable? = null)

    private class FatalError(override val cause: Throwable) : Exception(cause)

    private suspend fun runSocket(resume: Boolean): Outcome {
        // A full reconnect brings a new SSRC and key: audio sent meanwhile is dropped (and counted) by the player.
        if (!resume) player.detach()
        val current = info
        val url = "${if (config.secure) "wss" else "ws"}://${current.endpoint}/?v=8"
        val socket = try {
            withTimeout(config.handshakeTimeout) { connector.connect(url) }
        } catch (e: TimeoutCancellationException) {
            return Outcome(null, VoiceHandshakeTimeoutException("no WebSocket to ${current.endpoint} within ${config.handshakeTimeout}"), false)
        } catch (e: CancellationException) {
            throw e
        } catch (e: Exception) {
            return Outcome(null, e, false)
        }
        val s = GatewaySession(socket, seq, counters, config.missedHeartbeatAcks)
        session = s
        if (serverChanged) s.close(CloseCodes.LOCAL_MOVING, "moving to a new voice server")
        var done = false
        var timedOut = false
        return coroutineScope {
            val watchdog = launch {
                delay(config.handshakeTimeout)
                if (!done) {
                    timedOut = true
                    s.close(CloseCodes.NORMAL, "handshake timeout")
                }
            }
            try {
                val close = s.run { message ->
                    if (handle(message, s, resume, current)) done = true
                }
                val error = if (timedOut) {
                    VoiceHandshakeTimeoutException("the voice server at ${current.endpoint} did not complete the handshake within ${config.handshakeTimeout}")
                } else null
                Outcome(if (timedOut) null else close, error, done)
            } catch (e: FatalError) {
                Outcome(null, e.cause, done, fatal = e.cause)
            } catch (e: CancellationException) {
                throw e
            } catch (e: Exception) {
                log.debug("voice connection attempt failed", e)
                Outcome(null, e, done)
            } finally {
                watchdog.cancel()
                session = null
            }
        }
    }

    /** Handles one server message; returns true when it completes the handshake (audio can flow). */
    private suspend fun handle(message: Inbound, s: GatewaySession, resume: Boolean, current: VoiceSessionInfo): Boolean {
        when (message) {
            is Inbound.Hello -> if (resume) {
                s.sendText(GatewayMessages.resume(current.guildId, current.sessionId, current.token, seq.last))
            } else {
                seq.reset()
                s.sendText(
                    GatewayMessages.identify(current.guildId, current.userId, current.sessionId, current.token, dave.maxProtocolVersion),
                )
            }
            is Inbound.Ready -> {
                val chosen = EncryptionMode.choose(message.modes) ?: throw FatalError(NoSupportedEncryptionModeException(message.modes))
                val opened = udp.open(message.ip, message.port, message.ssrc, config)
                pendingLink?.close()
                pendingLink = opened
                ssrc = message.ssrc
                s.sendText(GatewayMessages.selectProtocol(opened.externalIp, opened.externalPort, chosen.wireName))
            }
            is Inbound.SessionDescription -> {
                val chosen = EncryptionMode.fromWireName(message.mode)
                    ?: throw IllegalStateException("the voice server chose an unknown encryption mode ${message.mode}")
                check(message.secretKey.size == 32) { "session description key of ${message.secretKey.size} bytes" }
                receiver.setTransportKey(chosen, message.secretKey)
                mode = chosen
                pendingLink?.let { attach(it) }
                pendingLink = null
                val active = checkNotNull(link) { "session description before Ready" }
                player.attach(active.sink, ssrc, TransportCipher.create(chosen, message.secretKey))
                // Some clients say a Speaking is needed before audio is received; one is harmless (docs/protocol.md §2.4).
                s.sendText(GatewayMessages.speaking(speakingFlags, ssrc))
                dave.onSessionDescription(message.daveProtocolVersion, sender(s))
                connected(current)
                return true
            }
            is Inbound.Resumed -> {
                connected(current)
                return true
            }
            is Inbound.Speaking -> {
                val owner = receiver.ssrcs.userOf(message.ssrc)
                if (owner != dev.earshot.voice.identity.SsrcDirectory.UNKNOWN && owner != message.userId) receiver.forgetSsrc(message.ssrc)
                receiver.ssrcs.map(message.ssrc, message.userId)
                receiver.publish(VoiceEvent.SpeakingStateChanged(message.userId, message.ssrc, message.flags))
            }
            is Inbound.ClientsConnect -> {
                dave.onMembers(message.userIds, emptyList())
                for (user in message.userIds) {
                    if (members.add(user)) receiver.publish(VoiceEvent.MemberConnected(user))
                }
            }
            is Inbound.ClientDisconnect -> {
                dave.onMembers(emptyList(), listOf(message.userId))
                members.remove(message.userId)
                receiver.ssrcs.ssrcsOf(message.userId).forEach(receiver::forgetSsrc)
                receiver.publish(VoiceEvent.MemberDisconnected(message.userId))
            }
            is Inbound.Video -> {
                if (message.audioSsrc != 0L) receiver.ssrcs.map(message.audioSsrc, message.userId)
                receiver.publish(VoiceEvent.MemberVideo(message.userId, message.audioSsrc, message.videoSsrc))
            }
            is Inbound.ClientFlags -> receiver.publish(VoiceEvent.MemberFlags(message.userId, message.flags))
            is Inbound.ClientPlatform -> receiver.publish(VoiceEvent.MemberPlatform(message.userId, message.platform))
            is Inbound.DaveJson -> dave.onJson(message.op, message.data, sender(s))
            is Inbound.Binary -> dave.onBinary(message.op, message.payload, sender(s))
            is Inbound.Ignored -> counters.ignored.incrementAndGet()
            is Inbound.Hello, is Inbound.HeartbeatAck, is Inbound.HeartbeatRequest -> Unit // handled by the session
        }
        return false
    }

    private fun sender(s: GatewaySession) = object : DaveGatewaySender {
        override suspend fun sendJson(op: Int, d: JsonObject) = s.sendText(GatewayMessages.message(op, d))
        override suspend fun sendBinary(op: Int, payload: ByteArray) = s.sendBinary(GatewayMessages.binary(op, payload))
    }

    private fun connected(current: VoiceSessionInfo) {
        state.value = VoiceConnectionState.Connected(ssrc, current.endpoint)
        firstConnect.complete(Unit)
    }

    /** Switches the receive path and keepalive to a new UDP link and closes the old one. */
    private fun attach(next: UdpLink) {
        val old = link
        link = next
        source.attach(next.source)
        keepalive?.cancel()
        keepalive = scope.launch(CoroutineName("earshot-udp-keepalive")) { runKeepalive(next.sink, config.udpKeepaliveInterval) }
        old?.close()
    }

    /** Releases the UDP side (the connection is ending). */
    fun release() {
        keepalive?.cancel()
        pendingLink?.close()
        link?.close()
        pendingLink = null
        link = null
        source.finish()
    }

    private fun describe(close: GatewayClose): String =
        "${close.code} ${CloseCodes.describe(close.code)}" + if (close.reason.isNotEmpty()) " (\"${close.reason}\")" else ""

    private fun stopCause(close: GatewayClose): Throwable = when (close.code) {
        CloseCodes.E2EE_REQUIRED -> DaveRequiredException(
            "the voice server closed the connection with 4017: this channel requires DAVE end-to-end encryption, and " +
                "this connection offered max_dave_protocol_version=${dave.maxProtocolVersion}. This is a configuration " +
                "error and is not retried; connect with DAVE enabled.",
        )
        else -> VoiceGatewayClosedException(close.code, close.reason, "the voice server ended the connection: ${describe(close)}")
    }

    private companion object {
        private val log = LoggerFactory.getLogger(ConnectionDriver::class.java)
    }
}
