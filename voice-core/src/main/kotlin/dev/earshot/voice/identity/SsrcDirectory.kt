package dev.earshot.voice.identity

import org.slf4j.LoggerFactory
import java.util.concurrent.CopyOnWriteArrayList
import java.util.concurrent.atomic.AtomicReferenceArray

/**
 * The SSRC-to-user map of one voice connection, fed by the voice gateway (op 5 Speaking, op 12 Video) and read by
 * the receive pipeline for every packet.
 *
 * Bounded: it keeps at most [capacity] SSRCs (default [DEFAULT_CAPACITY], far more than a Discord call has, even
 * counting video and screen-share streams). A new SSRC beyond that evicts the one mapped longest ago, so a server that
 * hands out new SSRCs without ever sending op 13 cannot grow it, and new speakers still resolve; evictions are counted
 * ([evictions]) and logged at debug.
 *
 * Thread-safe. Writes take a lock and cost O(1) (amortised); reads ([userOf]) take no lock and allocate nothing: the
 * table is an open-addressing array of immutable entries, replaced whole only when it grows or is compacted, so a
 * reader on another thread sees for each SSRC either its current mapping, a just-replaced one, or none.
 */
public class SsrcDirectory @JvmOverloads constructor(
    /** How many SSRCs are kept at most; at least 1. */
    public val capacity: Int = DEFAULT_CAPACITY,
) {
    init {
        require(capacity >= 1) { "capacity must be at least 1, was $capacity" }
    }

    private class Entry(@JvmField val ssrc: Long, @JvmField val userId: Long)

    // Readers probe this array; the writer changes single slots of it, or publishes a new one.
    @Volatile
    private var slots = AtomicReferenceArray<Entry?>(INITIAL_SLOTS)

    // Guarded by lock: live entries and tombstones in slots, and the SSRCs in mapping order (oldest first).
    private val lock = Any()
    private var live = 0
    private var tombstones = 0
    private val order = LinkedHashMap<Long, Long>()
    private var evicted = 0L
    private val listeners = CopyOnWriteArrayList<() -> Unit>()

    /** SSRCs mapped now. */
    public val size: Int get() = synchronized(lock) { live }

    /** SSRC mappings dropped to stay within [capacity] since creation. */
    public val evictions: Long get() = synchronized(lock) { evicted }

    /**
     * Records that [ssrc] belongs to [userId]; returns the user it belonged to before, if another. Over [capacity],
     * the SSRC mapped longest ago is forgotten first.
     */
    public fun map(ssrc: Long, userId: Long): Long? {
        val previous: Long?
        synchronized(lock) {
            previous = order[ssrc]
            if (previous == userId) return null
            if (previous != null) {
                // Another user took the SSRC: it counts as new for eviction order.
                order.remove(ssrc)
                replace(ssrc, Entry(ssrc, userId))
            } else {
                if (live >= capacity) evictOldest()
                insert(Entry(ssrc, userId))
            }
            order[ssrc] = userId
        }
        listeners.forEach { it() }
        return previous
    }

    /** Forgets [ssrc]. */
    public fun unmap(ssrc: Long) {
        synchronized(lock) {
            if (order.remove(ssrc) != null) delete(ssrc)
        }
    }

    /** Forgets [ssrc] if it is still mapped to [userId] (not remapped to someone else since). */
    internal fun unmapIf(ssrc: Long, userId: Long) {
        synchronized(lock) {
            if (order[ssrc] == userId && order.remove(ssrc) != null) delete(ssrc)
        }
    }

    /** Forgets every SSRC of [userId] (op 13: the user left); returns those SSRCs. */
    public fun unmapUser(userId: Long): List<Long> {
        val removed = ArrayList<Long>()
        synchronized(lock) {
            order.entries.removeIf { (ssrc, user) -> (user == userId).also { if (it) removed += ssrc } }
            removed.forEach(::delete)
        }
        return removed
    }

    /** The user of [ssrc], or -1 when unknown. Lock-free and allocation-free, for the hot path. */
    public fun userOf(ssrc: Long): Long {
        val t = slots
        val mask = t.length() - 1
        var i = mix(ssrc) and mask
        while (true) {
            val e = t.get(i) ?: return UNKNOWN
            if (e.ssrc == ssrc && e !== TOMBSTONE) return e.userId
            i = (i + 1) and mask
        }
    }

    /** SSRCs currently mapped to [userId]. */
    public fun ssrcsOf(userId: Long): List<Long> = synchronized(lock) {
        order.entries.filter { it.value == userId }.map { it.key }
    }

    /** A copy of the whole map. */
    public fun snapshot(): Map<Long, Long> = synchronized(lock) { HashMap(order) }

    /** Registers [listener], called (on the writer's thread) after each new mapping. */
    internal fun onMapped(listener: () -> Unit): AutoCloseable {
        listeners += listener
        return AutoCloseable { listeners -= listener }
    }

    // ---- the table; all under lock ----

    private fun evictOldest() {
        val it = order.entries.iterator()
        val oldest = it.next()
        it.remove()
        delete(oldest.key)
        evicted++
        log.debug("SSRC directory full ({} SSRCs): forgot SSRC {} of user {}", capacity, oldest.key, oldest.value)
    }

    /** Puts [e] in the first free or deleted slot of its chain; its SSRC is known to be absent. */
    private fun insert(e: Entry) {
        if ((live + tombstones + 1) * 2 > slots.length()) rebuild()
        val t = slots
        val mask = t.length() - 1
        var i = mix(e.ssrc) and mask
        while (true) {
            val cur = t.get(i)
            if (cur == null || cur === TOMBSTONE) {
                if (cur === TOMBSTONE) tombstones--
                t.set(i, e)
                live++
                return
            }
            i = (i + 1) and mask
        }
    }

    private fun replace(ssrc: Long, e: Entry) {
        val i = find(ssrc)
        if (i >= 0) slots.set(i, e)
    }

    private fun delete(ssrc: Long) {
        val i = find(ssrc)
        if (i < 0) return
        // A tombstone, not a backward shift: a reader in the middle of this chain must still find what follows.
        slots.set(i, TOMBSTONE)
        live--
        tombstones++
    }

    private fun find(ssrc: Long): Int {
        val t = slots
        val mask = t.length() - 1
        var i = mix(ssrc) and mask
        while (true) {
            val e = t.get(i) ?: return -1
            if (e.ssrc == ssrc && e !== TOMBSTONE) return i
            i = (i + 1) and mask
        }
    }

    /**
     * A fresh table without tombstones and at least three times the live entries, so that many writes pass before it
     * is half full again (every probe ends at an empty slot), published whole: readers of the old one still see a
     * consistent table, which the writer no longer changes.
     */
    private fun rebuild() {
        var size = INITIAL_SLOTS
        while (size < (live + 1) * 3) size = size shl 1
        val next = AtomicReferenceArray<Entry?>(size)
        val old = slots
        val mask = size - 1
        for (k in 0 until old.length()) {
            val e = old.get(k) ?: continue
            if (e === TOMBSTONE) continue
            var i = mix(e.ssrc) and mask
            while (next.get(i) != null) i = (i + 1) and mask
            next.set(i, e)
        }
        tombstones = 0
        slots = next
    }

    public companion object {
        /** Returned by [userOf] for an SSRC with no known user. */
        public const val UNKNOWN: Long = -1L

        /** SSRCs kept at most by default (4096). */
        public const val DEFAULT_CAPACITY: Int = 4096

        private const val INITIAL_SLOTS = 16
        private val TOMBSTONE = Entry(-1L, UNKNOWN)
        private val log = LoggerFactory.getLogger(SsrcDirectory::class.java)

        private fun mix(key: Long): Int {
            val h = key * -0x61c8864680b583ebL
            return (h xor (h ushr 32)).toInt()
        }
    }
}
