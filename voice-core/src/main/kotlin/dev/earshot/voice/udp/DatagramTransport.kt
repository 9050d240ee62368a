package dev.earshot.voice.udp

import dev.earshot.voice.datagram.DatagramSink
import dev.earshot.voice.datagram.DatagramSource
import java.net.InetSocketAddress

/**
 * A datagram link to one peer, both ways: what [IpDiscovery.discover] needs. [UdpSocket] is the real one; tests
 * implement it over channels so that discovery runs in virtual time.
 */
public interface DatagramTransport : DatagramSource, DatagramSink {
    /** The peer that [send] writes to and whose datagrams [poll] returns (the voice server's `ip:port` from Ready). */
    public val remote: InetSocketAddress
}
