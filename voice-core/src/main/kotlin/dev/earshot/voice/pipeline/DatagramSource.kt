package dev.earshot.voice.pipeline

/**
 * Where the receive pipeline reads datagrams from: the UDP socket in production, a channel in tests. This seam keeps
 * the whole receive path testable without a network.
 */
public fun interface DatagramSource {
    /**
     * Suspends until a datagram arrives and copies it into [buffer] from index 0. Returns its length (a datagram
     * longer than the buffer is truncated and its full length returned, so the caller can tell), or -1 when the
     * source is closed for good.
     */
    public suspend fun receive(buffer: ByteArray): Int
}
