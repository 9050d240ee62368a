package dev.earshot.voice.testkit.internal

import java.io.ByteArrayOutputStream
import java.io.EOFException
import java.io.IOException
import java.io.InputStream
import java.io.OutputStream
import java.net.InetAddress
import java.net.ServerSocket
import java.net.Socket
import java.net.SocketException
import java.security.MessageDigest
import java.util.Base64
import java.util.concurrent.LinkedBlockingQueue
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicBoolean
import javax.net.ssl.SSLContext
import org.slf4j.LoggerFactory

/*
 * A small RFC 6455 WebSocket server on plain JDK sockets (TLS through an SSLContext).
 *
 * Why not ktor's server: its CIO engine refuses HTTPS ("CIO Engine does not currently support HTTPS"), and
 * discord.js only speaks wss://. Owning the socket also gives the two things a fault-injecting test server needs
 * and ktor's session API hides: closing the TCP connection without a close frame (the client sees 1006) and
 * sending any close code.
 *
 * Frame layout (RFC 6455 section 5.2):
 *   byte 0: FIN | RSV1-3 | opcode (4 bits)        byte 1: MASK | payload length (7 bits: 126 = u16 follows, 127 = u64)
 *   then the extended length, the 4-byte masking key (client frames must be masked), then the payload.
 * One blocking reader thread and one writer thread per connection; writers never block the caller.
 */

private val log = LoggerFactory.getLogger("dev.earshot.voice.testkit.ws")

private const val OP_CONTINUATION = 0x0
private const val OP_TEXT = 0x1
private const val OP_BINARY = 0x2
private const val OP_CLOSE = 0x8
private const val OP_PING = 0x9
private const val OP_PONG = 0xA
private const val WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
private const val MAX_HEADER_BYTES = 16 * 1024
private const val HANDSHAKE_TIMEOUT_MS = 5_000
private const val CLOSE_ECHO_WAIT_MS = 1_000L

/** What a connection tells its handler. Called on the connection's reader thread, one call at a time. */
internal interface WsHandler {
    fun onText(text: String)
    fun onBinary(bytes: ByteArray)

    /** The connection is gone: [code] from the peer's close frame, or null when the TCP connection just ended. */
    fun onClosed(code: Int?, reason: String)
}

/** The HTTP request that opened a WebSocket: its path and query parameters. */
internal class WsRequest(val path: String, val query: Map<String, String>)

