package dev.earshot.voice.testkit

import dev.earshot.voice.crypto.TransportCipher
import dev.earshot.voice.send.RtpPacketizer
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.nulls.shouldNotBeNull
import io.kotest.matchers.shouldBe
import io.kotest.matchers.string.shouldStartWith
import java.io.InputStream
import java.net.DatagramPacket
import java.net.DatagramSocket
import java.net.InetSocketAddress
import java.net.Socket
import java.util.Base64
import kotlin.random.Random
import kotlinx.coroutines.delay

/** A WebSocket client on a bare socket, for sending frames no real client library would send. */
private class RawSocketClient(port: Int) : AutoCloseable {
    val socket = Socket("127.0.0.1", port).apply { soTimeout = 2000; tcpNoDelay = true }
    val input: InputStream = socket.getInputStream()

    fun upgrade(): String {
        val key = Base64.getEncoder().encodeToString(ByteArray(16) { it.toByte() })
        socket.getOutputStream().write(
            "GET /?v=8 HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: $key\r\nSec-WebSocket-Version: 13\r\n\r\n"
                .toByteArray(),
        )
        return readHead()
    }

    fun readHead(): String {
        val sb = StringBuilder()
        while (!sb.endsWith("\r\n\r\n")) {
            val b = input.read()
            if (b < 0) break
            sb.append(b.toChar())
        }
        return sb.toString()
    }

    /** A frame with the given first byte, masked unless [masked] is false; [lengthOverride] lies about the length. */
    fun frame(b0: Int, payload: ByteArray, masked: Boolean = true, lengthOverride: Long? = null) {
        val out = java.io.ByteArrayOutputStream()
        out.write(b0)
        val len = lengthOverride ?: payload.size.toLong()
        val maskBit = if (masked) 0x80 else 0
        when {
            len < 126 -> out.write(maskBit or len.toInt())
            len <= 0xFFFF -> { out.write(maskBit or 126); out.write((len shr 8).toInt()); out.write(len.toInt()) }
            else -> { out.write(maskBit or 127); for (i in 7 downTo 0) out.write((len shr (8 * i)).toInt()) }
        }
        val mask = byteArrayOf(1, 2, 3, 4)
        if (masked) out.write(mask)
        out.write(ByteArray(payload.size) { (payload[it].toInt() xor if (masked) mask[it % 4].toInt() else 0).toByte() })
        socket.getOutputStream().write(out.toByteArray())
    }

    /** The next frame's opcode and payload, or null at the end of the stream. */
    fun readFrame(): Pair<Int, ByteArray>? {
        val b0 = input.read()
        if (b0 < 0) return null
        var len = input.read() and 0x7F
        if (len == 126) len = (input.read() shl 8) or input.read()
        return (b0 and 0x0F) to input.readNBytes(len)
    }

    /** Reads frames until a close frame (its code) or the end of the stream (null). */
    fun closeCode(): Int? {
        while (true) {
            val (op, payload) = readFrame() ?: return null
            if (op == 8) return if (payload.size >= 2) ((payload[0].toInt() and 0xFF) shl 8) or (payload[1].toInt() and 0xFF) else 1005
        }
    }

    /** Sends [text] and a heartbeat; returns "ack" if the heartbeat was acknowledged, else the close code. */
    fun ignoredOrClosed(text: String): String {
        frame(0x81, text.toByteArray(Charsets.ISO_8859_1))
        runCatching { frame(0x81, "{\"op\":3,\"d\":{\"t\":1,\"seq_ack\":-1}}".toByteArray()) }
        while (true) {
            val (op, payload) = readFrame() ?: return "eof"
            if (op == 8) return (((payload[0].toInt() and 0xFF) shl 8) or (payload[1].toInt() and 0xFF)).toString()
            if (op == 1 && String(payload).contains("\"op\":6")) return "ack"
        }
    }

    override fun close() = socket.close()
}

private suspend fun assertServerStillWorks(server: VoiceTestServer, user: String) {
    RawVoiceClient.connect(server).use { a ->
        RawVoiceClient.connect(server).use { b ->
            val ha = a.handshake(server.grant("9", "9", "$user-a"))
            val hb = b.handshake(server.grant("9", "9", "$user-b"))
            val out = ByteArray(2048)
            val n = RtpPacketizer(ha.ssrc, TransportCipher.create(ha.mode, ha.key)).packetize(byteArrayOf(0x78, 1, 2), out = out)
            a.sendUdp(out.copyOf(n), ha.udpPort)
            b.receiveRtp(TransportCipher.create(hb.mode, hb.key), 1).single().opus.toList() shouldBe listOf<Byte>(0x78, 1, 2)
            server.stats.internalErrors shouldBe 0
        }
    }
}

