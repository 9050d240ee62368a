package dev.earshot.voice.udp

import org.slf4j.LoggerFactory
import java.io.IOException
import java.nio.channels.CancelledKeyException
import java.nio.channels.ClosedSelectorException
import java.nio.channels.DatagramChannel
import java.nio.channels.SelectionKey
import java.nio.channels.Selector

/**
 * The one selector thread shared by every [UdpSocket] in the JVM (as ktor's SelectorManager, but a plain daemon
 * thread): it waits for sockets whose reader asked for [SelectionKey.OP_READ], clears that interest (so that a
 * readable socket nobody waits on cannot make it spin) and wakes the socket's reader. Started on first use; it never
 * runs user code and lives as long as the JVM.
 */
internal object UdpSelector {
    private val log = LoggerFactory.getLogger(UdpSelector::class.java)

    private val selector: Selector by lazy {
        Selector.open().also { s ->
            Thread({ loop(s) }, "earshot-udp-selector").apply { isDaemon = true }.start()
        }
    }

    /** Registers [channel] (non-blocking) with no interest; [socket] is woken when it becomes readable. */
    fun register(channel: DatagramChannel, socket: UdpSocket): SelectionKey = channel.register(selector, 0, socket)

    /**
     * Asks for one wake-up of [key]'s socket when it is readable. The interest change is only applied by the next
     * select, so the selector is woken to pick it up.
     * @throws CancelledKeyException if the socket was closed meanwhile.
     */
    fun wantRead(key: SelectionKey) {
        key.interestOps(SelectionKey.OP_READ)
        selector.wakeup()
    }

    /** Makes the selector run a select now, which also releases closed channels (their ports) for good. */
    fun wakeup() {
        selector.wakeup()
    }

    private fun loop(s: Selector) {
        while (true) {
            try {
                s.select(::onReady)
            } catch (e: ClosedSelectorException) {
                return
            } catch (e: IOException) {
                // Not expected from epoll/kqueue; keep serving the other sockets rather than strand their readers.
                log.warn("UDP selector failed to select; retrying", e)
            }
        }
    }

    private fun onReady(key: SelectionKey) {
        try {
            // Interest off before the wake-up: the reader re-arms it when it next finds the socket empty.
            key.interestOps(0)
        } catch (_: CancelledKeyException) {
            // Closed meanwhile; close() wakes the reader itself.
        }
        (key.attachment() as UdpSocket).wakeReader()
    }
}
