package dev.earshot.voice.datagram

/**
 * Where the sending side writes datagrams: the UDP socket connected to the voice server in production, a channel in
 * tests. The counterpart of [DatagramSource].
 */
public interface DatagramSink {
    /**
     * Sends `buffer[offset until offset + length]` as one datagram to the voice server. Never blocks and never
     * throws for a per-packet problem: returns false when the datagram was dropped (send buffer full, socket closed).
     */
    public fun send(buffer: ByteArray, offset: Int, length: Int): Boolean
}