class FuzzSpec : FunSpec({
    test("malformed gateway payloads close with 4002 or are ignored, never break the server") {
        VoiceTestServer.start().use { server ->
            val random = Random(11)
            val payloads = listOf(
                "", " ", "null", "42", "\"op\"", "{}", "{\"op\":null}", "{\"op\":1.5}", "{\"op\":99999999999}",
                "[".repeat(100_000), "{\"op\":0,\"d\":" + "[".repeat(50_000),
                """{"op":0,"d":[]}""", """{"op":0,"d":"x"}""", """{"op":0,"d":{"server_id":{},"user_id":[],"session_id":1,"token":null}}""",
                """{"op":3}""", """{"op":3,"d":{}}""", """{"op":3,"d":[1,2]}""", """{"op":7,"d":{"seq_ack":"x"}}""",
                """{"op":-1,"d":{}}""", """{"op":16,"d":{}}""",
            ) + List(100) { String(random.nextBytes(random.nextInt(1, 200)), Charsets.ISO_8859_1) }
            val port = server.endpoint.substringAfter(':').toInt()
            for (p in payloads) {
                RawSocketClient(port).use { c ->
                    c.upgrade()
                    c.readFrame()!!.first shouldBe 1 // Hello
                    (c.ignoredOrClosed(p) in setOf("ack", "4002")) shouldBe true
                }
            }
            // Well-formed JSON with wrongly typed fields, inside a session.
            val inSession = listOf(
                """{"op":1,"d":[]}""", """{"op":1,"d":{"protocol":"udp"}}""", """{"op":1,"d":{"protocol":"udp","data":"x"}}""",
                """{"op":1,"d":{"protocol":7,"data":{}}}""", """{"op":5,"d":{"speaking":"loud"}}""", """{"op":5,"d":null}""",
                """{"op":5,"d":{"speaking":true}}""", """{"op":1,"d":{"protocol":"udp","data":{"mode":"aead_aes256_gcm_rtpsize","port":"x","address":7}}}""",
            )
            for ((i, p) in inSession.withIndex()) {
                RawSocketClient(port).use { c ->
                    c.upgrade()
                    c.readFrame()
                    val g = server.grant("1", "2", "u$i")
                    c.frame(0x81, """{"op":0,"d":{"server_id":"1","user_id":"u$i","session_id":"${g.sessionId}","token":"${g.token}"}}""".toByteArray())
                    String(c.readFrame()!!.second).contains("\"op\":2") shouldBe true
                    (c.ignoredOrClosed(p) in setOf("ack", "4002", "4012")) shouldBe true
                }
            }
            server.stats.internalErrors shouldBe 0
            assertServerStillWorks(server, "after-json")
        }
    }

    test("broken WebSocket framing and non-WebSocket requests are refused without harm") {
        VoiceTestServer.start().use { server ->
            val port = server.endpoint.substringAfter(':').toInt()
            RawSocketClient(port).use { c ->
                c.socket.getOutputStream().write("GET / HTTP/1.1\r\nHost: x\r\n\r\n".toByteArray())
                c.readHead() shouldStartWith "HTTP/1.1 426"
            }
            RawSocketClient(port).use { c ->
                c.socket.getOutputStream().write(Random(1).nextBytes(5000) + "\r\n\r\n".toByteArray())
                c.readHead() shouldStartWith "HTTP/1.1 400"
            }
            RawSocketClient(port).use { c ->
                c.upgrade() shouldStartWith "HTTP/1.1 101"
                c.frame(0x81, """{"op":3,"d":{"t":1}}""".toByteArray(), masked = false)
                c.closeCode() shouldBe 1002
            }
            RawSocketClient(port).use { c ->
                c.upgrade()
                c.frame(0x81, ByteArray(0), lengthOverride = 1L shl 40)
                c.closeCode() shouldBe 1009
            }
            RawSocketClient(port).use { c ->
                c.upgrade()
                c.frame(0xC1, "{}".toByteArray()) // RSV1 without an extension
                c.closeCode() shouldBe 1002
            }
            RawSocketClient(port).use { c ->
                c.upgrade()
                // A text message in two fragments, with a ping in between: reassembled, and the ping answered.
                c.frame(0x01, """{"op":3,"d":""".toByteArray())
                c.frame(0x89, "hi".toByteArray())
                c.frame(0x80, """{"t":5}}""".toByteArray())
                c.frame(0x88, byteArrayOf(0x03, 0xE8.toByte()))
                c.closeCode() shouldBe 1000
            }
            RawSocketClient(port).use { c -> c.upgrade(); c.socket.getOutputStream().write(byteArrayOf(0x81.toByte())) }
            delay(100)
            server.stats.internalErrors shouldBe 0
            assertServerStillWorks(server, "after-framing")
        }
    }

    test("UDP garbage from clients and strangers is counted and dropped; forwarding goes on") {
        VoiceTestServer.start().use { server ->
            RawVoiceClient.connect(server).use { a ->
                val ha = a.handshake(server.grant("1", "2", "a"))
                val random = Random(5)
                val target = InetSocketAddress("127.0.0.1", ha.udpPort)
                DatagramSocket().use { stranger ->
                    repeat(3000) { i ->
                        val len = if (i % 10 == 0) random.nextInt(0, 13) else random.nextInt(0, 1500)
                        val bytes = random.nextBytes(len)
                        if (i % 3 == 0 && len >= 12) {
                            // RTP-looking: version 2, PT 120, a's SSRC, random flags/lengths.
                            bytes[0] = (0x80 or (bytes[0].toInt() and 0x3F)).toByte()
                            bytes[1] = 0x78
                            for (k in 0 until 4) bytes[8 + k] = (ha.ssrc ushr (24 - 8 * k)).toByte()
                        }
                        val from = if (i % 2 == 0) a.udp else stranger
                        from.send(DatagramPacket(bytes, bytes.size, target))
                        if (i % 200 == 199) delay(5)
                    }
                }
                delay(200)
                val stats = server.stats
                stats.rtpIn shouldBe 0
                (stats.badPackets + stats.unknownSource + stats.keepalivesIn + stats.rtcpIn + stats.discoveryRequests) shouldBe stats.datagramsIn
                stats.internalErrors shouldBe 0
            }
            assertServerStillWorks(server, "after-udp")
        }
    }
})
