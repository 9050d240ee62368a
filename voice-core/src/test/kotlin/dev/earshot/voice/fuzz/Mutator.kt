package dev.earshot.voice.fuzz

import kotlin.random.Random

/**
 * How many inputs a fuzz spec runs and from which seed. CI runs the small defaults; a longer run is
 * `-Dearshot.fuzz.inputs=1000000` (and `-Dearshot.fuzz.seed=N` to replay a run). Every spec prints its seed.
 */
object FuzzConfig {
    /** The number of inputs: the system property `earshot.fuzz.inputs` if set, else [ciDefault]. */
    fun inputs(ciDefault: Int): Int = System.getProperty("earshot.fuzz.inputs")?.toIntOrNull()?.takeIf { it > 0 } ?: ciDefault

    /** The seed: the system property `earshot.fuzz.seed` if set, else [default]. */
    fun seed(default: Long): Long = System.getProperty("earshot.fuzz.seed")?.toLongOrNull() ?: default

    /**
     * Prints what a fuzz run did, so a failure can be replayed and the figures read from the log; also appended to
     * `target/fuzz-report.txt` (Surefire keeps test output apart from the build log). [progress] marks a line written
     * while the run goes on.
     */
    fun report(name: String, seed: Long, inputs: Int, startNanos: Long, details: String, progress: Boolean = false) {
        val seconds = (System.nanoTime() - startNanos) / 1e9
        val line = "fuzz[$name]${if (progress) " (running)" else ""} seed=$seed inputs=$inputs time=${"%.1f".format(seconds)}s $details"
        println(line)
        runCatching { java.io.File("target/fuzz-report.txt").appendText("${java.time.Instant.now()} $line\n") }
    }
}

/**
 * Seeded mutations of valid byte inputs, the classic set: bit flips, byte replacement with boundary values,
 * insertion and deletion, truncation, appending, splicing with another valid input, duplication of a slice, and
 * length-field changes (a byte or big-endian 16/32-bit word rewritten to 0, small, large or just past the end).
 * [lengthOffsets] (positions of known length fields) makes the length mutations structure-aware.
 */
class Mutator(val random: Random) {
    /** Returns a mutated copy of [input] (1 to [maxOps] mutations); [corpus] supplies splice partners. */
    fun mutate(input: ByteArray, corpus: List<ByteArray> = emptyList(), lengthOffsets: IntArray = IntArray(0), maxOps: Int = 4): ByteArray {
        var b = input
        repeat(random.nextInt(1, maxOps + 1)) { b = mutateOnce(b, corpus, lengthOffsets) }
        return b
    }

    private fun mutateOnce(b: ByteArray, corpus: List<ByteArray>, lengthOffsets: IntArray): ByteArray {
        if (b.isEmpty()) return ByteArray(random.nextInt(1, 8)).also(random::nextBytes)
        return when (random.nextInt(11)) {
            0, 1 -> b.copyOf().also { val i = random.nextInt(it.size); it[i] = (it[i].toInt() xor (1 shl random.nextInt(8))).toByte() }
            2 -> b.copyOf().also { it[random.nextInt(it.size)] = boundaryByte() }
            3 -> insert(b, random.nextInt(b.size + 1), ByteArray(random.nextInt(1, 9)).also(random::nextBytes))
            4 -> delete(b, random.nextInt(b.size), random.nextInt(1, minOf(16, b.size) + 1))
            5 -> b.copyOf(random.nextInt(0, b.size))
            6 -> b + ByteArray(random.nextInt(1, 33)).also(random::nextBytes)
            7 -> splice(b, corpus.randomOrNull(random) ?: b)
            8 -> {
                val from = random.nextInt(b.size)
                val len = random.nextInt(1, minOf(64, b.size - from) + 1)
                insert(b, random.nextInt(b.size + 1), b.copyOfRange(from, from + len))
            }
            else -> lengthField(b, lengthOffsets)
        }
    }

    private fun boundaryByte(): Byte = byteArrayOf(0, 1, 0x3F, 0x40, 0x7F, 0x80.toByte(), 0xBF.toByte(), 0xC0.toByte(), 0xFA.toByte(), 0xFE.toByte(), 0xFF.toByte())
        .let { it[random.nextInt(it.size)] }

    /** Rewrites a 1, 2 or 4-byte big-endian field at a known length position (or anywhere) with a boundary value. */
    private fun lengthField(b: ByteArray, lengthOffsets: IntArray): ByteArray {
        val out = b.copyOf()
        val at = if (lengthOffsets.isNotEmpty() && random.nextInt(4) != 0) lengthOffsets[random.nextInt(lengthOffsets.size)] else random.nextInt(b.size)
        if (at !in out.indices) return out
        val width = intArrayOf(1, 2, 4)[random.nextInt(3)]
        val remaining = (out.size - at).toLong()
        val value: Long = when (random.nextInt(8)) {
            0 -> 0
            1 -> 1
            2 -> remaining
            3 -> remaining + 1
            4 -> remaining - 1
            5 -> random.nextLong(0, 1L shl (8 * width))
            6 -> (1L shl (8 * width)) - 1
            else -> 0x3FFF_FFFFL or 0x8000_0000L // a QUIC varint of 1 GiB - 1 (or its low bytes)
        }
        for (k in 0 until width) {
            val i = at + k
            if (i < out.size) out[i] = (value ushr (8 * (width - 1 - k))).toByte()
        }
        return out
    }

    private fun insert(b: ByteArray, at: Int, bytes: ByteArray): ByteArray = b.copyOfRange(0, at) + bytes + b.copyOfRange(at, b.size)

    private fun delete(b: ByteArray, at: Int, n: Int): ByteArray = b.copyOfRange(0, at) + b.copyOfRange(minOf(b.size, at + n), b.size)

    private fun splice(a: ByteArray, other: ByteArray): ByteArray {
        if (other.isEmpty()) return a
        val cut = random.nextInt(a.size + 1)
        val from = random.nextInt(other.size)
        return a.copyOfRange(0, cut) + other.copyOfRange(from, other.size)
    }
}
