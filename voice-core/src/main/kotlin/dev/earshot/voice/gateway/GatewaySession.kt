package dev.earshot.voice.gateway

import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.CoroutineName
import kotlinx.coroutines.Job
import kotlinx.coroutines.NonCancellable
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.currentCoroutineContext
import kotlinx.coroutines.delay
import kotlinx.coroutines.ensureActive
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext
import kotlinx.coroutines.sync.Mutex
import kotlinx.coroutines.sync.withLock
import org.slf4j.LoggerFactory
import java.util.concurrent.atomic.AtomicLong
import kotlin.time.Duration
import kotlin.time.Duration.Companion.milliseconds

/** The last `seq` seen from the server (docs/protocol.md §2.5); kept across a resume, reset by a new Identify. */
internal class SeqTracker {
    @Volatile
    var last: Int = -1
        private set

    fun observe(seq: Int) {
        if (seq >= 0) last = seq
    }

    fun reset() {
        last = -1
    }
}

/** Counters of the voice gateway, shared by every socket of one connection. */
internal class GatewayCounters {
    val received = AtomicLong()
    val malformed = AtomicLong()
    val ignored = AtomicLong()
    val heartbeatsSent = AtomicLong()
    val heartbeatAcks = AtomicLong()

    /** Op 11 user ids not recorded because the channel already had the maximum number of members. */
    val membersDropped = AtomicLong()
}

/**
 * A send or read failed because the socket closed or dropped under us. ktor reports that with a
 * [CancellationException] (its session's channels are cancelled when the session ends); it is turned into this
 * socket failure as long as our own coroutine is still active, so that it is never taken for the connection's own
 * cancellation (which would end the driver silently).
 */
internal class GatewaySocketClosedException(message: String, cause: Throwable?) : java.io.IOException(message, cause)

/**
 * Runs [block], turning a [CancellationException] that did not come from cancelling the calling coroutine (the socket
 * or ktor's session was cancelled) into a [GatewaySocketClosedException]. A real cancellation of the caller passes.
 */
internal suspend inline fun <T> socketCall(what: String, block: () -> T): T = try {
    block()
} catch (e: CancellationException) {
    currentCoroutineContext().ensureActive() // our own cancellation: rethrows it
    throw GatewaySocketClosedException("$what failed: the socket closed ($e)", e)
}

/**
 * One voice gateway WebSocket from open to close: reads and decodes frames, tracks `seq`, heartbeats on Hello's
 * interval with `{t, seq_ack}` and closes the socket as a zombie after [missedAckLimit] heartbeats in a row without an
 * ACK and without any frame read off the wire. Everything else goes to the handler given to [run]. Malformed frames
 * are counted and skipped; a [GatewayProtocolException] (a field out of range, such as Hello's interval) ends the
 * session. Sends on a socket that closed under us fail with [GatewaySocketClosedException], never with a
 * [CancellationException].
 */
