package dev.earshot.voice.udp

import dev.earshot.voice.base.VoiceConstants
import dev.earshot.voice.datagram.DatagramSource
import dev.earshot.voice.rtp.Wire
import kotlinx.coroutines.withTimeoutOrNull
import java.io.IOException
import kotlin.time.Duration
import kotlin.time.Duration.Companion.seconds

/**
 * The external address and port the voice server saw our socket's datagrams come from: what Select Protocol (op 1)
 * sends back as `address` and `port`.
 *
 * @property ip the address as the server wrote it (an IPv4 dotted quad in practice).
 * @property port the UDP port, 1..65535.
 */
public data class DiscoveredAddress(val ip: String, val port: Int)

/** IP discovery got no valid response (or the socket closed); the message says what was tried. */
public class IpDiscoveryException(message: String) : IOException(message)

/*
 * Request and response are both 74 bytes, big-endian (docs/protocol.md section 3.1):
 *
 *   0  type     u16   1 = request, 2 = response
 *   2  length   u16   70 (bytes after this field)
 *   4  ssrc     u32   ours (from Ready)
 *   8  address  64    request: zeros; response: our external IP, ASCII, NUL-terminated
 *   72 port     u16   request: 0; response: our external UDP port
 */

/**
 * Discord's UDP IP discovery: builds the request, recognises the response, and runs the exchange over a socket with
 * timeouts and retries.
 */
public object IpDiscovery {
    /** Length of the request and of the response, in bytes. */
    public const val PACKET_LENGTH: Int = 74

    private const val TYPE_REQUEST = 0x0001
    private const val TYPE_RESPONSE = 0x0002
    private const val BODY_LENGTH = 70
    private const val ADDRESS_OFFSET = 8
    private const val ADDRESS_LENGTH = 64
    private const val PORT_OFFSET = 72

    /**
     * The 74-byte discovery request for [ssrc] (type 1, length 70, the SSRC, then zeros).
     * @throws IllegalArgumentException if [ssrc] is not an unsigned 32-bit value.
     */
    public fun request(ssrc: Long): ByteArray {
        require(ssrc in 0..0xFFFF_FFFFL) { "ssrc must be an unsigned 32-bit value, was $ssrc" }
        val p = ByteArray(PACKET_LENGTH)
        Wire.put16(p, 0, TYPE_REQUEST)
        Wire.put16(p, 2, BODY_LENGTH)
        Wire.put32(p, 4, ssrc)
        return p
    }

    /**
     * Parses `buffer[0 until length]` as a discovery response; returns null, never throws, when it is not a valid
     * one: not exactly 74 bytes (or [length] beyond [buffer]), type not 2, length field not 70, no NUL ending the
     * address, an address that is empty or not an IP literal ([IpLiteral]: an IPv4 dotted quad without leading
     * zeros, or an RFC 4291 IPv6 text address), or port 0.
     * The SSRC field is not checked (discord.js and JDA do not check it either).
     */
    public fun parseResponse(buffer: ByteArray, length: Int): DiscoveredAddress? {
        if (length != PACKET_LENGTH || buffer.size < PACKET_LENGTH) return null
        if (Wire.u16(buffer, 0) != TYPE_RESPONSE || Wire.u16(buffer, 2) != BODY_LENGTH) return null
        var end = ADDRESS_OFFSET
        while (end < ADDRESS_OFFSET + ADDRESS_LENGTH && buffer[end] != 0.toByte()) end++
        if (end == ADDRESS_OFFSET + ADDRESS_LENGTH || end == ADDRESS_OFFSET) return null
        val ip = String(buffer, ADDRESS_OFFSET, end - ADDRESS_OFFSET, Charsets.ISO_8859_1)
        if (!IpLiteral.isLiteral(ip)) return null
        val port = Wire.u16(buffer, PORT_OFFSET)
        if (port == 0) return null
        return DiscoveredAddress(ip, port)
    }

    /**
     * Runs IP discovery on [socket]: sends the request for [ssrc], waits up to [timeout] for a valid response, and
     * sends again, [attempts] times in all. Any other datagram (early RTP, garbage, a malformed response) is read and
     * ignored; a response to an earlier attempt that arrives late is accepted. The caller must not read [socket]
     * meanwhile. A request the socket fails to send still waits its [timeout].
     *
     * @param timeout how long each attempt waits; default 1 s (JDA's receive timeout).
     * @param attempts requests sent at most; default 3.
     * @throws IpDiscoveryException if no valid response came after [attempts] attempts, or [socket] closed.
     * @throws IllegalArgumentException if [timeout] is not positive or [attempts] is below 1.
     */
    public suspend fun discover(
        socket: DatagramTransport,
        ssrc: Long,
        timeout: Duration = 1.seconds,
        attempts: Int = 3,
    ): DiscoveredAddress {
        require(timeout.isPositive()) { "timeout must be positive, was $timeout" }
        require(attempts >= 1) { "attempts must be at least 1, was $attempts" }
        val request = request(ssrc)
        val buffer = ByteArray(VoiceConstants.MAX_DATAGRAM)
        for (attempt in 1..attempts) {
            socket.send(request, 0, request.size)
            withTimeoutOrNull(timeout) { awaitResponse(socket, buffer, attempt, attempts) }?.let { return it }
        }
        throw IpDiscoveryException(
            "IP discovery to ${socket.remote}: no valid response to $attempts attempt(s) over ${timeout * attempts} " +
                "($timeout each)",
        )
    }

    private suspend fun awaitResponse(socket: DatagramTransport, buffer: ByteArray, attempt: Int, attempts: Int): DiscoveredAddress {
        while (true) {
            val n = socket.poll(buffer)
            when {
                n == DatagramSource.EMPTY -> socket.awaitReadable()
                n == DatagramSource.CLOSED -> throw IpDiscoveryException(
                    "IP discovery to ${socket.remote}: the socket closed during attempt $attempt of $attempts",
                )
                else -> parseResponse(buffer, n)?.let { return it }
            }
        }
    }
}
