package dev.earshot.voice.testkit

import dev.earshot.voice.crypto.EncryptionMode
import dev.earshot.voice.crypto.TransportCipher
import dev.earshot.voice.rtp.RtpPayload
import dev.earshot.voice.rtp.RtpView
import io.ktor.client.HttpClient
import io.ktor.client.engine.cio.CIO
import io.ktor.client.plugins.websocket.DefaultClientWebSocketSession
import io.ktor.client.plugins.websocket.WebSockets
import io.ktor.client.plugins.websocket.webSocket
import io.ktor.websocket.CloseReason
import io.ktor.websocket.Frame
import io.ktor.websocket.close
import io.ktor.websocket.readText
import java.net.DatagramPacket
import java.net.DatagramSocket
import java.net.InetSocketAddress
import java.net.SocketTimeoutException
import kotlin.time.Duration
import kotlin.time.Duration.Companion.seconds
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.cancel
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext
import kotlinx.coroutines.withTimeout
import kotlinx.coroutines.withTimeoutOrNull
import kotlinx.serialization.json.Json
import kotlinx.serialization.json.JsonArray
import kotlinx.serialization.json.JsonElement
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.JsonPrimitive
import kotlinx.serialization.json.buildJsonObject
import kotlinx.serialization.json.int
import kotlinx.serialization.json.intOrNull
import kotlinx.serialization.json.jsonArray
import kotlinx.serialization.json.jsonObject
import kotlinx.serialization.json.jsonPrimitive
import kotlinx.serialization.json.long
import kotlinx.serialization.json.put

/** What a finished handshake gave the raw client. */
class Handshake(val ssrc: Long, val udpPort: Int, val mode: EncryptionMode, val key: ByteArray, val ready: JsonObject)

/** A decrypted datagram the raw client received. */
class ReceivedRtp(val view: RtpView, val packet: ByteArray, val opus: ByteArray, val extensionElements: ByteArray)

/**
 * A deliberately tiny voice client for driving the server from tests: a ktor WebSocket for the gateway and a
 * DatagramSocket for UDP. Every message the server sends is queued in [incoming]; helpers read them in order.
 */
