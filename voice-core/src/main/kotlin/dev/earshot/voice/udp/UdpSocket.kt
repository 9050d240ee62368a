package dev.earshot.voice.udp

import dev.earshot.voice.datagram.DatagramSource
import kotlinx.coroutines.CancellableContinuation
import kotlinx.coroutines.DisposableHandle
import kotlinx.coroutines.Job
import kotlinx.coroutines.suspendCancellableCoroutine
import org.slf4j.LoggerFactory
import java.io.IOException
import java.net.Inet6Address
import java.net.InetAddress
import java.net.InetSocketAddress
import java.net.StandardProtocolFamily
import java.net.StandardSocketOptions
import java.nio.ByteBuffer
import java.nio.channels.CancelledKeyException
import java.nio.channels.ClosedChannelException
import java.nio.channels.DatagramChannel
import java.nio.channels.SelectionKey
import java.util.Objects
import java.util.concurrent.atomic.AtomicBoolean
import java.util.concurrent.atomic.AtomicReference
import kotlin.coroutines.resume

/**
 * One UDP socket connected to a voice server: the [DatagramSource] of the receive pipeline and the [DatagramSink] of
 * the sending side. A non-blocking NIO `DatagramChannel`, `connect`ed to [remote] so the OS drops datagrams from
 * anyone else.
 *
 * **Reading** ([poll], [awaitReadable]) is for one coroutine at a time. [poll] receives into a direct buffer owned by
 * the socket, large enough for any UDP datagram, and copies into the caller's array: no allocation per datagram
 * whatever array the caller passes (the pipeline passes a different pooled array each time), and the **exact** full
 * length of a datagram longer than the array is known and returned (the array holds its first `buffer.size` bytes).
 * [awaitReadable] parks the reader on one selector thread shared by all sockets in the JVM.
 *
 * **Sending** ([send]) is thread-safe (audio, keepalives and IP discovery may send from different coroutines) and
 * never blocks: a datagram the OS will not take right now is dropped and counted in [sendDropped].
 *
 * Errors on the wire never throw: an ICMP port-unreachable or other I/O error on read is counted in [readErrors] and
 * the read carries on; on send it is counted in [sendDropped]. After [close], [poll] returns [DatagramSource.CLOSED],
 * a waiting reader wakes at once, and [send] returns false.
 */