/** Accepts WebSocket connections on 127.0.0.1 (or [host]) at a random port. */
internal class WsListener(
    host: String,
    private val sslContext: SSLContext?,
    private val name: String,
    private val onInternalError: () -> Unit,
    private val onOpen: (WsConnection, WsRequest) -> WsHandler,
) : AutoCloseable {
    private val server: ServerSocket =
        (sslContext?.serverSocketFactory?.createServerSocket(0, 64, InetAddress.getByName(host))
            ?: ServerSocket(0, 64, InetAddress.getByName(host)))
    private val closed = AtomicBoolean(false)
    private val connections = java.util.concurrent.ConcurrentHashMap.newKeySet<WsConnection>()

    val port: Int get() = server.localPort

    private val acceptThread = Thread({ acceptLoop() }, "earshot-testkit-$name-accept").apply {
        isDaemon = true
        start()
    }

    private fun acceptLoop() {
        while (!closed.get()) {
            val socket = try {
                server.accept()
            } catch (e: IOException) {
                if (!closed.get()) log.debug("accept failed on {}: {}", name, e.toString())
                break
            }
            Thread({ serve(socket) }, "earshot-testkit-$name-conn").apply {
                isDaemon = true
                start()
            }
        }
    }

    private fun serve(socket: Socket) {
        val connection = try {
            socket.tcpNoDelay = true
            socket.soTimeout = HANDSHAKE_TIMEOUT_MS
            val input = socket.getInputStream().buffered()
            val output = socket.getOutputStream()
            val request = handshake(input, output) ?: run { socket.close(); return }
            socket.soTimeout = 0
            WsConnection(socket, input, output, name, onInternalError) to request
        } catch (e: IOException) {
            log.debug("handshake failed on {}: {}", name, e.toString())
            runCatching { socket.close() }
            return
        }
        val (ws, request) = connection
        if (closed.get()) {
            ws.abort()
            return
        }
        connections += ws
        try {
            val handler = try {
                onOpen(ws, request)
            } catch (e: RuntimeException) {
                onInternalError()
                log.warn("opening a connection failed on {}", name, e)
                ws.abort()
                return
            }
            ws.readLoop(handler)
        } finally {
            connections -= ws
        }
    }

    /** Reads the upgrade request and answers 101, or answers 400/426 and returns null. */
    private fun handshake(input: InputStream, output: OutputStream): WsRequest? {
        val head = readHead(input) ?: return null
        val lines = head.split("\r\n")
        val requestLine = lines.first().split(' ')
        val headers = lines.drop(1).mapNotNull { line ->
            val colon = line.indexOf(':')
            if (colon <= 0) null else line.substring(0, colon).trim().lowercase() to line.substring(colon + 1).trim()
        }.toMap()
        val key = headers["sec-websocket-key"]
        val upgrade = headers["upgrade"]?.lowercase()
        if (requestLine.size < 3 || requestLine[0] != "GET") {
            respond(output, "400 Bad Request")
            return null
        }
        if (upgrade != "websocket" || key == null) {
            respond(output, "426 Upgrade Required", "Upgrade: websocket\r\n")
            return null
        }
        val accept = Base64.getEncoder().encodeToString(
            MessageDigest.getInstance("SHA-1").digest((key + WS_GUID).toByteArray(Charsets.US_ASCII)),
        )
        // No extensions are accepted (permessage-deflate is optional for clients), so frames stay uncompressed.
        output.write(
            ("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
                "Sec-WebSocket-Accept: $accept\r\n\r\n").toByteArray(Charsets.US_ASCII),
        )
        output.flush()
        val target = requestLine[1]
        val q = target.indexOf('?')
        val path = if (q < 0) target else target.substring(0, q)
        val query = if (q < 0) emptyMap() else target.substring(q + 1).split('&').filter { it.isNotEmpty() }.associate {
            val eq = it.indexOf('=')
            if (eq < 0) it to "" else it.substring(0, eq) to it.substring(eq + 1)
        }
        return WsRequest(path, query)
    }

    private fun respond(output: OutputStream, status: String, extra: String = "") {
        runCatching {
            output.write("HTTP/1.1 $status\r\n${extra}Content-Length: 0\r\nConnection: close\r\n\r\n".toByteArray(Charsets.US_ASCII))
            output.flush()
        }
    }

    private fun readHead(input: InputStream): String? {
        val buf = ByteArrayOutputStream()
        var state = 0 // how many bytes of \r\n\r\n have been seen
        while (buf.size() < MAX_HEADER_BYTES) {
            val b = input.read()
            if (b < 0) return null
            buf.write(b)
            state = when {
                b == '\r'.code && (state == 0 || state == 2) -> state + 1
                b == '\n'.code && (state == 1 || state == 3) -> state + 1
                b == '\r'.code -> 1
                else -> 0
            }
            if (state == 4) return buf.toString(Charsets.ISO_8859_1).trimEnd()
        }
        return null
    }

    /** Stops accepting. Open connections are left to their owners (see [abortAll]). */
    override fun close() {
        if (closed.compareAndSet(false, true)) runCatching { server.close() }
    }

    /** Closes every open connection without a close frame. */
    fun abortAll() {
        // Iterate the concurrent set itself: Kotlin's toList() reads size first and can
        // throw NoSuchElementException when a connection leaves between size and next().
        for (connection in connections) connection.abort()
    }
}

