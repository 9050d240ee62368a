package dev.earshot.voice.identity

import dev.earshot.voice.internal.LongMap
import java.util.concurrent.CopyOnWriteArrayList

/**
 * The SSRC-to-user map of one voice connection, fed by the voice gateway (op 5 Speaking, op 12 Video) and read by
 * the receive pipeline for every packet. Thread-safe: writes are rare and copy the table; reads are lock-free and
 * allocation-free.
 */
public class SsrcDirectory {
    @Volatile
    private var table = LongMap<Mapping>()
    private val lock = Any()
    private val listeners = CopyOnWriteArrayList<() -> Unit>()

    private class Mapping(val userId: Long)

    /** Records that [ssrc] belongs to [userId]; returns the user it belonged to before, if another. */
    public fun map(ssrc: Long, userId: Long): Long? {
        val previous: Long?
        synchronized(lock) {
            val old = table[ssrc]
            if (old?.userId == userId) return null
            previous = old?.userId
            table = copy { it[ssrc] = Mapping(userId) }
        }
        listeners.forEach { it() }
        return previous
    }

    /** Forgets [ssrc]. */
    public fun unmap(ssrc: Long) {
        synchronized(lock) {
            if (table[ssrc] == null) return
            table = copy { it.remove(ssrc) }
        }
    }

    /** Forgets every SSRC of [userId] (op 13: the user left); returns those SSRCs. */
    public fun unmapUser(userId: Long): List<Long> {
        val removed = ArrayList<Long>()
        synchronized(lock) {
            table.forEach { ssrc, m -> if (m.userId == userId) removed += ssrc }
            if (removed.isNotEmpty()) table = copy { t -> removed.forEach { t.remove(it) } }
        }
        return removed
    }

    /** The user of [ssrc], or -1 when unknown. Allocation-free, for the hot path. */
    public fun userOf(ssrc: Long): Long = table[ssrc]?.userId ?: UNKNOWN

    /** SSRCs currently mapped to [userId]. */
    public fun ssrcsOf(userId: Long): List<Long> {
        val out = ArrayList<Long>()
        table.forEach { ssrc, m -> if (m.userId == userId) out += ssrc }
        return out
    }

    /** A copy of the whole map. */
    public fun snapshot(): Map<Long, Long> {
        val out = HashMap<Long, Long>()
        table.forEach { ssrc, m -> out[ssrc] = m.userId }
        return out
    }

    /** Registers [listener], called (on the writer's thread) after each new mapping. */
    internal fun onMapped(listener: () -> Unit): AutoCloseable {
        listeners += listener
        return AutoCloseable { listeners -= listener }
    }

    private inline fun copy(edit: (LongMap<Mapping>) -> Unit): LongMap<Mapping> {
        val next = LongMap<Mapping>(table.size + 1)
        table.forEach { k, v -> next[k] = v }
        edit(next)
        return next
    }

    public companion object {
        /** Returned by [userOf] for an SSRC with no known user. */
        public const val UNKNOWN: Long = -1L
    }
}
