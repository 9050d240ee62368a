package dev.earshot.voice.testkit.internal

import dev.earshot.voice.rtp.PacketDemux
import dev.earshot.voice.rtp.PacketKind
import dev.earshot.voice.rtp.RtpPayload
import dev.earshot.voice.rtp.RtpView
import dev.earshot.voice.testkit.CapturedPacket
import dev.earshot.voice.testkit.ClientSession
import dev.earshot.voice.testkit.VoiceTestServer
import java.io.IOException
import java.net.DatagramPacket
import java.net.DatagramSocket
import java.net.InetAddress
import java.net.InetSocketAddress
import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.atomic.AtomicBoolean
import org.slf4j.LoggerFactory

/*
 * IP discovery (docs/protocol.md section 3.1), request and response both 74 bytes, big-endian:
 *   0: type (1 request, 2 response)  2: length 70  4: SSRC  8: address, ASCII, NUL-padded (64)  72: port
 */
private const val DISCOVERY_LENGTH = 74
private const val DISCOVERY_REQUEST = 1
private const val DISCOVERY_RESPONSE = 2
private const val DISCOVERY_BODY = 70
private const val DISCOVERY_ADDRESS_OFFSET = 8
private const val DISCOVERY_PORT_OFFSET = 72
private const val MAX_DATAGRAM = 2048

private val log = LoggerFactory.getLogger("dev.earshot.voice.testkit.udp")

/**
 * One voice server address: a WebSocket listener (the `endpoint` of a grant) and the UDP socket its Ready
 * advertises, with the SFU that runs on that socket. [VoiceTestServer.moveEndpoint] adds a new one and retires the
 * old after a delay.
 */
internal class Endpoint(private val server: VoiceTestServer, generation: Int) : AutoCloseable {
    private val host = server.config.host
    private val udp = DatagramSocket(InetSocketAddress(InetAddress.getByName(host), 0))
    private val closed = AtomicBoolean(false)

    /** Sessions by the UDP address their packets come from. */
    val byAddress = ConcurrentHashMap<InetSocketAddress, ClientSession>()

    val ws = WsListener(host, server.tls?.serverContext, "ep$generation", { server.counters.internalErrors.incrementAndGet() }) { connection, request ->
        server.counters.wsConnections.incrementAndGet()
        GatewayConnection(server, this, connection, request)
    }

    /** `host:port` of the WebSocket listener, without a scheme, as in VOICE_SERVER_UPDATE. */
    val address: String = "$host:${ws.port}"

    /** The UDP port advertised in Ready. */
    val udpPort: Int = udp.localPort

    /** Set once the endpoint was replaced by a newer one; it only waits to close. */
    @Volatile var retired = false

    private val receiver = Thread({ receiveLoop() }, "earshot-testkit-ep$generation-udp").apply {
        isDaemon = true
        start()
    }

    /** Sends [bytes] to [to]; false when the socket is closed or the send fails. */
    fun send(bytes: ByteArray, to: InetSocketAddress): Boolean = try {
        udp.send(DatagramPacket(bytes, bytes.size, to))
        true
    } catch (e: IOException) {
        if (!closed.get()) log.debug("send to {} failed: {}", to, e.toString())
        false
    }

    private fun receiveLoop() {
        val buf = ByteArray(MAX_DATAGRAM)
        val packet = DatagramPacket(buf, buf.size)
        val view = RtpView()
        while (!closed.get()) {
            try {
                packet.setData(buf, 0, buf.size)
                udp.receive(packet)
            } catch (e: IOException) {
                if (!closed.get()) log.debug("UDP receive failed: {}", e.toString())
                break
            }
            server.counters.datagramsIn.incrementAndGet()
            try {
                handle(buf, packet.length, packet.socketAddress as InetSocketAddress, view)
            } catch (e: RuntimeException) {
                // Bad input must never stop the SFU; a bug here is logged and the datagram dropped.
                server.counters.internalErrors.incrementAndGet()
                log.warn("datagram from {} dropped after an error", packet.socketAddress, e)
            }
        }
    }

    private fun handle(buf: ByteArray, length: Int, from: InetSocketAddress, view: RtpView) {
        if (length == DISCOVERY_LENGTH && u16(buf, 0) == DISCOVERY_REQUEST && u16(buf, 2) == DISCOVERY_BODY) {
            discovery(buf, from)
            return
        }
        when (PacketDemux.classify(buf, 0, length)) {
            PacketKind.KEEPALIVE -> {
                server.counters.keepalivesIn.incrementAndGet()
                byAddress[from]?.counters?.keepalivesIn?.incrementAndGet()
                if (server.config.echoKeepalives) send(buf.copyOf(length), from)
            }
            PacketKind.RTCP -> server.counters.rtcpIn.incrementAndGet()
            PacketKind.RTP_AUDIO -> audio(buf, length, from, view)
            else -> {
                server.counters.badPackets.incrementAndGet()
                byAddress[from]?.counters?.badPackets?.incrementAndGet()
                log.debug("dropped a {}-byte datagram from {} that is neither audio, RTCP, keepalive nor discovery", length, from)
            }
        }
    }

