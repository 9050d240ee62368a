package dev.earshot.voice.testing

import dev.earshot.voice.pipeline.DatagramSource
import kotlinx.coroutines.channels.Channel

/** A [DatagramSource] fed by a channel, standing in for the UDP socket. Closing the channel ends the source. */
class ChannelDatagramSource(capacity: Int = Channel.UNLIMITED) : DatagramSource {
    val channel = Channel<ByteArray>(capacity)

    override suspend fun receive(buffer: ByteArray): Int {
        val d = channel.receiveCatching().getOrNull() ?: return -1
        d.copyInto(buffer, 0, 0, minOf(d.size, buffer.size))
        return d.size
    }

    fun offer(datagram: ByteArray) {
        channel.trySend(datagram).getOrThrow()
    }

    fun close() {
        channel.close()
    }
}
