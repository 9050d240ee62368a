package dev.earshot.voice.internal

/**
 * An open-addressing hash map from primitive `long` keys to values, so per-packet lookups by SSRC do not box.
 * Not thread-safe. Linear probing with backward-shift deletion; grows at 50% load.
 */
internal class LongMap<V : Any>(initialCapacity: Int = 16) {
    private var keys = LongArray(tableSize(initialCapacity))
    private var values = arrayOfNulls<Any>(keys.size)
    var size: Int = 0
        private set

    operator fun get(key: Long): V? {
        val mask = keys.size - 1
        var i = mix(key) and mask
        while (true) {
            val v = values[i] ?: return null
            @Suppress("UNCHECKED_CAST")
            if (keys[i] == key) return v as V
            i = (i + 1) and mask
        }
    }

    operator fun set(key: Long, value: V) {
        if ((size + 1) * 2 > keys.size) grow()
        val mask = keys.size - 1
        var i = mix(key) and mask
        while (values[i] != null) {
            if (keys[i] == key) { values[i] = value; return }
            i = (i + 1) and mask
        }
        keys[i] = key
        values[i] = value
        size++
    }

    fun remove(key: Long): V? {
        val mask = keys.size - 1
        var i = mix(key) and mask
        while (true) {
            val v = values[i] ?: return null
            if (keys[i] == key) break
            i = (i + 1) and mask
        }
        @Suppress("UNCHECKED_CAST")
        val old = values[i] as V
        // Backward-shift so that probe chains stay unbroken without tombstones.
        var hole = i
        var j = (i + 1) and mask
        while (values[j] != null) {
            val home = mix(keys[j]) and mask
            val movable = if (hole <= j) home <= hole || home > j else home <= hole && home > j
            if (movable) {
                keys[hole] = keys[j]; values[hole] = values[j]; hole = j
            }
            j = (j + 1) and mask
        }
        values[hole] = null
        size--
        return old
    }

    fun clear() {
        values.fill(null)
        size = 0
    }

    /** Calls [action] for each entry; the map must not be modified meanwhile. */
    inline fun forEach(action: (Long, V) -> Unit) {
        val ks = keysArray()
        val vs = valuesArray()
        for (i in ks.indices) {
            val v = vs[i] ?: continue
            @Suppress("UNCHECKED_CAST")
            action(ks[i], v as V)
        }
    }

    fun keysArray(): LongArray = keys
    fun valuesArray(): Array<Any?> = values

    private fun grow() {
        val oldKeys = keys
        val oldValues = values
        keys = LongArray(oldKeys.size * 2)
        values = arrayOfNulls(keys.size)
        size = 0
        for (i in oldKeys.indices) {
            val v = oldValues[i] ?: continue
            @Suppress("UNCHECKED_CAST")
            set(oldKeys[i], v as V)
        }
    }

    private companion object {
        fun tableSize(n: Int): Int = Integer.highestOneBit(maxOf(4, n) * 2 - 1) shl 1

        fun mix(key: Long): Int {
            val h = key * -0x61c8864680b583ebL
            return (h xor (h ushr 32)).toInt()
        }
    }
}