public class UdpSocket private constructor(
    private val channel: DatagramChannel,
    override val remote: InetSocketAddress,
) : DatagramTransport, AutoCloseable {
    /** The local address and ephemeral port the socket is bound to (after connecting, the concrete local address). */
    public val localAddress: InetSocketAddress = channel.localAddress as InetSocketAddress

    /** Datagrams sent. */
    @Volatile
    public var sent: Long = 0
        private set

    /** Datagrams [send] did not send (OS buffer full, I/O error such as a reported port-unreachable, closed, too long). */
    @Volatile
    public var sendDropped: Long = 0
        private set

    /** Datagrams [poll] returned. */
    @Volatile
    public var received: Long = 0
        private set

    /** I/O errors reported on read (ICMP port-unreachable from an earlier send, and the like); never thrown. */
    @Volatile
    public var readErrors: Long = 0
        private set

    /** True once [close] has been called. */
    public val isClosed: Boolean get() = closed.get()

    private val closed = AtomicBoolean(false)
    private val receiveBuffer = ByteBuffer.allocateDirect(MAX_UDP_PAYLOAD)
    private val sendBuffer = ByteBuffer.allocateDirect(MAX_UDP_PAYLOAD)
    private val sendLock = Any()
    private val waiter = AtomicReference<CancellableContinuation<Unit>?>(null)
    private val wakeOnInterrupt: (Throwable?) -> Unit = { wakeReader() }
    private val key: SelectionKey = UdpSelector.register(channel, this)

    /**
     * Receives the next waiting datagram into [buffer] from index 0 and returns its full length; if it is longer
     * than [buffer], the first `buffer.size` bytes are copied and the full length is still returned. Returns
     * [DatagramSource.EMPTY] when nothing is waiting and [DatagramSource.CLOSED] after [close]. Never blocks; an
     * empty datagram returns 0.
     */
    override fun poll(buffer: ByteArray): Int {
        if (closed.get()) return DatagramSource.CLOSED
        val rb = receiveBuffer
        var errors = 0
        while (true) {
            rb.clear()
            val from = try {
                channel.receive(rb)
            } catch (e: ClosedChannelException) {
                close()
                return DatagramSource.CLOSED
            } catch (e: IOException) {
                // The OS reports an ICMP error (e.g. port unreachable) once, on the next read or write; the datagrams
                // behind it are still there, so read on. The bound keeps a persistent error from looping here.
                readErrors++
                log.debug("UDP read error on {} (counted, ignored): {}", this, e.toString())
                if (++errors == MAX_ERRORS_PER_POLL) return DatagramSource.EMPTY
                continue
            }
            if (from == null) return DatagramSource.EMPTY
            val length = rb.position()
            rb.flip()
            rb.get(buffer, 0, minOf(length, buffer.size))
            received++
            return length
        }
    }

    /**
     * Suspends until the socket has something to read (a datagram or a pending error) or is closed. Cancellable.
     * @throws IllegalStateException if another coroutine is already waiting on this socket.
     */
    override suspend fun awaitReadable() {
        awaitReadable(null)
    }

    /**
     * [awaitReadable] that also returns when [interrupt] completes; [SwitchableDatagramSource] passes its switch
     * signal, so that a switch wakes a reader parked here without a coroutine per wait to cancel.
     */
    internal suspend fun awaitReadable(interrupt: Job?) {
        if (closed.get()) return
        var handle: DisposableHandle? = null
        try {
            suspendCancellableCoroutine { cont ->
                // No cancellation handler (it would allocate on every wait): a cancelled waiter is simply replaced
                // here, and resuming it, should the selector get there first, does nothing.
                while (true) {
                    val previous = waiter.get()
                    check(previous == null || previous.isCancelled) { "another coroutine is already waiting to read $this" }
                    if (waiter.compareAndSet(previous, cont)) break
                }
                // Runs at once if the interrupt has already happened.
                if (interrupt != null) handle = interrupt.invokeOnCompletion(wakeOnInterrupt)
                // Re-checked after publishing the waiter: either close() sees the waiter or this sees the close.
                if (closed.get()) {
                    wakeReader()
                } else {
                    try {
                        UdpSelector.wantRead(key)
                    } catch (_: CancelledKeyException) {
                        wakeReader()
                    }
                }
            }
        } finally {
            handle?.dispose()
        }
    }

    /**
     * Sends `buffer[offset until offset + length]` to [remote] as one datagram without blocking. Thread-safe.
     * Returns false, counting it in [sendDropped], when the datagram was not sent: the OS send buffer is full, an
     * I/O error was reported (an ICMP port-unreachable from an earlier datagram is reported this way), the socket is
     * closed, or [length] exceeds the largest UDP payload (65,507 bytes). An empty datagram counts as sent.
     * @throws IndexOutOfBoundsException if the range lies outside [buffer] (a caller bug).
     */
    override fun send(buffer: ByteArray, offset: Int, length: Int): Boolean {
        Objects.checkFromIndexSize(offset, length, buffer.size)
        synchronized(sendLock) {
            if (closed.get() || length > MAX_UDP_PAYLOAD) return dropped(null)
            val sb = sendBuffer
            sb.clear()
            sb.put(buffer, offset, length)
            sb.flip()
            val written = try {
                channel.write(sb)
            } catch (e: ClosedChannelException) {
                return dropped(null)
            } catch (e: IOException) {
                return dropped(e)
            }
            // A non-blocking datagram write sends all or nothing: 0 means the send buffer was full.
            if (written == 0 && length > 0) return dropped(null)
            sent++
            return true
        }
    }

    private fun dropped(e: IOException?): Boolean {
        sendDropped++
        if (e != null) log.debug("UDP send error on {} (counted, dropped): {}", this, e.toString())
        return false
    }

    /**
     * Closes the socket: a reader waiting in [awaitReadable] returns at once, [poll] returns
     * [DatagramSource.CLOSED] and [send] returns false from now on. Idempotent; the port is released by the shared
     * selector thread right after.
     */
    override fun close() {
        if (!closed.compareAndSet(false, true)) return
        try {
            channel.close()
        } catch (e: IOException) {
            log.debug("closing {} failed: {}", this, e.toString())
        }
        // A registered channel's file descriptor is released when the selector next runs.
        UdpSelector.wakeup()
        wakeReader()
    }

    /** Resumes the waiting reader, if any; called by the selector thread and by [close]. */
    internal fun wakeReader() {
        waiter.getAndSet(null)?.resume(Unit)
    }

    override fun toString(): String = "UdpSocket($localAddress -> $remote)"

    /** Opens sockets. */
    public companion object {
        /** Largest UDP payload over IPv4, in bytes (65,535 minus the IP and UDP headers). */
        public const val MAX_UDP_PAYLOAD: Int = 65_507

        /** The receive buffer size [open] asks the OS for, in bytes (the OS may cap it, e.g. Linux at `rmem_max`). */
        public const val RECEIVE_BUFFER_BYTES: Int = 1 shl 20

        private const val MAX_ERRORS_PER_POLL = 16
        private val log = LoggerFactory.getLogger(UdpSocket::class.java)

        /**
         * Opens a non-blocking UDP socket connected to [remote]: the protocol family follows [remote]'s address; the
         * socket binds an ephemeral port on the loopback address when [remote] is a loopback address and on the
         * wildcard address otherwise, and asks for a [RECEIVE_BUFFER_BYTES] receive buffer so bursts are not lost.
         * @throws IllegalArgumentException if [remote] is unresolved.
         * @throws IOException if the socket cannot be opened, bound or connected (e.g. no route to [remote]).
         */
        public fun open(remote: InetSocketAddress): UdpSocket {
            require(!remote.isUnresolved) { "remote address $remote is unresolved" }
            val address = remote.address
            val ipv6 = address is Inet6Address
            val channel = DatagramChannel.open(if (ipv6) StandardProtocolFamily.INET6 else StandardProtocolFamily.INET)
            try {
                channel.setOption(StandardSocketOptions.SO_RCVBUF, RECEIVE_BUFFER_BYTES)
                channel.bind(if (address.isLoopbackAddress) InetSocketAddress(loopback(ipv6), 0) else null)
                channel.connect(remote)
                channel.configureBlocking(false)
                return UdpSocket(channel, remote)
            } catch (e: Throwable) {
                channel.close()
                throw e
            }
        }

        private fun loopback(ipv6: Boolean): InetAddress =
            InetAddress.getByAddress(if (ipv6) ByteArray(16).also { it[15] = 1 } else byteArrayOf(127, 0, 0, 1))
    }
}
