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
import dev.earshot.voice.gateway.GatewaySocketClosedException
import dev.earshot.voice.gateway.Inbound
import dev.earshot.voice.gateway.SeqTracker
import dev.earshot.voice.send.AudioPlayer
import dev.earshot.voice.udp.SwitchableDatagramSource
import dev.earshot.voice.udp.runKeepalive
import dev.earshot.voice.gateway.socketCall
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.CoroutineName
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Job
import kotlinx.coroutines.TimeoutCancellationException
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.delay
import kotlinx.coroutines.channels.BufferOverflow
import kotlinx.coroutines.flow.MutableSharedFlow
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.SharedFlow
import kotlinx.coroutines.flow.StateFlow
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
    private val stateNow = MutableStateFlow<VoiceConnectionState>(VoiceConnectionState.Connecting)

    /** Where the connection is; set only through [setState]. */
    val state: StateFlow<VoiceConnectionState> get() = stateNow

    // Every state in order for listeners that must not miss a short one (a resume on a fast network is over before a
    // StateFlow collector runs): the latest is replayed to a new collector; a collector 16 behind loses the oldest.
    private val changes = MutableSharedFlow<VoiceConnectionState>(
        replay = 1, extraBufferCapacity = STATE_BUFFER, onBufferOverflow = BufferOverflow.DROP_OLDEST,
    ).also { it.tryEmit(VoiceConnectionState.Connecting) }
    private val stateLock = Any()

    /** [state] and its changes, in order; see [changes]. */
    val stateChanges: SharedFlow<VoiceConnectionState> get() = changes

    /** Sets [state] and records the change, so the two always agree on the order. */
    fun setState(s: VoiceConnectionState) {
        synchronized(stateLock) {
            // As the StateFlow: setting the state it already holds is no change.
            if (stateNow.value == s) return
            stateNow.value = s
            changes.tryEmit(s)
        }
    }
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

    /**
     * Runs until the connection ends on its own; returns why (never null, always a [VoiceConnectionException]), or is
     * cancelled by disconnect. Every socket ends in one of: a close code (policy by [CloseCodes.actionFor]), a drop,
     * a handshake timeout, a failed send or read, or a bad message; each leads either to another attempt after
     * [Backoff.delayFor] or to a typed end cause:
     * - `failures` counts the consecutive attempts since the connection last stayed healthy (Connected for at least
     *   [VoiceConnectionConfig.healthyAfter]); a socket that stayed healthy starts the count over at 1, whose retry is
     *   immediate. A server that completes the handshake and drops again soon is retried with growing delays.
     * - after [VoiceConnectionConfig.maxReconnectAttempts] such attempts in a row the connection gives up with
     *   [VoiceReconnectFailedException] carrying the last failure.
     * - a [VoiceServerProtocolException] (deterministic: a bad field or a message out of order) is retried once with a
     *   full Identify; a second one in a row ends the connection with it.
     */
    suspend fun run(): Throwable {
        var resume = false
        var failures = 0
        var lastFailure: Throwable? = null
        var lastViolation: VoiceServerProtocolException? = null
        while (true) {
            if (serverChanged) {
                serverChanged = false
                resume = false
                failures = 0
                lastViolation = null
            }
            while (awaitingServer) {
                setState(VoiceConnectionState.WaitingForServer)
                serverWake.receive()
                if (serverChanged) serverChanged = false
            }
            if (failures > 0) {
                setState(VoiceConnectionState.Reconnecting(resume, lastCloseCode, failures))
                delay(backoff.delayFor(failures))
            }
            connectedAt = NOT_CONNECTED
            val outcome = runSocket(resume)
            if (outcome.fatal != null) return outcome.fatal
            val close = outcome.close
            val error = outcome.error
            val healthy = stayedHealthy()
            if (serverChanged) continue
            if (close != null) {
                when (CloseCodes.actionFor(close.code)) {
                    CloseAction.STOP -> {
                        if (close.code == CloseCodes.DISCONNECTED && awaitMove()) continue
                        return stopCause(close)
                    }
                    // Only a session whose key we hold can be resumed (not one closed between Ready and Session Description).
                    CloseAction.RESUME -> resume = sessionKeyed
                    CloseAction.RECONNECT -> resume = false
                }
                lastCloseCode = close.code
                lastFailure = error ?: VoiceGatewayClosedException(close.code, close.reason, describe(close))
                log.info("voice gateway closed ({}); {}", describe(close), if (resume) "resuming" else "reconnecting")
            } else {
                lastCloseCode = 0
                lastFailure = error
                log.info("voice gateway connection failed: {}", error?.toString())
            }
            if (error is VoiceServerProtocolException) {
                if (lastViolation != null) return error // deterministic: retried once already
                lastViolation = error
                resume = false
            } else {
                lastViolation = null
            }
            if (error is VoiceHandshakeTimeoutException) resume = false
            failures = if (healthy) 1 else failures + 1
            if (failures > config.maxReconnectAttempts) return VoiceReconnectFailedException(failures - 1, lastFailure)
        }
    }

    @Volatile
    private var lastCloseCode = 0

    /** When the current socket reached Connected ([VoiceConnectionConfig.receive]'s clock, ns), or [NOT_CONNECTED]. */
    @Volatile
    private var connectedAt = NOT_CONNECTED

    /** Whether we hold the key of the current voice session (its Session Description came): only then can it resume. */
    @Volatile
    private var sessionKeyed = false

    private fun now(): Long = config.receive.clock.nanoTime()

    private fun stayedHealthy(): Boolean {
        val since = connectedAt
        return since != NOT_CONNECTED && now() - since >= config.healthyAfter.inWholeNanoseconds
    }

    /**
     * After a 4014: Discord closes the voice session of a bot that is moved to another channel, and the main gateway's
     * VOICE_STATE_UPDATE for the move can arrive after that close. Waits up to [VoiceConnectionConfig.moveGrace] for
     * it ([updateVoiceState] or [updateServer]); true if it came, false if the 4014 stands.
     */
    private suspend fun awaitMove(): Boolean {
        if (serverChanged) return true
        if (!config.moveGrace.isPositive()) return false
        setState(VoiceConnectionState.WaitingForServer)
        withTimeoutOrNull(config.moveGrace) {
            while (!serverChanged) serverWake.receive()
        }
        return serverChanged
    }

    /**
     * One socket from open to close. Never throws but for the caller's own cancellation and VM-fatal errors: every
     * other failure (including a [CancellationException] from ktor on a closed session, and an [Error] such as a
     * [StackOverflowError] while handling a message) becomes the [SocketOutcome]'s error, so the loop retries or ends typed.
     */
    private suspend fun runSocket(resume: Boolean): SocketOutcome {
        // A full reconnect brings a new SSRC and key: audio sent meanwhile is dropped (and counted) by the player.
        if (!resume) player.detach()
        val current = info
        val url = "${if (config.secure) "wss" else "ws"}://${current.endpoint}/?v=8"
        val socket = try {
            withTimeout(config.handshakeTimeout) { socketCall("connect") { connector.connect(url) } }
        } catch (e: TimeoutCancellationException) {
            return SocketOutcome(null, VoiceHandshakeTimeoutException("no WebSocket to ${current.endpoint} within ${config.handshakeTimeout}"))
        } catch (e: Throwable) {
            return SocketOutcome(null, socketFailure(e, "opening the voice gateway socket"))
        }
        val s = GatewaySession(socket, seq, counters, config.missedHeartbeatAcks)
        session = s
        if (serverChanged) s.close(CloseCodes.LOCAL_MOVING, "moving to a new voice server")
        val step = Handshake(resume, if (resume) mode else null)
        var timedOut = false
        return try {
            coroutineScope {
                val watchdog = launch {
                    delay(config.handshakeTimeout)
                    if (!step.done) {
                        timedOut = true
                        s.close(CloseCodes.NORMAL, "handshake timeout")
                    }
                }
                try {
                    val close = s.run { message -> handle(message, s, step, current) }
                    if (timedOut) SocketOutcome(null, handshakeTimeout(current)) else SocketOutcome(close, null)
                } finally {
                    watchdog.cancel()
                }
            }
        } catch (e: FatalError) {
            SocketOutcome(null, e.cause, fatal = e.cause)
        } catch (e: Throwable) {
            val error = socketFailure(e, "handling the voice gateway socket")
            log.debug("voice connection attempt failed", error)
            SocketOutcome(null, if (timedOut) handshakeTimeout(current) else error)
        } finally {
            session = null
        }
    }

    private fun handshakeTimeout(current: VoiceSessionInfo) =
        VoiceHandshakeTimeoutException("the voice server at ${current.endpoint} did not complete the handshake within ${config.handshakeTimeout}")

    /**
     * Handles one server message; marks [step] done when it completes the handshake (audio can flow). Messages out of
     * order, or with fields that cannot be used, are a [VoiceServerProtocolException]: Ready before our Identify,
     * Resumed without our Resume, Session Description before Select Protocol or with another mode or a wrong key.
     */
    private suspend fun handle(message: Inbound, s: GatewaySession, step: Handshake, current: VoiceSessionInfo) {
        when (message) {
            is Inbound.Hello -> if (step.resume) {
                s.sendText(GatewayMessages.resume(current.guildId, current.sessionId, current.token, seq.last))
                step.resumed = true
            } else {
                seq.reset()
                sessionKeyed = false // a new session: the old key cannot resume it
                s.sendText(
                    GatewayMessages.identify(current.guildId, current.userId, current.sessionId, current.token, dave.maxProtocolVersion),
                )
                step.identified = true
            }
            is Inbound.Ready -> {
                if (!step.identified) throw VoiceServerProtocolException("Ready", "Ready (op 2) without an Identify on this socket")
                if (step.ready) throw VoiceServerProtocolException("Ready", "a second Ready (op 2) on one socket")
                step.ready = true
                val chosen = EncryptionMode.choose(message.modes) ?: throw FatalError(NoSupportedEncryptionModeException(message.modes))
                val opened = udp.open(message.ip, message.port, message.ssrc, config)
                pendingLink?.close()
                pendingLink = opened
                ssrc = message.ssrc
                s.sendText(GatewayMessages.selectProtocol(opened.externalIp, opened.externalPort, chosen.wireName))
                step.selected = chosen
            }
            is Inbound.SessionDescription -> {
                val selected = step.selected ?: throw VoiceServerProtocolException(
                    "SessionDescription", "Session Description (op 4) before Ready and Select Protocol",
                )
                val chosen = EncryptionMode.fromWireName(message.mode)
                if (chosen != selected) {
                    throw VoiceServerProtocolException(
                        "SessionDescription.mode", "mode \"${message.mode.take(64)}\" is not the selected ${selected.wireName}",
                    )
                }
                if (message.secretKey.size != KEY_BYTES) {
                    throw VoiceServerProtocolException("SessionDescription.secret_key", "a key of ${message.secretKey.size} bytes; ${chosen.wireName} needs $KEY_BYTES")
                }
                val active = pendingLink ?: link
                    ?: throw VoiceServerProtocolException("SessionDescription", "Session Description (op 4) without a UDP path from Ready")
                // One pair for both directions: the JDK's AES-GCM pair shares its 64 KiB GHASH table.
                val (receiveCipher, sendCipher) = TransportCipher.createPair(chosen, message.secretKey)
                receiver.setTransportCipher(receiveCipher)
                mode = chosen
                sessionKeyed = true
                pendingLink?.let { attach(it) }
                pendingLink = null
                player.attach(active.sink, ssrc, sendCipher)
                val closedUnderSends = try {
                    // Some clients say a Speaking is needed before audio is received; one is harmless (docs/protocol.md §2.4).
                    s.sendText(GatewayMessages.speaking(speakingFlags, ssrc))
                    dave.onSessionDescription(message.daveProtocolVersion, sender(s))
                    null
                } catch (e: GatewaySocketClosedException) {
                    // The server closed right after Session Description, and its close beat these sends. The session
                    // has its key, so it counts as connected and resumes: a first connect must not fail for this.
                    e
                }
                connected(current)
                step.done = true
                closedUnderSends?.let { throw it }
            }
            is Inbound.Resumed -> {
                if (!step.resumed) throw VoiceServerProtocolException("Resumed", "Resumed (op 9) without a Resume on this socket")
                connected(current)
                step.done = true
            }
            is Inbound.Speaking, is Inbound.ClientsConnect, is Inbound.ClientDisconnect, is Inbound.Video,
            is Inbound.ClientFlags, is Inbound.ClientPlatform -> applyMemberMessage(message, receiver, members, counters, dave)
            is Inbound.DaveJson -> dave.onJson(message.op, message.data, sender(s))
            is Inbound.Binary -> dave.onBinary(message.op, message.payload, sender(s))
            is Inbound.Ignored -> counters.ignored.incrementAndGet()
            is Inbound.HeartbeatAck, is Inbound.HeartbeatRequest -> Unit // handled by the session
        }
    }

    private fun sender(s: GatewaySession) = object : DaveGatewaySender {
        override suspend fun sendJson(op: Int, d: JsonObject) = s.sendText(GatewayMessages.message(op, d))
        override suspend fun sendBinary(op: Int, payload: ByteArray) = s.sendBinary(GatewayMessages.binary(op, payload))
    }

    private fun connected(current: VoiceSessionInfo) {
        if (connectedAt == NOT_CONNECTED) connectedAt = now() // a key change on a live socket keeps the first time
        setState(VoiceConnectionState.Connected(ssrc, current.endpoint))
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

    companion object {
        /**
         * The most members (op 11 user ids) kept per connection; Discord voice channels hold far fewer (at most a few
         * thousand listeners in a stage). Ids beyond it are dropped and counted in [GatewayCounters.membersDropped].
         */
        const val MAX_MEMBERS = 10_000
        private const val KEY_BYTES = 32
        private const val NOT_CONNECTED = Long.MIN_VALUE
        private val log = LoggerFactory.getLogger(ConnectionDriver::class.java)
    }
}

private const val STATE_BUFFER = 16
