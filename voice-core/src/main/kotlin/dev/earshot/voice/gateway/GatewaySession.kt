package dev.earshot.voice.gateway

import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.CoroutineName
import kotlinx.coroutines.Job
import kotlinx.coroutines.NonCancellable
import kotlinx.coroutines.withContext
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.delay
import kotlinx.coroutines.launch
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
}

/**
 * One voice gateway WebSocket from open to close: reads and decodes frames, tracks `seq`, heartbeats on Hello's
 * interval with `{t, seq_ack}` and closes the socket as a zombie after [missedAckLimit] unacknowledged heartbeats.
 * Everything else goes to the handler given to [run]. Malformed frames are counted and skipped.
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

    suspend fun sendText(text: String) = sendLock.withLock { socket.sendText(text) }

    suspend fun sendBinary(bytes: ByteArray) = sendLock.withLock { socket.sendBinary(bytes) }

    suspend fun close(code: Int, reason: String) = socket.close(code, reason)

    /**
     * Runs until the socket closes and returns how it closed. Hello starts the heartbeat before [handler] sees it;
     * heartbeat ACKs and requests are handled here. [handler] exceptions end the session (the caller's bug or its
     * decision to stop), cancellation of the caller closes the socket.
     */
    suspend fun run(handler: suspend (Inbound) -> Unit): GatewayClose = coroutineScope {
        var heartbeat: Job? = null
        try {
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
                        heartbeat?.cancel()
                        val interval = message.heartbeatIntervalMs.milliseconds
                        heartbeat = launch(CoroutineName("earshot-voice-heartbeat")) { heartbeatLoop(interval) }
                        handler(message)
                    }
                    is Inbound.HeartbeatAck -> onAck(message)
                    is Inbound.HeartbeatRequest -> sendHeartbeat()
                    else -> handler(message)
                }
            }
            socket.closeInfo()
        } catch (e: Throwable) {
            // Cancelled, or the handler gave up on this socket: never leave it open behind us.
            withContext(NonCancellable) { socket.close(CloseCodes.NORMAL, "closing") }
            throw e
        } finally {
            heartbeat?.cancel()
        }
    }

    private suspend fun heartbeatLoop(interval: Duration) {
        while (true) {
            delay(interval)
            if (unacked >= missedAckLimit) {
                log.info("voice gateway: {} heartbeats unacknowledged; reconnecting", unacked)
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

    private fun onAck(ack: Inbound.HeartbeatAck) {
        counters.heartbeatAcks.incrementAndGet()
        // An ACK with a stale nonce still proves the server is alive.
        unacked = 0
        if (ack.nonce == lastNonce) ping = ((System.nanoTime() - heartbeatSentAt) / 1_000_000).milliseconds
    }

    private companion object {
        private val log = LoggerFactory.getLogger(GatewaySession::class.java)
    }
}
