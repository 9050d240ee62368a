package dev.earshot.voice.testkit

import java.util.concurrent.atomic.AtomicLong

/**
 * A snapshot of a [VoiceTestServer]'s counters since it started (all endpoints together).
 *
 * @property datagramsIn every UDP datagram received.
 * @property rtpIn RTP audio packets from clients that authenticated and were forwarded/captured.
 * @property rtcpIn RTCP packets received (counted, otherwise ignored).
 * @property keepalivesIn keepalive/ping datagrams received (echoed when [TestServerConfig.echoKeepalives]).
 * @property discoveryRequests IP discovery requests answered.
 * @property badPackets datagrams dropped as malformed, unauthenticated, of an unexpected SSRC or payload type.
 * @property unknownSource datagrams from an address no session is bound to.
 * @property noKeyDrops RTP from a client before it had a key (no Select Protocol yet).
 * @property packetsOut datagrams sent to clients (forwarded and scripted audio, discovery replies and echoes excluded).
 * @property droppedByFaults datagrams not sent because of fault injection (loss and bursts).
 * @property duplicated extra copies sent by fault injection.
 * @property corrupted datagrams sent with a flipped byte.
 * @property reordered datagrams held back for reordering.
 * @property wsConnections WebSocket connections accepted.
 * @property wsMessagesIn text and binary messages received.
 * @property wsMessagesOut text and binary messages sent.
 * @property wsBadMessages messages that were not valid JSON gateway payloads (each closes with 4002).
 * @property wsIgnored messages with an opcode the server ignores, binary messages that are not DAVE's op 26 or 28
 *   (or arrive before Identify), and DAVE messages when the server does not offer DAVE.
 * @property daveRejected DAVE messages (key packages, commits, ready and invalid reports) dropped as malformed or
 *   out of place; a commit that merely lost the race for its epoch is not counted.
 * @property internalErrors exceptions caught inside the server while handling a message or datagram (a bug in the
 *   testkit, logged at warn; the connection or datagram concerned is dropped). Stays 0.
 */
public data class ServerStats(
    val datagramsIn: Long,
    val rtpIn: Long,
    val rtcpIn: Long,
    val keepalivesIn: Long,
    val discoveryRequests: Long,
    val badPackets: Long,
    val unknownSource: Long,
    val noKeyDrops: Long,
    val packetsOut: Long,
    val droppedByFaults: Long,
    val duplicated: Long,
    val corrupted: Long,
    val reordered: Long,
    val wsConnections: Long,
    val wsMessagesIn: Long,
    val wsMessagesOut: Long,
    val wsBadMessages: Long,
    val wsIgnored: Long,
    val internalErrors: Long,
    val daveRejected: Long,
)

/**
 * A snapshot of one client session's packet counters.
 *
 * @property packetsIn RTP audio packets from this client that authenticated.
 * @property badPackets packets from this client's address that were dropped (bad SSRC, failed authentication...).
 * @property keepalivesIn keepalives from this client.
 * @property packetsOut datagrams sent to this client (after faults, duplicates included).
 * @property droppedByFaults datagrams to this client dropped by fault injection.
 * @property duplicated extra copies sent to this client.
 * @property corrupted datagrams sent to this client with a flipped byte.
 * @property reordered datagrams to this client held back for reordering.
 */
public data class ClientStats(
    val packetsIn: Long,
    val badPackets: Long,
    val keepalivesIn: Long,
    val packetsOut: Long,
    val droppedByFaults: Long,
    val duplicated: Long,
    val corrupted: Long,
    val reordered: Long,
)

/** Live counters behind [ServerStats]. */
internal class ServerCounters {
    val datagramsIn = AtomicLong()
    val rtpIn = AtomicLong()
    val rtcpIn = AtomicLong()
    val keepalivesIn = AtomicLong()
    val discoveryRequests = AtomicLong()
    val badPackets = AtomicLong()
    val unknownSource = AtomicLong()
    val noKeyDrops = AtomicLong()
    val packetsOut = AtomicLong()
    val droppedByFaults = AtomicLong()
    val duplicated = AtomicLong()
    val corrupted = AtomicLong()
    val reordered = AtomicLong()
    val wsConnections = AtomicLong()
    val wsMessagesIn = AtomicLong()
    val wsMessagesOut = AtomicLong()
    val wsBadMessages = AtomicLong()
    val wsIgnored = AtomicLong()
    val internalErrors = AtomicLong()
    val daveRejected = AtomicLong()

    fun snapshot(): ServerStats = ServerStats(
        datagramsIn.get(), rtpIn.get(), rtcpIn.get(), keepalivesIn.get(), discoveryRequests.get(), badPackets.get(),
        unknownSource.get(), noKeyDrops.get(), packetsOut.get(), droppedByFaults.get(), duplicated.get(),
        corrupted.get(), reordered.get(), wsConnections.get(), wsMessagesIn.get(), wsMessagesOut.get(),
        wsBadMessages.get(), wsIgnored.get(), internalErrors.get(), daveRejected.get(),
    )
}

/** Live counters behind [ClientStats]. */
internal class ClientCounters {
    val packetsIn = AtomicLong()
    val badPackets = AtomicLong()
    val keepalivesIn = AtomicLong()
    val packetsOut = AtomicLong()
    val droppedByFaults = AtomicLong()
    val duplicated = AtomicLong()
    val corrupted = AtomicLong()
    val reordered = AtomicLong()

    fun snapshot(): ClientStats = ClientStats(
        packetsIn.get(), badPackets.get(), keepalivesIn.get(), packetsOut.get(), droppedByFaults.get(),
        duplicated.get(), corrupted.get(), reordered.get(),
    )
}
