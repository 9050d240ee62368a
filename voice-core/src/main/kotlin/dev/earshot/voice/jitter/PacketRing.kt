package dev.earshot.voice.jitter

/**
 * A [JitterBuffer]'s storage: [capacity] packet slots indexed by `seq mod capacity` (unwrapped sequence numbers), with
 * each packet's sequence number, RTP timestamp, duration and silence flag in parallel primitive arrays beside it, so
 * insert and lookup are O(1), memory is bounded whatever arrives, and nothing is boxed. Which packets may be stored
 * (every stored seq lies in `[nextSeq, nextSeq + capacity)`) is the buffer's business.
 */
internal class PacketRing<T : Any>(val capacity: Int) {
    val items = arrayOfNulls<Any>(capacity)
    val seqs = LongArray(capacity)
    val timestamps = LongArray(capacity)
    val durations = IntArray(capacity)
    val silence = BooleanArray(capacity)

    /** Packets stored. */
    var size: Int = 0
        private set

    /** Stores [packet] and its figures in [slot], which must be empty. */
    fun put(slot: Int, seq: Long, timestamp: Long, duration: Int, isSilence: Boolean, packet: T) {
        items[slot] = packet
        seqs[slot] = seq
        timestamps[slot] = timestamp
        durations[slot] = duration
        silence[slot] = isSilence
        size++
    }

    fun take(slot: Int): T {
        @Suppress("UNCHECKED_CAST")
        val v = items[slot] as T
        items[slot] = null
        size--
        return v
    }

    fun lowestSlot(nextSeq: Long): Int {
        if (size == 0) return -1
        // Scan forward from nextSeq: every stored seq lies in [nextSeq, nextSeq + capacity).
        for (i in 0 until capacity) {
            val slot = slotOf(nextSeq + i)
            if (items[slot] != null && seqs[slot] == nextSeq + i) return slot
        }
        return -1
    }

    fun slotOf(seq: Long): Int = Math.floorMod(seq, capacity.toLong()).toInt()
}
