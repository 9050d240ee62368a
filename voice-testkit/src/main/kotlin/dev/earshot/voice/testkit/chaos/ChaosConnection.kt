package dev.earshot.voice.testkit.chaos

import dev.earshot.voice.crypto.EncryptionMode
import dev.earshot.voice.send.RtpPacketizer
import dev.earshot.voice.testkit.internal.WsConnection
import dev.earshot.voice.testkit.internal.WsHandler
import java.net.InetSocketAddress
import java.util.concurrent.LinkedBlockingQueue
import kotlin.time.Duration
import kotlinx.serialization.json.Json
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.JsonPrimitive
import kotlinx.serialization.json.contentOrNull
import kotlinx.serialization.json.intOrNull
import kotlinx.serialization.json.longOrNull
import org.slf4j.LoggerFactory

private val log = LoggerFactory.getLogger("dev.earshot.voice.testkit.chaos")

/**
 * One WebSocket connection of a [ChaosVoiceServer]: a normal voice gateway whose replies and misbehaviour come from its
 * [ChaosScript]. Everything it does (script actions, replies, heartbeat ACKs) runs on one thread in order, so a
 * [ChaosAction.Stall] really stops the server from answering; the reader thread only queues what arrives.
 */
internal class ChaosConnection(
    private val server: ChaosVoiceServer,
    private val ws: WsConnection,
    private val record: ChaosVoiceServer.AttemptRecord,
) : WsHandler {
    private val script = record.script
    private val config = server.config
    private val random = server.nextRandom()
    private val inbox = LinkedBlockingQueue<Any>()
    private val thread = Thread({ run() }, "earshot-testkit-chaos-script-${record.index}").apply { isDaemon = true }

    @Volatile private var stopped = false
    @Volatile private var stalling = false
    private var seq = 0
    @Volatile private var heartbeats = HeartbeatMode.NORMAL
    /** Set once a terminal action ran: the connection no longer answers anything. */
    @Volatile private var finished = false
    private var selectedMode: String? = null
    private var ssrc = 0L

    fun start() {
        server.answerDiscovery = script.answerIpDiscovery
        thread.start()
    }

    /** Ends the script thread (the server is closing). */
    fun stop() {
        stopped = true
        thread.interrupt()
    }

    override fun onText(text: String) {
        val message = runCatching { Json.parseToJsonElement(text) as? JsonObject }.getOrNull()
        val op = (message?.get("op") as? JsonPrimitive)?.intOrNull ?: -1
        // Heartbeats are answered at once, as a real server does even while it streams a flood, unless the script
        // stalls or silenced the connection (then they wait in the inbox like everything else).
        if (op == OP_HEARTBEAT && !stalling && !finished) {
            record.clientOp(op)
            heartbeat(((message?.get("d") as? JsonObject)?.get("t") as? JsonPrimitive)?.longOrNull)
        } else {
            inbox.put(Incoming(op, message))
        }
    }

    override fun onBinary(bytes: ByteArray) {
        inbox.put(bytes)
    }

    override fun onClosed(code: Int?, reason: String) {
        record.end(if (code != null) "client closed $code" else "connection lost")
        inbox.put(Closed)
        // A stall would otherwise outlive the connection.
        if (stalling) thread.interrupt()
    }

    private object Closed

    private class Incoming(val op: Int, val message: JsonObject?)

    private fun run() {
        try {
            step(ChaosStep.BEFORE_HELLO, ChaosStep.AFTER_HELLO) { sendHello(null) }
            while (!stopped) {
                when (val message = inbox.take()) {
                    Closed -> break
                    is Incoming -> onClientText(message.op, message.message)
                    is ByteArray -> record.clientOp(if (message.isEmpty()) -1 else message[0].toInt() and 0xFF)
                }
            }
        } catch (_: InterruptedException) {
            // The server is closing, or the client left during a stall.
        } catch (e: RuntimeException) {
            log.warn("chaos connection {} failed", record.index, e)
            ws.abort()
        } finally {
            server.forget(this)
        }
    }

    private fun onClientText(op: Int, message: JsonObject?) {
        record.clientOp(op)
        if (finished) return
        val d = message?.get("d") as? JsonObject
        when (op) {
            OP_IDENTIFY -> {
                if (d.str("token") != config.token || d.str("session_id") != config.sessionId ||
                    d.str("user_id") != config.userId.toString() || d.str("server_id") != config.guildId.toString()
                ) return end(ChaosAction.Close(4004, "Authentication failed"))
                ssrc = 1 + (random.nextLong() and 0x7FFF_FFFFL)
                step(ChaosStep.AFTER_IDENTIFY, ChaosStep.AFTER_READY) { sendReady(ChaosAction.SendReady()) }
            }
            OP_SELECT_PROTOCOL -> {
                val data = d?.get("data") as? JsonObject
                selectedMode = data.str("mode")
                val address = data.str("address")
                val port = (data?.get("port") as? JsonPrimitive)?.intOrNull
                if (server.clientUdp == null && address != null && port != null && port in 1..65535) {
                    runCatching { InetSocketAddress(InetAddressLiteral.parse(address), port) }.getOrNull()?.let { server.clientUdp = it }
                }
                step(ChaosStep.AFTER_SELECT_PROTOCOL, ChaosStep.AFTER_SESSION_DESCRIPTION) {
                    sendSessionDescription(ChaosAction.SendSessionDescription())
                }
            }
            OP_HEARTBEAT -> heartbeat((d?.get("t") as? JsonPrimitive)?.longOrNull) // one that waited out a stall
            OP_RESUME -> {
                if (d.str("token") != config.token || d.str("session_id") != config.sessionId) {
                    return end(ChaosAction.Close(4004, "Authentication failed"))
                }
                if (server.establishedSsrc == 0L) return end(ChaosAction.Close(4006, "Session is no longer valid"))
                ssrc = server.establishedSsrc
                step(ChaosStep.AFTER_RESUME, ChaosStep.AFTER_RESUMED) { sendResumed() }
            }
            else -> Unit // Speaking, DAVE replies, unknown: a normal server takes note and goes on.
        }
    }

    /**
     * Runs [step]'s actions, then [reply] unless an action replaced it or ended the connection, then the actions of
     * [next]. [next] is recorded as reached before the reply goes out, so a client that saw the reply finds it in the
     * record.
     */
    private fun step(step: ChaosStep, next: ChaosStep? = null, reply: (() -> Unit)? = null) {
        if (finished) return
        record.reached(step)
        val actions = script.actionsAt(step)
        for (action in actions) {
            if (finished || stopped) return
            perform(action)
        }
        if (finished || next == null) return
        record.reached(next)
        if (actions.none { it.isReply }) reply?.invoke()
        for (action in script.actionsAt(next)) {
            if (finished || stopped) return
            perform(action)
        }
    }

    private fun perform(action: ChaosAction) {
        when (action) {
            is ChaosAction.Close, is ChaosAction.Drop, ChaosAction.Silence -> end(action)
            is ChaosAction.Stall -> stall(action.duration)
            is ChaosAction.SendText -> sendText(action.text)
            is ChaosAction.SendBinary -> send { ws.sendBinary(action.bytes) }
            is ChaosAction.Garbage -> garbage(action)
            is ChaosAction.Nested -> sendText(nested(action))
            is ChaosAction.HugeFrame -> if (action.binary) {
                send { ws.sendBinary(ByteArray(action.bytes).also { if (it.size >= 3) it[2] = 25 }) }
            } else {
                sendText(hugeText(action.bytes))
            }
            is ChaosAction.HugeString -> {
                val s = "1".repeat(action.length)
                sendText("""{"op":${action.op},"seq":${++seq},"d":{"user_id":"$s","flags":1,"platform":1,"mode":"$s"}}""")
            }
            is ChaosAction.SendOp -> sendText(op(action.op, action.d, action.withSeq))
            is ChaosAction.SpeakingFlood -> repeat(action.count) { i ->
                if (!open()) return
                val user = action.firstUserId + i
                sendText(op(OP_SPEAKING, """{"user_id":"$user","ssrc":${FLOOD_SSRC_BASE + i},"speaking":1}"""))
            }
            is ChaosAction.ClientsConnectFlood -> repeat(action.messages) { m ->
                if (!open()) return
                val first = action.firstUserId + m.toLong() * action.idsPerMessage
                val ids = StringBuilder(action.idsPerMessage * 22)
                for (k in 0 until action.idsPerMessage) {
                    if (k > 0) ids.append(',')
                    ids.append('"').append(first + k).append('"')
                }
                sendText(op(OP_CLIENTS_CONNECT, """{"user_ids":[$ids]}"""))
            }
            is ChaosAction.ClientDisconnectFlood -> repeat(action.count) { i ->
                if (!open()) return
                sendText(op(OP_CLIENT_DISCONNECT, """{"user_id":"${action.firstUserId + i}"}"""))
            }
            is ChaosAction.ClientFlagsFlood -> repeat(action.count) { i ->
                if (!open()) return
                val user = action.firstUserId + i
                sendText(if (action.platform) op(20, """{"user_id":"$user","platform":1}""") else op(18, """{"user_id":"$user","flags":2}"""))
            }
            is ChaosAction.HeartbeatAckFlood -> repeat(action.count) { i ->
                if (!open()) return
                sendText(op(OP_HEARTBEAT_ACK, """{"t":${-1 - i}}""", withSeq = false))
            }
            is ChaosAction.HeartbeatRequestFlood -> repeat(action.count) {
                if (!open()) return
                sendText(op(OP_HEARTBEAT, "null", withSeq = false))
            }
            is ChaosAction.UnknownOpFlood -> repeat(action.count) { i ->
                if (!open()) return
                sendText(op(action.op, """{"n":$i}"""))
            }
            is ChaosAction.SendHello -> sendHello(action.heartbeatInterval)
            is ChaosAction.SendReady -> sendReady(action)
            is ChaosAction.SendSessionDescription -> sendSessionDescription(action)
            ChaosAction.SendResumed -> sendResumed()
            is ChaosAction.Heartbeats -> heartbeats = action.mode
            is ChaosAction.DaveLengthBomb -> sendBinaryOp(action.op, daveLengthBomb(action))
            is ChaosAction.DaveTruncated -> sendBinaryOp(action.op, ByteArray(action.bytes.coerceAtLeast(0)).also(random::nextBytes))
            is ChaosAction.SendAudio -> sendAudio(action)
        }
    }

    private fun end(action: ChaosAction) {
        finished = true
        when (action) {
            is ChaosAction.Close -> {
                record.end("server closed ${action.code}")
                ws.close(action.code, action.reason)
            }
            is ChaosAction.Drop -> {
                record.end(if (action.reset) "reset" else "dropped")
                if (action.reset) ws.reset() else ws.abort()
            }
            else -> Unit // Silence: the connection stays open and mute until the client gives up.
        }
    }

    private fun stall(duration: Duration) {
        if (duration.isInfinite()) {
            finished = true
            return
        }
        stalling = true
        try {
            Thread.sleep(duration.inWholeMilliseconds)
        } finally {
            stalling = false
        }
    }

    // ---- the normal server's messages ----

    private fun sendHello(interval: String?) {
        sendText("""{"op":8,"d":{"heartbeat_interval":${interval ?: config.heartbeatInterval.inWholeMilliseconds},"v":8}}""")
    }

    private fun sendReady(a: ChaosAction.SendReady) {
        val readySsrc = a.ssrc ?: ssrc
        if (a.ssrc == null && a.ip == null && a.port == null && a.modes == null) server.establishedSsrc = readySsrc
        val modes = (a.modes ?: config.modes).joinToString(",") { "\"${it.replace("\"", "\\\"")}\"" }
        val ip = (a.ip ?: config.host).replace("\"", "\\\"")
        sendText(op(OP_READY, """{"ssrc":$readySsrc,"ip":"$ip","port":${a.port ?: server.udpPort},"modes":[$modes],"heartbeat_interval":1,"experiments":[],"streams":[]}"""))
    }

    private fun sendSessionDescription(a: ChaosAction.SendSessionDescription) {
        val mode = a.mode ?: selectedMode ?: config.modes.firstOrNull() ?: ""
        val key = ByteArray(a.keyLength.coerceAtLeast(0)).also(random::nextBytes)
        val known = EncryptionMode.fromWireName(mode)
        if (key.size == 32 && known != null && known.isAvailable) server.media = ChaosVoiceServer.Media(known, key)
        val keyJson = key.joinToString(",") { (it.toInt() and 0xFF).toString() }
        val dave = a.daveProtocolVersion ?: config.daveProtocolVersion
        sendText(op(OP_SESSION_DESCRIPTION, """{"mode":"$mode","secret_key":[$keyJson],"dave_protocol_version":$dave,"audio_codec":"opus","media_session_id":"chaos"}"""))
    }

    private fun sendResumed() = sendText(op(OP_RESUMED, "null"))

    private fun heartbeat(nonce: Long?) {
        // Straight to the socket, not through the flood throttle: this may run on the reader thread.
        val t = nonce?.toString() ?: "null"
        when (heartbeats) {
            HeartbeatMode.NORMAL -> ws.sendText("""{"op":6,"d":{"t":$t}}""")
            HeartbeatMode.NEVER_ACK -> Unit
            HeartbeatMode.WRONG_NONCE -> ws.sendText("""{"op":6,"d":{"t":${(nonce ?: 0) + 1}}}""")
            HeartbeatMode.TRIPLE_ACK -> repeat(3) { ws.sendText("""{"op":6,"d":{"t":$t}}""") }
        }
    }

    // ---- misbehaviour ----

    private fun garbage(a: ChaosAction.Garbage) {
        val r = java.util.Random(a.seed)
        repeat(a.count) {
            if (!open()) return
            when (a.kind) {
                GarbageKind.INVALID_JSON -> sendText(INVALID_JSON[r.nextInt(INVALID_JSON.size)])
                GarbageKind.NOT_AN_OBJECT -> sendText(NOT_OBJECTS[r.nextInt(NOT_OBJECTS.size)])
                GarbageKind.BAD_OP -> sendText(BAD_OPS[r.nextInt(BAD_OPS.size)])
                GarbageKind.WRONG_TYPES -> sendText(WRONG_TYPES[r.nextInt(WRONG_TYPES.size)])
                GarbageKind.BINARY_GARBAGE -> send { ws.sendBinary(ByteArray(3 + r.nextInt(1024)).also(r::nextBytes)) }
                GarbageKind.SHORT_BINARY -> send { ws.sendBinary(ByteArray(r.nextInt(3)).also(r::nextBytes)) }
                GarbageKind.INVALID_UTF8 -> send {
                    ws.sendTextBytes(byteArrayOf('{'.code.toByte(), 0xFF.toByte(), 0xED.toByte(), 0xA0.toByte(), 0x80.toByte(), '}'.code.toByte()))
                }
            }
        }
    }

    private fun nested(a: ChaosAction.Nested): String {
        val open = if (a.objects) "{\"a\":" else "["
        val close = if (a.objects) "}" else "]"
        val sb = StringBuilder(a.depth * (open.length + 1) + 1)
        repeat(a.depth) { sb.append(open) }
        if (a.objects) sb.append("1")
        if (!a.unclosed) repeat(a.depth) { sb.append(close) }
        return sb.toString()
    }

    private fun hugeText(bytes: Int): String {
        val head = """{"op":99,"d":""""
        val tail = "\"}"
        val body = (bytes - head.length - tail.length).coerceAtLeast(0)
        return StringBuilder(bytes).append(head).append("x".repeat(body)).append(tail).toString()
    }

    private fun daveLengthBomb(a: ChaosAction.DaveLengthBomb): ByteArray {
        val prefix = when (a.op) {
            27 -> byteArrayOf(0)
            29, 30 -> byteArrayOf(0, 1)
            else -> ByteArray(0)
        }
        val width = a.lengthBytes.takeIf { it in setOf(1, 2, 4, 8) } ?: 4
        val max = when (width) { 1 -> 63L; 2 -> 16_383L; 4 -> (1L shl 30) - 1; else -> (1L shl 62) - 1 }
        val v = a.declaredLength.coerceIn(0, max)
        val length = ByteArray(width) { i -> (v ushr (8 * (width - 1 - i))).toByte() }
        length[0] = (length[0].toInt() or when (width) { 1 -> 0x00; 2 -> 0x40; 4 -> 0x80; else -> 0xC0 }).toByte()
        return prefix + length + ByteArray(a.presentBytes.coerceAtLeast(0)).also(random::nextBytes)
    }

    private fun sendAudio(a: ChaosAction.SendAudio) {
        sendText(op(OP_SPEAKING, """{"user_id":"${a.userId}","ssrc":${a.ssrc},"speaking":1}"""))
        val media = server.media ?: return
        val to = server.clientUdp ?: return
        val packetizer = synchronized(media) { RtpPacketizer(a.ssrc, media.outbound) }
        val out = ByteArray(2048)
        var due = System.nanoTime()
        repeat(a.frames) {
            if (!open()) return
            val n = synchronized(media) { packetizer.packetize(OPUS_SILENCE, out = out) }
            server.sendDatagram(out, n, to)
            due += FRAME_NANOS
            val wait = due - System.nanoTime()
            if (wait > 0) Thread.sleep(wait / 1_000_000, (wait % 1_000_000).toInt())
        }
    }

    // ---- sending ----

    private fun open(): Boolean = ws.isOpen && !stopped

    private fun op(op: Int, d: String, withSeq: Boolean = true): String =
        if (withSeq) """{"op":$op,"seq":${++seq},"d":$d}""" else """{"op":$op,"d":$d}"""

    private fun sendBinaryOp(op: Int, payload: ByteArray) {
        val s = ++seq
        send { ws.sendBinary(byteArrayOf((s ushr 8).toByte(), s.toByte(), op.toByte()) + payload) }
    }

    private fun sendText(text: String) = send { ws.sendText(text) }

    /** Waits while the client has too much unread, so a flood costs the server no memory; then sends. */
    private inline fun send(block: () -> Boolean) {
        while (ws.pendingBytes > config.maxQueuedBytes && open()) Thread.sleep(1)
        if (open()) block()
    }

    private fun JsonObject?.str(key: String): String? = (this?.get(key) as? JsonPrimitive)?.contentOrNull

    private companion object {
        const val OP_IDENTIFY = 0
        const val OP_SELECT_PROTOCOL = 1
        const val OP_READY = 2
        const val OP_HEARTBEAT = 3
        const val OP_SESSION_DESCRIPTION = 4
        const val OP_SPEAKING = 5
        const val OP_HEARTBEAT_ACK = 6
        const val OP_RESUME = 7
        const val OP_RESUMED = 9
        const val OP_CLIENTS_CONNECT = 11
        const val OP_CLIENT_DISCONNECT = 13
        const val FLOOD_SSRC_BASE = 100_000L
        const val FRAME_NANOS = 20_000_000L
        val OPUS_SILENCE = byteArrayOf(0xF8.toByte(), 0xFF.toByte(), 0xFE.toByte())

        val INVALID_JSON = listOf("""{"op": 2, "d": {""", "}{", """{"op":2,,"d":1}""", "\u0000\u0001garbage", "", " ", """{"op":8,"d":{"heartbeat_interval":}}""", "nul")
        val NOT_OBJECTS = listOf("42", "\"op\"", "[1,2,3]", "null", "true", "-0.5e999")
        val BAD_OPS = listOf("""{"op":"2","d":{}}""", """{"op":2.5,"d":{}}""", """{"op":-1,"d":null}""", """{"d":{}}""", """{"op":99999999999999,"d":{}}""", """{"op":null}""", """{"op":[8]}""")
        val WRONG_TYPES = listOf(
            """{"op":5,"d":{"user_id":[],"ssrc":-1,"speaking":"yes"}}""",
            """{"op":5,"d":{"user_id":"1","ssrc":99999999999,"speaking":1}}""",
            """{"op":11,"d":{"user_ids":"1"}}""",
            """{"op":11,"d":{"user_ids":[{},null,1.5]}}""",
            """{"op":13,"d":{"user_id":null}}""",
            """{"op":18,"d":{"user_id":{},"flags":"x"}}""",
            """{"op":6,"d":{"t":"x"}}""",
            """{"op":6,"d":[]}""",
            """{"op":12,"d":{"user_id":"1","audio_ssrc":"a"}}""",
            """{"op":21,"d":{"transition_id":"a","protocol_version":-5}}""",
            """{"op":22,"d":[]}""",
            """{"op":24,"d":{"epoch":-1,"protocol_version":1e99}}""",
            """{"op":3,"d":{"t":{}}}""",
        )
    }
}

/** Parses only literal IPv4/IPv6 addresses (never a DNS lookup), for the address a client selected. */
private object InetAddressLiteral {
    fun parse(address: String): java.net.InetAddress {
        require(address.isNotEmpty() && (address.all { it.isDigit() || it == '.' } || ':' in address)) { "not a literal address" }
        return java.net.InetAddress.getByName(address)
    }
}
