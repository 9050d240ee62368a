package dev.earshot.voice.connection

import dev.earshot.voice.datagram.DatagramSink
import dev.earshot.voice.datagram.DatagramSource
import dev.earshot.voice.udp.DatagramTransport
import dev.earshot.voice.udp.IpDiscovery
import dev.earshot.voice.udp.IpLiteral
import dev.earshot.voice.udp.UdpSocket
import java.net.InetAddress
import java.net.InetSocketAddress

/** A UDP path to the voice server after IP discovery: where audio is read and sent, and our address as seen outside. */
internal class UdpLink(
    val transport: DatagramTransport,
    /** Our external IP as the voice server saw it (for Select Protocol). */
    val externalIp: String,
    /** Our external UDP port as the voice server saw it. */
    val externalPort: Int,
    private val onClose: () -> Unit,
) : AutoCloseable {
    val source: DatagramSource get() = transport
    val sink: DatagramSink get() = transport

    override fun close() = onClose()
}

/** Opens the UDP path for a Ready (op 2): socket plus IP discovery. The seam tests replace with an in-memory fake. */
internal fun interface UdpConnector {
    /**
     * Opens a socket to [ip]:[port] and runs IP discovery for [ssrc]; throws when discovery gets no answer, and
     * [VoiceServerProtocolException] when [ip] is not a literal IPv4 or IPv6 address (it is never resolved).
     */
    suspend fun open(ip: String, port: Int, ssrc: Long, config: VoiceConnectionConfig): UdpLink
}

/** The production connector: a NIO [UdpSocket] and [IpDiscovery]. */
internal object NioUdpConnector : UdpConnector {
    override suspend fun open(ip: String, port: Int, ssrc: Long, config: VoiceConnectionConfig): UdpLink {
        // The address comes from the server: parsed as a literal here, since InetSocketAddress(String, Int) would look
        // a name up in DNS. getByAddress on the parsed bytes never does.
        val bytes = IpLiteral.parse(ip)
            ?: throw VoiceServerProtocolException("Ready.ip", "'${ip.take(64)}' is not a literal IPv4 or IPv6 address")
        val socket = UdpSocket.open(InetSocketAddress(InetAddress.getByAddress(bytes), port))
        try {
            val address = IpDiscovery.discover(socket, ssrc, config.ipDiscoveryTimeout, config.ipDiscoveryAttempts)
            return UdpLink(socket, address.ip, address.port) { socket.close() }
        } catch (e: Throwable) {
            socket.close()
            throw e
        }
    }
}
