package dev.earshot.voice.udp

import dev.earshot.voice.datagram.DatagramSink
import dev.earshot.voice.datagram.DatagramSource
import dev.earshot.voice.testing.ChannelDatagramSource
import java.net.InetSocketAddress
import java.nio.ByteBuffer
import java.nio.channels.DatagramChannel

/** A [DatagramTransport] over a channel, for virtual-time tests: [incoming] feeds [poll]; [sends] records each send. */
class FakeTransport(private val now: () -> Long) : DatagramTransport {
    override val remote: InetSocketAddress = InetSocketAddress.createUnresolved("voice.test", 50001)
    val incoming = ChannelDatagramSource()
    val sends = ArrayList<Sent>()
    /** What [send] returns. */
    var accept = true
    /** Called after each send with the datagram and how many sends there have been. */
    var onSend: (ByteArray, Int) -> Unit = { _, _ -> }

    class Sent(val at: Long, val bytes: ByteArray)

    override fun poll(buffer: ByteArray): Int = incoming.poll(buffer)
    override suspend fun awaitReadable() = incoming.awaitReadable()
    override fun send(buffer: ByteArray, offset: Int, length: Int): Boolean {
        val d = buffer.copyOfRange(offset, offset + length)
        sends += Sent(now(), d)
        onSend(d, sends.size)
        return accept
    }
}

/** A [DatagramSink] that records what it is given, with the time. */
class RecordingSink(private val now: () -> Long, var accept: Boolean = true) : DatagramSink {
    val sends = ArrayList<FakeTransport.Sent>()
    override fun send(buffer: ByteArray, offset: Int, length: Int): Boolean {
        sends += FakeTransport.Sent(now(), buffer.copyOfRange(offset, offset + length))
        return accept
    }
}

/**
 * A discovery response written field by field from docs/protocol.md section 3.1 (independently of [IpDiscovery]), with
 * knobs to break it.
 */
fun discoveryResponse(
    ip: String,
    port: Int,
    ssrc: Long = 0x11223344L,
    type: Int = 2,
    lengthField: Int = 70,
    terminate: Boolean = true,
): ByteArray {
    val b = ByteBuffer.allocate(74)
    b.putShort(type.toShort()).putShort(lengthField.toShort()).putInt(ssrc.toInt())
    val ascii = ip.toByteArray(Charsets.US_ASCII)
    b.put(ascii)
    if (!terminate) repeat(64 - ascii.size) { b.put('9'.code.toByte()) }
    b.position(72)
    b.putShort(port.toShort())
    return b.array()
}

/** A blocking datagram channel on 127.0.0.1 with an ephemeral port, for the other end of a test socket. */
fun loopbackPeer(): DatagramChannel = DatagramChannel.open().bind(InetSocketAddress("127.0.0.1", 0))

val DatagramChannel.address: InetSocketAddress get() = localAddress as InetSocketAddress

fun DatagramChannel.sendTo(bytes: ByteArray, to: InetSocketAddress) {
    send(ByteBuffer.wrap(bytes), to)
}

/** Reads one datagram the way the pipeline's reader does: poll, and wait only when empty. Null when closed. */
suspend fun DatagramSource.readOne(buffer: ByteArray = ByteArray(2048)): ByteArray? {
    while (true) {
        val n = poll(buffer)
        when {
            n == DatagramSource.EMPTY -> awaitReadable()
            n == DatagramSource.CLOSED -> return null
            else -> return buffer.copyOf(minOf(n, buffer.size))
        }
    }
}
