package dev.earshot.voice.udp

import dev.earshot.voice.datagram.DatagramSource
import kotlinx.coroutines.CompletableJob
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.Job
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.launch
import java.util.concurrent.atomic.AtomicReference

/**
 * The receive pipeline's [DatagramSource] for a whole voice connection, which outlives its UDP sockets: a full
 * reconnect [attach]es a new socket and the same receiver (and every recording behind it) carries on.
 *
 * It reads from whatever source is attached. While nothing is attached, or the attached source has ended, [poll]
 * returns [DatagramSource.EMPTY] (not CLOSED) and [awaitReadable] suspends until the next [attach], [detach] or
 * [finish]; only [finish] ends it for good. [attach], [detach] and [finish] may be called from any thread at any
 * time; a reader suspended in the previous source's `awaitReadable` is woken by each of them (and then reads the new
 * source), so no wake-up is lost across a switch. Datagrams still waiting in a replaced source are not read.
 *
 * Reading ([poll], [awaitReadable]) is for one coroutine at a time, as for every [DatagramSource]. Waiting on an
 * attached [UdpSocket] costs what waiting on the socket costs (the socket takes the switch signal itself); waiting on
 * any other source runs its `awaitReadable` in a child coroutine that a switch cancels, about 1 KB per wait.
 */
public class SwitchableDatagramSource : DatagramSource {
    // Immutable; every switch installs a new State and completes the old one's [changed], waking a waiting reader.
    private class State(val source: DatagramSource?, val finished: Boolean) {
        val changed: CompletableJob = Job()
    }

    private val state = AtomicReference(State(null, false))

    // The state whose source returned CLOSED; read and written by the reader only.
    @Volatile
    private var exhausted: State? = null

    /** The source attached now, or null. */
    public val source: DatagramSource? get() = state.get().source

    /** True once [finish] has been called. */
    public val isFinished: Boolean get() = state.get().finished

    /**
     * Makes [source] the one to read from, replacing any attached source (which the caller closes if it is done
     * with it), and wakes a waiting reader. Returns false, attaching nothing, after [finish].
     */
    public fun attach(source: DatagramSource): Boolean = replace(State(source, false))

    /** Stops reading from the attached source, if any; [poll] returns EMPTY until the next [attach]. */
    public fun detach() {
        replace(State(null, false))
    }

    /** Ends this source for good: [poll] returns [DatagramSource.CLOSED] from now on and a waiting reader wakes. Idempotent. */
    public fun finish() {
        replace(FINISHED)
    }

    private fun replace(next: State): Boolean {
        while (true) {
            val old = state.get()
            if (old.finished) return false
            if (state.compareAndSet(old, next)) {
                old.changed.complete()
                return true
            }
        }
    }

    /**
     * Polls the attached source. Returns [DatagramSource.CLOSED] only after [finish]; EMPTY when nothing is attached
     * or the attached source has ended.
     */
    override fun poll(buffer: ByteArray): Int {
        val st = state.get()
        if (st.finished) return DatagramSource.CLOSED
        val s = st.source ?: return DatagramSource.EMPTY
        if (st === exhausted) return DatagramSource.EMPTY
        val n = s.poll(buffer)
        if (n == DatagramSource.CLOSED) {
            exhausted = st
            return DatagramSource.EMPTY
        }
        return n
    }

    /**
     * Suspends until the attached source may have a datagram, or the attachment changes, or [finish]. Cancellable;
     * an error thrown by the attached source's `awaitReadable` propagates.
     */
    override suspend fun awaitReadable() {
        val st = state.get()
        if (st.finished) return
        val s = st.source
        if (s == null || st === exhausted) {
            // Completed already if the state changed since it was read: no lost wake-up.
            st.changed.join()
            return
        }
        if (s is UdpSocket) {
            // The socket's own wait takes the switch signal: no child coroutine per wait.
            s.awaitReadable(st.changed)
            return
        }
        coroutineScope {
            val inner = launch(start = CoroutineStart.UNDISPATCHED) { s.awaitReadable() }
            if (inner.isActive) {
                // Runs at once if the state has already changed.
                val handle = st.changed.invokeOnCompletion { inner.cancel() }
                try {
                    inner.join()
                } finally {
                    handle.dispose()
                }
            }
        }
    }

    override fun toString(): String {
        val st = state.get()
        return if (st.finished) "SwitchableDatagramSource(finished)" else "SwitchableDatagramSource(${st.source})"
    }

    private companion object {
        val FINISHED = State(null, true)
    }
}
