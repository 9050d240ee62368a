package dev.earshot.voice.pipeline

import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.channels.ChannelIterator
import kotlinx.coroutines.channels.ReceiveChannel
import kotlinx.coroutines.channels.SendChannel

/**
 * The bounded queue between two pipeline stages: [offer] never suspends; when the queue is full the oldest element is
 * dropped and handed to [onDrop] (which counts it and returns its buffer to the pool).
 *
 * Built on a plain buffered channel with the drop done here rather than with `BufferOverflow.DROP_OLDEST`, whose send
 * path does extra bookkeeping on every element; each queue has a single producer, so the manual drop is race-free.
 */
internal class StageChannel(capacity: Int, private val onDrop: (ReceivedPacket) -> Unit) {
    private val channel = Channel<ReceivedPacket>(capacity)

    val receiver: ReceiveChannel<ReceivedPacket> get() = channel

    /** Enqueues [p], dropping the oldest element if full; [p] itself is dropped only if the queue is closed. */
    fun offer(p: ReceivedPacket) {
        if (channel.trySend(p).isSuccess) return
        channel.tryReceive().getOrNull()?.let(onDrop)
        if (channel.trySend(p).isFailure) onDrop(p)
    }

    fun close() {
        channel.close()
    }

    operator fun iterator(): ChannelIterator<ReceivedPacket> = channel.iterator()
}
