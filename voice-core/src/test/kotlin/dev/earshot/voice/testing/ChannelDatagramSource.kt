package dev.earshot.voice.testing

import dev.earshot.voice.datagram.DatagramSource
import kotlinx.coroutines.channels.Channel

/** A [DatagramSource] fed by a channel, standing in for the UDP socket. Closing the channel ends the source. */
class ChannelDatagramSource(capacity: Int = Channel.UNLIMITED) : DatagramSource {
    val channel = Channel<ByteArray>(capacity)
    private var pending: ByteArray? = null
    private var closed = false

    override fun poll(buffer: ByteArray): Int {
        var d = pending?.also { pending = null }
        if (d == null) {
            val r = channel.tryReceive()
            if (r.isClosed) closed = true
            d = r.getOrNull() ?: return if (closed) DatagramSource.CLOSED else DatagramSource.EMPTY
        }
        d.copyInto(buffer, 0, 0, minOf(d.size, buffer.size))
        return d.size
    }

    override suspend fun awaitReadable() {
        if (pending != null) return
        pending = channel.receiveCatching().getOrNull()
        if (pending == null) closed = true
    }

    fun offer(datagram: ByteArray) {
        channel.trySend(datagram).getOrThrow()
    }

    fun close() {
        channel.close()
    }
}