internal class GatewaySession(
    private val socket: GatewaySocket,
    private val seq: SeqTracker,
    private val counters: GatewayCounters,
    private val missedAckLimit: Int = 3,
    private val nonce: () -> Long = System::currentTimeMillis,
) {
    private val sendLock = Mutex()
    @Volatile
    private var unacked = 0
    @Volatile
    private var lastNonce = -1L
    @Volatile
    private var heartbeatSentAt = 0L

    /** The round trip of the last acknowledged heartbeat, or null before the first ACK. */
    @Volatile
    var ping: Duration? = null
        private set

    suspend fun sendText(text: String) = sendLock.withLock { socketCall("send") { socket.sendText(text) } }

    suspend fun sendBinary(bytes: ByteArray) = sendLock.withLock { socketCall("send") { socket.sendBinary(bytes) } }

    suspend fun close(code: Int, reason: String) = socket.close(code, reason)

    /** [close], then waits until the server has answered it (or the socket's short grace is over): see [GatewaySocket.awaitEnd]. */
    suspend fun closeAndAwait(code: Int, reason: String) {
        socket.close(code, reason)
        socket.awaitEnd()
    }

    /**
     * Runs until the socket closes and returns how it closed. Hello starts the heartbeat before [handler] sees it;
     * heartbeat ACKs and requests are handled here. [handler] exceptions end the session (the caller's bug or its
     * decision to stop), cancellation of the caller closes the socket. A send or read that fails because the socket
     * closed under us (ktor cancelled its channel) while the caller is active ends the session like the close itself:
     * the socket's close is returned.
     */
    suspend fun run(handler: suspend (Inbound) -> Unit): GatewayClose = coroutineScope {
        val heartbeat = arrayOfNulls<Job>(1)
        try {
            socketCall("read") { readAll(handler, heartbeat) }
            socket.closeInfo()
        } catch (e: GatewaySocketClosedException) {
            // The socket closed under a send (a server's close can overtake our answer to its last message): the
            // session ends with the socket's close, as if reading had reached it, so its code decides what follows.
            socket.closeInfo()
        } catch (e: Throwable) {
            // Cancelled, or the handler gave up on this socket: never leave it open behind us.
            withContext(NonCancellable) { socket.close(CloseCodes.NORMAL, "closing") }
            throw e
        } finally {
            heartbeat[0]?.cancel()
        }
    }

    /** Reads until [GatewaySocket.incoming] closes; [heartbeat] holds the heartbeat job started by the last Hello. */
    private suspend fun kotlinx.coroutines.CoroutineScope.readAll(handler: suspend (Inbound) -> Unit, heartbeat: Array<Job?>) {
        for (frame in socket.incoming) {
            val message = try {
                when (frame) {
                    is GatewayFrame.Text -> GatewayMessages.decodeText(frame.text)
                    is GatewayFrame.Binary -> GatewayMessages.decodeBinary(frame.bytes)
                }
            } catch (e: MalformedMessage) {
                counters.malformed.incrementAndGet()
                log.debug("voice gateway: skipped a malformed message: {}", e.message)
                continue
            }
            counters.received.incrementAndGet()
            seq.observe(message.seq)
            when (message) {
                is Inbound.Hello -> {
                    heartbeat[0]?.cancel()
                    val interval = heartbeatInterval(message.heartbeatIntervalMs)
                    heartbeat[0] = launch(CoroutineName("earshot-voice-heartbeat")) { heartbeatLoop(interval) }
                    handler(message)
                }
                is Inbound.HeartbeatAck -> onAck(message)
                is Inbound.HeartbeatRequest -> sendHeartbeat()
                else -> handler(message)
            }
        }
    }

    private suspend fun heartbeatLoop(interval: Duration) {
        var readBefore = socket.framesRead
        while (true) {
            delay(interval)
            // Any frame read off the wire since the last heartbeat proves the server alive, even when its ACK still
            // waits in the inbound queue behind a burst of other messages (a busy channel must not look like a zombie).
            val read = socket.framesRead
            if (read != readBefore) unacked = 0
            readBefore = read
            if (unacked >= missedAckLimit) {
                log.info("voice gateway: {} heartbeats unacknowledged and nothing received; reconnecting", unacked)
                socket.close(CloseCodes.LOCAL_HEARTBEAT_TIMEOUT, "heartbeat ACK timeout")
                return
            }
            sendHeartbeat()
        }
    }

    private suspend fun sendHeartbeat() {
        val t = nonce()
        lastNonce = t
        heartbeatSentAt = System.nanoTime()
        unacked++
        try {
            sendText(GatewayMessages.heartbeat(t, seq.last))
            counters.heartbeatsSent.incrementAndGet()
        } catch (e: Exception) {
            if (e is CancellationException) throw e
            log.debug("voice gateway: heartbeat not sent: {}", e.toString()) // the read loop sees the close
        }
    }

    /**
     * Hello's interval as a [Duration]; anything outside [MIN_HEARTBEAT_MS]..[MAX_HEARTBEAT_MS] (NaN, Infinity, 1e300,
     * zero) is a protocol violation: it must never mean "no heartbeat" or a busy loop of heartbeats.
     */
    private fun heartbeatInterval(ms: Double): Duration {
        if (!(ms >= MIN_HEARTBEAT_MS && ms <= MAX_HEARTBEAT_MS)) {
            throw GatewayProtocolException("Hello.heartbeat_interval", "heartbeat interval of $ms ms is outside $MIN_HEARTBEAT_MS ms to 1 hour")
        }
        return ms.milliseconds
    }

    private fun onAck(ack: Inbound.HeartbeatAck) {
        counters.heartbeatAcks.incrementAndGet()
        // An ACK with a stale nonce still proves the server is alive.
        unacked = 0
        if (ack.nonce == lastNonce) ping = ((System.nanoTime() - heartbeatSentAt) / 1_000_000).milliseconds
    }

    private companion object {
        private const val MIN_HEARTBEAT_MS = 1.0
        private const val MAX_HEARTBEAT_MS = 3_600_000.0
        private val log = LoggerFactory.getLogger(GatewaySession::class.java)
    }
}