/** One accepted WebSocket connection. Send methods queue and return at once; they are safe from any thread. */
internal class WsConnection(
    private val socket: Socket,
    private val input: InputStream,
    private val output: OutputStream,
    name: String,
    private val onInternalError: () -> Unit,
) {
    private sealed interface Out {
        class Frame(val opcode: Int, val payload: ByteArray) : Out
        class Close(val code: Int, val reason: String) : Out
    }

    private val queue = LinkedBlockingQueue<Out>()
    private val closeSent = AtomicBoolean(false)
    private val aborted = AtomicBoolean(false)
    private val readerDone = java.util.concurrent.CountDownLatch(1)
    private val pending = java.util.concurrent.atomic.AtomicLong()

    /** Payload bytes queued but not yet written: lets a sender of floods wait instead of queueing megabytes. */
    val pendingBytes: Long get() = pending.get()

    /** The peer's address, for logs. */
    val remote: String = socket.remoteSocketAddress.toString()

    /** True until the socket is closed or a close frame was queued. */
    val isOpen: Boolean get() = !aborted.get() && !closeSent.get() && !socket.isClosed

    private val writer = Thread({ writeLoop() }, "earshot-testkit-$name-write").apply {
        isDaemon = true
        start()
    }

    fun sendText(text: String): Boolean = offer(Out.Frame(OP_TEXT, text.toByteArray(Charsets.UTF_8)))

    fun sendBinary(bytes: ByteArray): Boolean = offer(Out.Frame(OP_BINARY, bytes))

    /** Sends [bytes] as a text frame without checking that they are UTF-8 (a misbehaving server's tool). */
    fun sendTextBytes(bytes: ByteArray): Boolean = offer(Out.Frame(OP_TEXT, bytes))

    /** Queues a close frame with [code]; the socket closes when the peer echoes it, or after a second. */
    fun close(code: Int, reason: String = "") {
        if (closeSent.compareAndSet(false, true)) queue.offer(Out.Close(code, reason.take(120)))
    }

    /** Like [abort], but with SO_LINGER 0, so the peer gets a TCP reset (RST) instead of an orderly end (FIN). */
    fun reset() {
        runCatching { socket.setSoLinger(true, 0) }
        abort()
    }

    /** Closes the TCP connection at once, without a close frame: the peer sees an abnormal closure (1006). */
    fun abort() {
        if (aborted.compareAndSet(false, true)) {
            queue.clear()
            runCatching { socket.close() }
        }
    }

    private fun offer(frame: Out.Frame): Boolean {
        if (!isOpen) return false
        pending.addAndGet(frame.payload.size.toLong())
        return queue.offer(frame)
    }

    private fun writeLoop() {
        try {
            while (!aborted.get()) {
                val out = queue.poll(200, TimeUnit.MILLISECONDS) ?: if (socket.isClosed) break else continue
                when (out) {
                    is Out.Frame -> try {
                        writeFrame(out.opcode, out.payload)
                    } finally {
                        pending.addAndGet(-out.payload.size.toLong())
                    }
                    is Out.Close -> {
                        val reason = out.reason.toByteArray(Charsets.UTF_8)
                        val payload = ByteArray(2 + reason.size)
                        payload[0] = (out.code ushr 8).toByte()
                        payload[1] = out.code.toByte()
                        reason.copyInto(payload, 2)
                        writeFrame(OP_CLOSE, payload)
                        // Give the peer a moment to echo the close, as RFC 6455 section 7.1.1 asks, then hang up.
                        readerDone.await(CLOSE_ECHO_WAIT_MS, TimeUnit.MILLISECONDS)
                        runCatching { socket.close() }
                        break
                    }
                }
            }
        } catch (e: IOException) {
            log.debug("write to {} failed: {}", remote, e.toString())
            runCatching { socket.close() }
        } catch (_: InterruptedException) {
            runCatching { socket.close() }
        }
    }

    private fun writeFrame(opcode: Int, payload: ByteArray) {
        val header = ByteArray(10)
        header[0] = (0x80 or opcode).toByte()
        val n = payload.size
        val headerLength = when {
            n < 126 -> { header[1] = n.toByte(); 2 }
            n <= 0xFFFF -> {
                header[1] = 126
                header[2] = (n ushr 8).toByte()
                header[3] = n.toByte()
                4
            }
            else -> {
                header[1] = 127
                for (i in 0 until 8) header[2 + i] = (n.toLong() ushr (56 - 8 * i)).toByte()
                10
            }
        }
        synchronized(output) {
            output.write(header, 0, headerLength)
            output.write(payload)
            output.flush()
        }
    }

    /** Reads frames until the connection ends, then reports how it ended. Runs on the connection's own thread. */
    fun readLoop(handler: WsHandler) {
        var closeCode: Int? = null
        var closeReason = ""
        try {
            val message = ByteArrayOutputStream()
            var messageOpcode = -1
            while (true) {
                val b0 = input.read()
                if (b0 < 0) break
                val b1 = readByte()
                val fin = b0 and 0x80 != 0
                val opcode = b0 and 0x0F
                if (b0 and 0x70 != 0 || b1 and 0x80 == 0) {
                    // Reserved bits without an extension, or an unmasked client frame: protocol error.
                    close(1002, "protocol error")
                    break
                }
                var length = (b1 and 0x7F).toLong()
                if (length == 126L) length = (readByte().toLong() shl 8) or readByte().toLong()
                else if (length == 127L) {
                    length = 0
                    repeat(8) { length = (length shl 8) or readByte().toLong() }
                }
                if (length > MAX_MESSAGE_BYTES || (opcode >= OP_CLOSE && (length > 125 || !fin))) {
                    close(if (length > MAX_MESSAGE_BYTES) 1009 else 1002, "bad frame")
                    break
                }
                val mask = ByteArray(4).also { readFully(it) }
                val payload = ByteArray(length.toInt()).also { readFully(it) }
                for (i in payload.indices) payload[i] = (payload[i].toInt() xor mask[i and 3].toInt()).toByte()
                when (opcode) {
                    OP_CLOSE -> {
                        closeCode = if (payload.size >= 2) ((payload[0].toInt() and 0xFF) shl 8) or (payload[1].toInt() and 0xFF) else 1005
                        closeReason = if (payload.size > 2) String(payload, 2, payload.size - 2, Charsets.UTF_8) else ""
                        // Echo the peer's code unless we already sent our own close.
                        close(if (closeCode == 1005) 1000 else closeCode, "")
                        break
                    }
                    OP_PING -> offerControl(OP_PONG, payload)
                    OP_PONG -> Unit
                    OP_TEXT, OP_BINARY, OP_CONTINUATION -> {
                        if (opcode != OP_CONTINUATION) {
                            if (messageOpcode != -1) { close(1002, "interleaved message"); break }
                            messageOpcode = opcode
                        } else if (messageOpcode == -1) { close(1002, "stray continuation"); break }
                        if (message.size() + payload.size > MAX_MESSAGE_BYTES) { close(1009, "message too big"); break }
                        message.write(payload)
                        if (fin) {
                            val bytes = message.toByteArray()
                            message.reset()
                            val op = messageOpcode
                            messageOpcode = -1
                            if (op == OP_TEXT) handler.onText(String(bytes, Charsets.UTF_8)) else handler.onBinary(bytes)
                        }
                    }
                    else -> { close(1002, "unknown opcode"); break }
                }
            }
        } catch (e: IOException) {
            if (!aborted.get() && e !is SocketException && e !is EOFException) log.debug("read from {} failed: {}", remote, e.toString())
        } catch (e: RuntimeException) {
            // A handler bug must not leave the socket open and silent.
            onInternalError()
            log.warn("handler failed on {}", remote, e)
            abort()
        } finally {
            readerDone.countDown()
            // After our own close frame the writer hangs up once it is written; otherwise the connection is gone.
            if (closeCode == null && !closeSent.get()) abort()
            try {
                handler.onClosed(closeCode, closeReason)
            } catch (e: RuntimeException) {
                onInternalError()
                log.warn("close handler failed on {}", remote, e)
            }
        }
    }

    private fun offerControl(opcode: Int, payload: ByteArray) {
        offer(Out.Frame(opcode, payload))
    }

    private fun readByte(): Int {
        val b = input.read()
        if (b < 0) throw EOFException()
        return b
    }

    private fun readFully(into: ByteArray) {
        var off = 0
        while (off < into.size) {
            val n = input.read(into, off, into.size - off)
            if (n < 0) throw EOFException()
            off += n
        }
    }

    private companion object {
        // Voice gateway messages are small; DAVE binary messages stay well below this.
        const val MAX_MESSAGE_BYTES = 1L shl 20
    }
}
