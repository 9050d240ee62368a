package dev.earshot.voice.gateway

import io.ktor.client.HttpClient
import io.ktor.client.engine.cio.CIO
import io.ktor.client.plugins.HttpTimeoutConfig
import io.ktor.client.plugins.websocket.WebSockets
import io.ktor.client.plugins.websocket.webSocketSession
import io.ktor.websocket.CloseReason
import io.ktor.websocket.DefaultWebSocketSession
import io.ktor.websocket.Frame
import io.ktor.websocket.close
import io.ktor.websocket.readBytes
import io.ktor.websocket.readText
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.channels.ReceiveChannel
import kotlinx.coroutines.cancel
import kotlinx.coroutines.launch
import javax.net.ssl.X509TrustManager

/** One frame from the voice server. */
internal sealed interface GatewayFrame {
    class Text(val text: String) : GatewayFrame
    class Binary(val bytes: ByteArray) : GatewayFrame
}

/** How a socket ended: the server's close code and reason, or 1006 when the connection just dropped. */
internal data class GatewayClose(val code: Int, val reason: String)

/**
 * One WebSocket to a voice server, as the gateway session needs it; the seam that lets the whole connection run
 * against an in-memory fake in virtual time.
 */
internal interface GatewaySocket {
    /** Frames from the server; closed when the socket closes. */
    val incoming: ReceiveChannel<GatewayFrame>

    /** Frames read off the wire so far, counted when read, before they wait in [incoming]: proof the server is alive. */
    val framesRead: Long

    /** Sends a text frame; throws if the socket is closed (ktor: possibly a [kotlinx.coroutines.CancellationException]). */
    suspend fun sendText(text: String)

    /** Sends a binary frame; throws if the socket is closed. */
    suspend fun sendBinary(bytes: ByteArray)

    /** Closes the socket with [code]; does nothing if already closed. */
    suspend fun close(code: Int, reason: String)

    /** After [incoming] has closed: how the socket ended. */
    suspend fun closeInfo(): GatewayClose
}

/** Opens voice gateway sockets. */
internal fun interface GatewayConnector {
    /** Opens a WebSocket to [url]; throws on failure. */
    suspend fun connect(url: String): GatewaySocket
}

/** The largest WebSocket frame the production connector accepts from a voice server, in bytes. */
internal const val MAX_WIRE_FRAME_BYTES: Long = 4L shl 20

/** The production connector: ktor's CIO client with WebSockets, optionally trusting a given certificate. */
internal class KtorGatewayConnector(trustManager: X509TrustManager?, private val scope: CoroutineScope) : GatewayConnector, AutoCloseable {
    private val client = HttpClient(CIO) {
        install(WebSockets) {
            // ktor buffers a whole frame before handing it over: without a limit a hostile server could make it
            // buffer gigabytes. 4 MiB holds the decoder's 1 Mi-character text limit in UTF-8 and its 1 MiB binary
            // limit; a larger frame closes the socket (1009), which the driver treats as a drop and retries.
            maxFrameSize = MAX_WIRE_FRAME_BYTES
        }
        engine {
            // The driver bounds the connect (handshakeTimeout). ktor's own connect timeout runs the TCP connect in a
            // nested scope, which throws away a socket that connected just as the attempt was cancelled: the socket
            // then stays open with nobody to close it. Without it the connect returns or closes the socket itself.
            endpoint.connectTimeout = HttpTimeoutConfig.INFINITE_TIMEOUT_MS
            if (trustManager != null) https { this.trustManager = trustManager }
        }
    }

    override suspend fun connect(url: String): GatewaySocket = KtorGatewaySocket(client.webSocketSession(url), scope)

    override fun close() {
        client.close()
        // close() lets requests in flight finish: a WebSocket upgrade still waiting for its answer (a connect that
        // was cancelled mid-handshake) would keep its TCP connection until the server answered. Cancel them too.
        client.cancel()
    }
}

/**
 * The frames read off one socket, waiting for the gateway session: a bounded queue with backpressure. When it is full
 * the reader stops reading, so a flooding server is held back by TCP flow control instead of filling memory.
 *
 * Why backpressure and not dropping: the voice gateway is an ordered control stream. Handshake and DAVE messages
 * must never be lost, and even the bulk ones carry state (op 11 joins and op 13 leaves, op 5 SSRC owners) whose loss
 * or reordering would silently corrupt the member list or attribute audio to nobody. Waiting costs nothing but
 * latency, and liveness does not suffer from it: [framesRead] counts frames as they are read, so the heartbeat sees
 * a busy server as alive even while its ACK still waits behind the queue.
 */
internal class InboundFrames(capacity: Int = CAPACITY) {
    private val queue = Channel<GatewayFrame>(capacity)
    private val read = java.util.concurrent.atomic.AtomicLong()
    val incoming: ReceiveChannel<GatewayFrame> get() = queue
    val framesRead: Long get() = read.get()

    /** Hands over one frame just read; suspends while the queue is full. */
    suspend fun put(frame: GatewayFrame) {
        read.incrementAndGet()
        queue.send(frame)
    }

    fun close() {
        queue.close()
    }

    companion object {
        /** Frames queued per socket before the reader waits; a few seconds of a busy channel's traffic. */
        const val CAPACITY = 256
    }
}

private class KtorGatewaySocket(private val session: DefaultWebSocketSession, scope: CoroutineScope) : GatewaySocket {
    private val frames = InboundFrames()
    override val incoming: ReceiveChannel<GatewayFrame> get() = frames.incoming
    override val framesRead: Long get() = frames.framesRead
    @Volatile
    private var localClose: GatewayClose? = null

    init {
        // Copies ktor's frames into ours so that reading and closing follow one simple contract.
        scope.launch {
            try {
                for (frame in session.incoming) {
                    when (frame) {
                        is Frame.Text -> frames.put(GatewayFrame.Text(frame.readText()))
                        is Frame.Binary -> frames.put(GatewayFrame.Binary(frame.readBytes()))
                        else -> Unit // ping/pong/close are handled by ktor
                    }
                }
            } catch (e: Throwable) {
                // An abrupt end surfaces through closeInfo as 1006; only VM-fatal errors go further.
                if (e is VirtualMachineError && e !is StackOverflowError) throw e
            } finally {
                frames.close()
            }
        }
    }

    // ktor throws a CancellationException when sending on a session that has ended; GatewaySession turns it into a
    // socket failure (GatewaySocketClosedException) as long as its own coroutine is active.
    override suspend fun sendText(text: String) = session.send(Frame.Text(text))

    override suspend fun sendBinary(bytes: ByteArray) = session.send(Frame.Binary(true, bytes))

    override suspend fun close(code: Int, reason: String) {
        localClose = GatewayClose(code, reason)
        try {
            session.close(CloseReason(code.toShort(), reason))
        } catch (_: Exception) {
            // Already closed.
        }
    }

    override suspend fun closeInfo(): GatewayClose {
        localClose?.let { return it }
        val reason = try {
            session.closeReason.await()
        } catch (_: Exception) {
            null
        }
        return if (reason == null) GatewayClose(CloseCodes.ABNORMAL, "") else GatewayClose(reason.code.toInt(), reason.message)
    }
}
