package dev.earshot.voice.gateway

import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.channels.ReceiveChannel
import kotlinx.serialization.json.Json
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.int
import kotlinx.serialization.json.jsonObject
import kotlinx.serialization.json.jsonPrimitive

/**
 * An in-memory voice gateway socket: the test plays the server through [serverSends] and reads [sent]. Like ktor's
 * session, sending on a closed socket throws a [CancellationException] (ktor cancels its outgoing channel when the
 * session ends), which the connection must tell apart from its own cancellation. Frames count as read off the wire
 * ([framesRead]) as soon as the server sends them: the fake's reader is never behind.
 */
internal class FakeGatewaySocket : GatewaySocket {
    private val toClient = Channel<GatewayFrame>(Channel.UNLIMITED)
    override val incoming: ReceiveChannel<GatewayFrame> get() = toClient
    private val read = java.util.concurrent.atomic.AtomicLong()
    override val framesRead: Long get() = read.get()

    /** Text frames the client sent, parsed. */
    val sent = Channel<JsonObject>(Channel.UNLIMITED)
    val sentBinary = Channel<ByteArray>(Channel.UNLIMITED)

    @Volatile
    var clientClose: GatewayClose? = null
    @Volatile
    private var serverClose: GatewayClose? = null
    val isClosed: Boolean get() = clientClose != null || serverClose != null

    fun serverSends(text: String) {
        if (toClient.trySend(GatewayFrame.Text(text)).isSuccess) read.incrementAndGet()
    }

    fun serverSendsBinary(bytes: ByteArray) {
        if (toClient.trySend(GatewayFrame.Binary(bytes)).isSuccess) read.incrementAndGet()
    }

    /** The server closes with [code]; 1006 models a dropped TCP connection (no close frame). */
    fun serverCloses(code: Int, reason: String = "") {
        if (isClosed) return
        serverClose = GatewayClose(code, reason)
        toClient.close()
    }

    override suspend fun sendText(text: String) {
        if (isClosed) throw SendOnClosedSession()
        sent.send(Json.parseToJsonElement(text).jsonObject)
    }

    override suspend fun sendBinary(bytes: ByteArray) {
        if (isClosed) throw SendOnClosedSession()
        sentBinary.send(bytes)
    }

    /** What ktor throws when sending on a session whose outgoing channel was cancelled. */
    class SendOnClosedSession : CancellationException("ArrayChannel was cancelled")

    override suspend fun close(code: Int, reason: String) {
        if (isClosed) return
        clientClose = GatewayClose(code, reason)
        toClient.close()
    }

    override suspend fun closeInfo(): GatewayClose = serverClose ?: clientClose ?: GatewayClose(1006, "")

    /** The next message the client sent, checking its opcode. */
    suspend fun expect(op: Int): JsonObject {
        val m = sent.receive()
        check(m["op"]!!.jsonPrimitive.int == op) { "expected op $op, got $m" }
        return m["d"] as? JsonObject ?: JsonObject(emptyMap())
    }
}
