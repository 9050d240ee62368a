package dev.earshot.voice.datagram

/**
 * Where the receive pipeline reads datagrams from: the UDP socket in production, a channel in tests. This seam keeps
 * the whole receive path testable without a network.
 *
 * It is shaped as a non-blocking [poll] plus a suspending [awaitReadable] so the reader drains whatever is waiting
 * without suspending (or allocating a continuation, or boxing a length) per datagram, and suspends only when idle.
 */
public interface DatagramSource {
    /**
     * Copies the next waiting datagram into [buffer] from index 0 and returns its length; a datagram longer than the
     * buffer is truncated and its full length returned, so the caller can tell. Returns [EMPTY] when nothing is
     * waiting and [CLOSED] once the source has ended for good. Never blocks.
     */
    public fun poll(buffer: ByteArray): Int

    /** Suspends until [poll] may return a datagram or [CLOSED]; may return early (the reader polls again). */
    public suspend fun awaitReadable()

    public companion object {
        /** [poll]: nothing waiting right now. */
        public const val EMPTY: Int = -2
        /** [poll]: the source has ended. */
        public const val CLOSED: Int = -1
    }
}