class RawVoiceClient private constructor(
    private val http: HttpClient,
    val ws: DefaultClientWebSocketSession,
) : AutoCloseable {
    private val scope = CoroutineScope(SupervisorJob() + Dispatchers.IO)
    val incoming = Channel<JsonObject>(Channel.UNLIMITED)
    /** Binary (DAVE) frames from the server, as received: `uint16 seq` + opcode + payload. */
    val binaries = Channel<ByteArray>(Channel.UNLIMITED)
    val udp = DatagramSocket(InetSocketAddress("127.0.0.1", 0)).apply { soTimeout = 2000 }
    var lastSeq = -1
        private set
    /** Every message read through [next], in order. */
    val seen = ArrayList<JsonObject>()

    init {
        scope.launch {
            try {
                for (frame in ws.incoming) {
                    if (frame is Frame.Text) incoming.send(Json.parseToJsonElement(frame.readText()).jsonObject)
                    else if (frame is Frame.Binary) binaries.send(frame.data.copyOf())
                }
            } catch (_: Exception) {
            } finally {
                binaries.close()
                incoming.close()
            }
        }
    }

    suspend fun sendRaw(text: String) = ws.send(Frame.Text(text))

    suspend fun send(op: Int, d: JsonElement) = sendRaw(buildJsonObject { put("op", op); put("d", d) }.toString())

    /** The next server message; tracks `seq`. The wait is generous: this shared machine stalls for seconds at times. */
    suspend fun next(timeout: Duration = 10.seconds): JsonObject {
        val m = withTimeout(timeout) { incoming.receive() }
        (m["seq"] as? JsonPrimitive)?.intOrNull?.let { lastSeq = it }
        seen += m
        return m
    }

    /** Reads until a message with [op] arrives and returns it. */
    suspend fun expect(op: Int, timeout: Duration = 10.seconds): JsonObject = withTimeout(timeout) {
        var m: JsonObject
        do m = next(timeout) while (m.op != op)
        m
    }

    /** Waits for the server to close: its close reason, or null when the connection ended without a close frame. */
    suspend fun awaitClose(timeout: Duration = 3.seconds): CloseReason? = withTimeout(timeout) {
        // Drain what is left so the reader sees the close.
        do { val more = incoming.receiveCatching().isSuccess } while (more)
        runCatching { ws.closeReason.await() }.getOrNull()
    }

    suspend fun identify(grant: VoiceGrant, maxDave: Int? = 1) = send(0, buildJsonObject {
        put("server_id", grant.guildId)
        put("user_id", grant.userId)
        put("session_id", grant.sessionId)
        put("token", grant.token)
        if (maxDave != null) put("max_dave_protocol_version", maxDave)
    })

    suspend fun heartbeat(t: Long = System.currentTimeMillis()) = send(3, buildJsonObject { put("t", t); put("seq_ack", lastSeq) })

    /** IP discovery from [udp]; returns the address the server saw. */
    fun discover(ssrc: Long, port: Int): InetSocketAddress {
        val req = ByteArray(74)
        req[1] = 1
        req[3] = 70
        for (i in 0 until 4) req[4 + i] = (ssrc ushr (24 - 8 * i)).toByte()
        udp.send(DatagramPacket(req, req.size, InetSocketAddress("127.0.0.1", port)))
        val reply = receiveDatagram() ?: error("no discovery reply")
        check(reply.size == 74 && reply[1].toInt() == 2) { "not a discovery reply" }
        val end = (8 until 72).first { reply[it].toInt() == 0 }
        val ip = String(reply, 8, end - 8, Charsets.US_ASCII)
        val p = ((reply[72].toInt() and 0xFF) shl 8) or (reply[73].toInt() and 0xFF)
        return InetSocketAddress(ip, p)
    }

    /** Identify, Ready, IP discovery, Select Protocol, Session Description. */
    suspend fun handshake(grant: VoiceGrant, mode: EncryptionMode = EncryptionMode.AEAD_AES256_GCM_RTPSIZE): Handshake {
        expect(8)
        identify(grant)
        return select(expect(2).d, mode)
    }

    /** IP discovery, Select Protocol and Session Description after [ready] (op 2's `d`). */
    suspend fun select(ready: JsonObject, mode: EncryptionMode = EncryptionMode.AEAD_AES256_GCM_RTPSIZE): Handshake {
        val ssrc = ready["ssrc"]!!.jsonPrimitive.long
        val port = ready["port"]!!.jsonPrimitive.int
        val seen = withContext(Dispatchers.IO) { discover(ssrc, port) }
        send(1, buildJsonObject {
            put("protocol", "udp")
            put("data", buildJsonObject {
                put("address", seen.hostString)
                put("port", seen.port)
                put("mode", mode.wireName)
            })
        })
        val description = expect(4).d
        val key = description["secret_key"]!!.jsonArray.map { it.jsonPrimitive.int.toByte() }.toByteArray()
        return Handshake(ssrc, port, EncryptionMode.fromWireName(description["mode"]!!.jsonPrimitive.content)!!, key, ready)
    }

    fun receiveDatagram(timeoutMs: Int = 2000): ByteArray? {
        udp.soTimeout = timeoutMs
        val buf = ByteArray(2048)
        val p = DatagramPacket(buf, buf.size)
        return try {
            udp.receive(p)
            buf.copyOf(p.length)
        } catch (_: SocketTimeoutException) {
            null
        }
    }

    /** Receives datagrams until [count] RTP packets decrypted with [cipher], or [timeoutMs] passes; failures are counted. */
    fun receiveRtp(cipher: TransportCipher, count: Int, timeoutMs: Long = 3000, failures: IntArray? = null): List<ReceivedRtp> {
        val out = ArrayList<ReceivedRtp>()
        val deadline = System.currentTimeMillis() + timeoutMs
        while (out.size < count) {
            val left = deadline - System.currentTimeMillis()
            if (left <= 0) break
            val d = receiveDatagram(left.toInt().coerceAtLeast(1)) ?: break
            decrypt(cipher, d)?.let { out += it } ?: failures?.let { it[0]++ }
        }
        return out
    }

    fun decrypt(cipher: TransportCipher, datagram: ByteArray): ReceivedRtp? {
        val view = RtpView()
        if (view.wrap(datagram, 0, datagram.size) != null) return null
        val aad = view.headerLength
        val n = cipher.decrypt(datagram, 0, datagram.size, aad)
        if (n < 0) return null
        val loc = RtpPayload.locate(datagram, aad, n, view.padding, view.extensionLengthWords)
        val off = RtpPayload.payloadOffset(loc)
        val opus = datagram.copyOfRange(off, off + RtpPayload.payloadLength(loc))
        val ext = datagram.copyOfRange(aad, aad + view.extensionLengthWords * 4)
        return ReceivedRtp(view, datagram, opus, ext)
    }

    fun sendUdp(bytes: ByteArray, port: Int) = udp.send(DatagramPacket(bytes, bytes.size, InetSocketAddress("127.0.0.1", port)))

    suspend fun closeWith(code: Short, reason: String = "") {
        ws.close(CloseReason(code, reason))
    }

    override fun close() {
        runCatching { udp.close() }
        scope.cancel()
        http.close()
    }

    companion object {
        suspend fun connect(server: VoiceTestServer, endpoint: String = server.endpoint, query: String = "?v=8"): RawVoiceClient {
            val tls = server.tls
            val http = HttpClient(CIO) {
                install(WebSockets)
                if (tls != null) engine { https { trustManager = tls.trustManager } }
            }
            val scheme = if (tls != null) "wss" else "ws"
            // Not ktor's webSocketSession(): it ends the request as soon as the session's outgoing side closes, which
            // can close the socket before our close frame is written (the server then sees no close frame, about
            // once in a hundred closes). Here the request stays until flush() says the writer is done.
            val opened = CompletableDeferred<DefaultClientWebSocketSession>()
            http.launch(Dispatchers.IO) {
                try {
                    http.webSocket("$scheme://$endpoint/$query") {
                        opened.complete(this)
                        val ended = CompletableDeferred<Unit>()
                        outgoing.invokeOnClose { ended.complete(Unit) }
                        ended.await()
                        withTimeoutOrNull(2.seconds) { runCatching { flush() } }
                    }
                } catch (e: Throwable) {
                    opened.completeExceptionally(e)
                }
            }
            return RawVoiceClient(http, opened.await())
        }
    }
}

val JsonObject.op: Int get() = this["op"]!!.jsonPrimitive.int
val JsonObject.d: JsonObject get() = this["d"]!!.jsonObject
val JsonObject.seq: Int? get() = (this["seq"] as? JsonPrimitive)?.intOrNull
fun JsonObject.userIds(): List<String> = d["user_ids"]!!.jsonArray.map { it.jsonPrimitive.content }
fun jsonArrayOf(vararg s: String) = JsonArray(s.map(::JsonPrimitive))
