package dev.earshot.voice.gateway

import io.ktor.client.HttpClient
import io.ktor.client.engine.cio.CIO
import io.ktor.client.plugins.HttpTimeoutConfig
import io.ktor.client.plugins.websocket.WebSockets
import io.ktor.client.plugins.websocket.DefaultClientWebSocketSession
import io.ktor.client.plugins.websocket.webSocket
import io.ktor.websocket.CloseReason
import io.ktor.websocket.DefaultWebSocketSession
import io.ktor.websocket.Frame
import io.ktor.websocket.close
import io.ktor.websocket.readBytes
import io.ktor.websocket.readText
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.CoroutineName
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.Job
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.channels.ReceiveChannel
import kotlinx.coroutines.launch
import kotlinx.coroutines.withTimeoutOrNull
import javax.net.ssl.X509TrustManager
import kotlin.time.Duration.Companion.seconds

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

    /**
     * Suspends until the socket has ended after [close]: the server answered the close frame, or the connection
     * dropped; a server that does neither is waited for at most a short grace (2 s for ktor's sockets).
     */
    suspend fun awaitEnd() {}
}

/** Opens voice gateway sockets. */
internal fun interface GatewayConnector {
    /** Opens a WebSocket to [url]; throws on failure. */
    suspend fun connect(url: String): GatewaySocket
}

/** The largest WebSocket frame the production connector accepts from a voice server, in bytes. */
internal const val MAX_WIRE_FRAME_BYTES: Long = 4L shl 20

/**
 * The production connector: ktor's CIO client with WebSockets, optionally trusting a given certificate.
 *
 * Every connection of the process shares one client per trust manager ([SharedGatewayClients]): a CIO client keeps a
 * selector loop on a `Dispatchers.IO` thread while any of its sockets is open, so a client per connection would hold
 * a thread per connection and stall past IO's 64 threads. Each socket's request runs in a coroutine of the
 * connection's [scope], not in the shared client's: cancelling the attempt or the connection cancels the request, and
 * ktor then closes that socket.
 */
internal class KtorGatewayConnector(trustManager: X509TrustManager?, private val scope: CoroutineScope) : GatewayConnector, AutoCloseable {
    private val lease = SharedGatewayClients.acquire(trustManager)
    private val requests = java.util.concurrent.atomic.AtomicInteger()
    private val closed = java.util.concurrent.atomic.AtomicBoolean()

    override suspend fun connect(url: String): GatewaySocket {
        val opened = CompletableDeferred<DefaultClientWebSocketSession>()
        // Completed by the socket's reader when the server's side has ended (its close frame or the connection's end).
        val inboundEnded = CompletableDeferred<Unit>()
        requests.incrementAndGet()
        // On IO, as ktor's own requests run: its WebSocket plugin blocks its thread for a nonce that a coroutine on
        // Dispatchers.Default makes, so several connects at once on Default's few threads would starve that coroutine.
        val request = scope.launch(Dispatchers.IO + CoroutineName("earshot-gateway-socket")) {
            try {
                lease.client.webSocket(url) {
                    opened.complete(this)
                    // The request (and its socket) lives until the session's outgoing side closes.
                    val ended = CompletableDeferred<Unit>()
                    outgoing.invokeOnClose { ended.complete(Unit) }
                    ended.await()
                    // Our close frame may still be on its way: outgoing closes as soon as ktor has queued it, and
                    // ending the request then cuts the TCP connection under it (11 of 1,000 disconnects with no wait;
                    // still 1 of 1,000 under load after waiting for ktor's writer, since a connection cut that early
                    // can be reset before the server has read the frame). The server then saw no close frame and kept
                    // the session resumable. As RFC 6455 asks of a client, the request waits for the server's side to
                    // end first, bounded (the server answers only what it has read, so no flush is needed).
                    withTimeoutOrNull(CLOSE_GRACE) { inboundEnded.await() }
                }
            } catch (e: Throwable) {
                opened.completeExceptionally(e)
                if (e is VirtualMachineError && e !is StackOverflowError) throw e
            }
        }
        request.invokeOnCompletion {
            requests.decrementAndGet()
            releaseIfDone()
        }
        val session = try {
            opened.await()
        } catch (e: Throwable) {
            request.cancel()
            throw e
        }
        return KtorGatewaySocket(session, scope, request, inboundEnded)
    }