    private fun discovery(buf: ByteArray, from: InetSocketAddress) {
        val ssrc = u32(buf, 4)
        val session = server.sessionBySsrc(this, ssrc)
        if (session == null) {
            server.counters.badPackets.incrementAndGet()
            log.debug("IP discovery for unknown SSRC {} from {}", ssrc, from)
            return
        }
        bind(session, from)
        server.counters.discoveryRequests.incrementAndGet()
        val reply = ByteArray(DISCOVERY_LENGTH)
        put16(reply, 0, DISCOVERY_RESPONSE)
        put16(reply, 2, DISCOVERY_BODY)
        put32(reply, 4, ssrc)
        val ip = from.address.hostAddress.toByteArray(Charsets.US_ASCII)
        ip.copyInto(reply, DISCOVERY_ADDRESS_OFFSET, 0, minOf(ip.size, 63))
        put16(reply, DISCOVERY_PORT_OFFSET, from.port)
        send(reply, from)
    }

    /** Points [session]'s audio at [address] (the source the server saw). */
    fun bind(session: ClientSession, address: InetSocketAddress) {
        val old = session.udpAddress
        if (old != null && old != address) byAddress.remove(old, session)
        byAddress[address] = session
        session.udpAddress = address
    }

    private fun audio(buf: ByteArray, length: Int, from: InetSocketAddress, view: RtpView) {
        val packet = buf.copyOf(length)
        if (view.wrap(packet, 0, length) != null) {
            server.counters.badPackets.incrementAndGet()
            return
        }
        var session = byAddress[from]
        if (session == null) {
            // A client that skipped IP discovery: bind it by the SSRC from its Ready.
            session = server.sessionBySsrc(this, view.ssrc)?.takeIf { it.udpAddress == null }
            if (session == null) {
                server.counters.unknownSource.incrementAndGet()
                return
            }
            bind(session, from)
        }
        if (view.ssrc != session.ssrc) {
            bad(session, "SSRC ${view.ssrc} is not the session's")
            return
        }
        val keys = session.inbound
        if (keys == null) {
            server.counters.noKeyDrops.incrementAndGet()
            return
        }
        val aad = view.headerLength
        var plainLength = keys.current.decrypt(packet, 0, length, aad)
        if (plainLength < 0 && keys.previous != null && System.nanoTime() < keys.previousUntilNanos) {
            plainLength = keys.previous.decrypt(packet, 0, length, aad)
        }
        if (plainLength < 0) {
            bad(session, "authentication failed")
            return
        }
        val located = RtpPayload.locate(packet, aad, plainLength, view.padding, view.extensionLengthWords)
        if (located == -1L) {
            bad(session, "inconsistent padding or extension")
            return
        }
        server.counters.rtpIn.incrementAndGet()
        session.counters.packetsIn.incrementAndGet()
        val offset = RtpPayload.payloadOffset(located)
        session.record(
            CapturedPacket(
                view.ssrc, view.sequence, view.timestamp, view.marker, view.extension,
                packet.copyOfRange(offset, offset + RtpPayload.payloadLength(located)), System.nanoTime(),
            ),
        )
        // Forward with the header (and so SSRC, sequence, timestamp, marker, extension preamble) untouched and the
        // plaintext (extension elements, payload, padding) re-encrypted for each receiver.
        val channel = server.channelOf(session) ?: return
        for (receiver in channel.receiversExcept(session)) {
            receiver.outbound.send(packet, 0, aad, packet, aad, plainLength)
        }
    }

    private fun bad(session: ClientSession, why: String) {
        server.counters.badPackets.incrementAndGet()
        session.counters.badPackets.incrementAndGet()
        log.debug("dropped a packet from user {}: {}", session.userId, why)
    }

    /** Stops accepting and closes the UDP socket; connections are closed by the server first. */
    override fun close() {
        if (closed.compareAndSet(false, true)) {
            ws.close()
            ws.abortAll()
            udp.close()
        }
    }

    private fun u16(b: ByteArray, at: Int) = ((b[at].toInt() and 0xFF) shl 8) or (b[at + 1].toInt() and 0xFF)

    private fun u32(b: ByteArray, at: Int): Long =
        ((b[at].toLong() and 0xFF) shl 24) or ((b[at + 1].toLong() and 0xFF) shl 16) or
            ((b[at + 2].toLong() and 0xFF) shl 8) or (b[at + 3].toLong() and 0xFF)

    private fun put16(b: ByteArray, at: Int, v: Int) {
        b[at] = (v ushr 8).toByte()
        b[at + 1] = v.toByte()
    }

    private fun put32(b: ByteArray, at: Int, v: Long) {
        for (i in 0 until 4) b[at + i] = (v ushr (24 - 8 * i)).toByte()
    }
}
