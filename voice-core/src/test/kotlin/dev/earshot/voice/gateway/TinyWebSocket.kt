package dev.earshot.voice.gateway

import java.io.DataInputStream
import java.io.OutputStream
import java.security.MessageDigest
import java.util.Base64

// The server side of RFC 6455, just enough for tests that drive the real ktor client over loopback.

/** Reads the client's upgrade request and answers 101 with the RFC 6455 accept key. */
internal fun wsHandshake(input: DataInputStream, out: OutputStream) {
    var key = ""
    while (true) {
        val line = input.readCrlfLine()
        if (line.isEmpty()) break
        if (line.startsWith("Sec-WebSocket-Key:", ignoreCase = true)) key = line.substringAfter(':').trim()
    }
    val accept = Base64.getEncoder().encodeToString(
        MessageDigest.getInstance("SHA-1").digest((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").toByteArray()),
    )
    out.write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: $accept\r\n\r\n".toByteArray())
    out.flush()
}

private fun DataInputStream.readCrlfLine(): String {
    val sb = StringBuilder()
    while (true) {
        val c = read()
        if (c < 0 || c == '\n'.code) break
        if (c != '\r'.code) sb.append(c.toChar())
    }
    return sb.toString()
}

/** Writes one unmasked text frame (server to client). */
internal fun OutputStream.textFrame(text: String) {
    val payload = text.toByteArray()
    write(0x81)
    if (payload.size < 126) {
        write(payload.size)
    } else {
        write(126)
        write(payload.size shr 8)
        write(payload.size and 0xFF)
    }
    write(payload)
    flush()
}

/** Writes a close frame with [code] (server to client). */
internal fun OutputStream.closeFrame(code: Int) {
    write(byteArrayOf(0x88.toByte(), 2, (code shr 8).toByte(), code.toByte()))
    flush()
}

/** Reads one masked client frame and returns its payload. */
internal fun DataInputStream.readClientFrame(): ByteArray = readClientFrameWithOpcode().second

/** Reads one masked client frame: its opcode (8 for close) and its payload. */
internal fun DataInputStream.readClientFrameWithOpcode(): Pair<Int, ByteArray> {
    val opcode = readUnsignedByte() and 0x0F
    val b1 = readUnsignedByte()
    var len = (b1 and 0x7F).toLong()
    if (len == 126L) len = readUnsignedShort().toLong() else if (len == 127L) len = readLong()
    val mask = ByteArray(4).also { readFully(it) }
    val payload = ByteArray(len.toInt()).also { readFully(it) }
    for (i in payload.indices) payload[i] = (payload[i].toInt() xor mask[i % 4].toInt()).toByte()
    return opcode to payload
}