    /** Gives the client back once closed and every request has ended (a cancelled one is still closing its socket). */
    override fun close() {
        closed.set(true)
        releaseIfDone()
    }

    private fun releaseIfDone() {
        if (closed.get() && requests.get() == 0) lease.release()
    }
}

/**
 * How long a closing socket waits for the server's side of the close (its close frame, or the end of the connection)
 * before its connection is cut: a server that is dead or does not answer holds a disconnect up this long at most.
 */
private val CLOSE_GRACE = 2.seconds

/**
 * The process's shared ktor clients for voice gateway sockets, one per trust manager (null: the JVM's default), each
 * counted by the connectors using it and closed 2 s after the last one is released, so an idle process keeps no
 * thread.
 */
internal object SharedGatewayClients {
    /** How long an unused client stays open (taken again by the next connection, or closed). */
    private val CLOSE_DELAY = 2.seconds

    /** Open gateway sockets one client allows, in all and per voice server; far above what one process holds. */
    private const val MAX_GATEWAY_SOCKETS = 100_000

    private class Entry(val client: HttpClient) {
        var users = 0
    }

    private val entries = HashMap<X509TrustManager?, Entry>()

    /** One connector's hold on a shared client. */
    class Lease internal constructor(private val key: X509TrustManager?, val client: HttpClient) {
        private val released = java.util.concurrent.atomic.AtomicBoolean()

        /** Gives the client back; the last release closes it. Idempotent. */
        fun release() {
            if (released.compareAndSet(false, true)) SharedGatewayClients.release(key)
        }
    }

    /** Clients open now (for tests). */
    val openClients: Int get() = synchronized(entries) { entries.size }

    fun acquire(trustManager: X509TrustManager?): Lease = synchronized(entries) {
        val e = entries.getOrPut(trustManager) { Entry(newClient(trustManager)) }
        e.users++
        Lease(trustManager, e.client)
    }

    private fun release(key: X509TrustManager?) {
        val idle = synchronized(entries) {
            val e = entries[key] ?: return
            if (--e.users > 0) return
            e
        }
        // Closed a little later, unless taken again meanwhile: a request that has just ended may still be closing its
        // socket on the client's selector, and closing the client now would stop that selector with the socket open.
        @OptIn(kotlinx.coroutines.DelicateCoroutinesApi::class)
        kotlinx.coroutines.GlobalScope.launch(Dispatchers.IO) {
            kotlinx.coroutines.delay(CLOSE_DELAY)
            val closing = synchronized(entries) {
                if (idle.users > 0 || entries[key] !== idle) return@launch
                entries.remove(key)
                idle.client
            }
            closing.close()
        }
    }

    private fun newClient(trustManager: X509TrustManager?) = HttpClient(CIO) {
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
            // Every connection of the process goes through this client, and many guilds share one voice server: ktor's
            // defaults (100 per host, 1000 in all) would make the 101st connection to a server wait for a free slot.
            maxConnectionsCount = MAX_GATEWAY_SOCKETS
            endpoint.maxConnectionsPerRoute = MAX_GATEWAY_SOCKETS
            if (trustManager != null) https { this.trustManager = trustManager }
        }
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

private class KtorGatewaySocket(
    private val session: DefaultWebSocketSession,
    private val scope: CoroutineScope,
    private val request: Job,
    private val inboundEnded: CompletableDeferred<Unit>,
) : GatewaySocket {
    private val frames = InboundFrames()
    override val incoming: ReceiveChannel<GatewayFrame> get() = frames.incoming
    override val framesRead: Long get() = frames.framesRead
    @Volatile
    private var localClose: GatewayClose? = null

    // Copies ktor's frames into ours so that reading and closing follow one simple contract.
    private val reader = scope.launch {
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
            inboundEnded.complete(Unit)
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
        // The server normally answers our close frame and the socket ends; one that does not (dead or hostile) gets
        // CLOSE_GRACE, then the request and its TCP connection are cancelled.
        scope.launch {
            withTimeoutOrNull(CLOSE_GRACE) { reader.join() }
            request.cancel()
        }
    }

    override suspend fun awaitEnd() {
        withTimeoutOrNull(CLOSE_GRACE) { reader.join() }
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
