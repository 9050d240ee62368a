package dev.earshot.voice.rtp

import io.kotest.engine.names.WithDataTestName
import java.io.File

/** One packet from a `.hex` file under `vectors/<dir>/` (format in `vectors/README.md`). */
data class Vector(
    val file: String,
    val name: String,
    val expect: Map<String, String>,
    val packets: List<String>,
    val bytes: ByteArray,
) : WithDataTestName {
    override fun dataTestName(): String = "$name ($file)"

    override fun toString(): String = name

    fun expected(key: String): String = expect[key] ?: error("$name: no '$key' in # expect")
}

object Vectors {
    fun load(dir: String): List<Vector> {
        val url = Vectors::class.java.getResource("/vectors/$dir") ?: error("no vectors/$dir on the test classpath")
        val files = File(url.toURI()).listFiles { f -> f.name.endsWith(".hex") }!!.sortedBy { it.name }
        val vectors = files.flatMap { parse(it.name, it.readLines()) }
        check(vectors.map { it.name }.toSet().size == vectors.size) { "duplicate case names in vectors/$dir" }
        return vectors
    }

    private fun parse(file: String, lines: List<String>): List<Vector> {
        val out = ArrayList<Vector>()
        var name: String? = null
        var expect = emptyMap<String, String>()
        val packets = ArrayList<String>()
        for (raw in lines) {
            val line = raw.trim()
            when {
                line.isEmpty() -> {}
                line.startsWith("# case:") -> {
                    name = line.removePrefix("# case:").trim()
                    expect = emptyMap()
                    packets.clear()
                }
                line.startsWith("# expect:") -> expect = line.removePrefix("# expect:").trim().split(Regex("\\s+"))
                    .associate { token -> token.substringBefore('=') to token.substringAfter('=', "") }
                line.startsWith("# packet:") -> packets.add(line.removePrefix("# packet:").trim())
                line.startsWith("#") -> {}
                else -> {
                    val caseName = checkNotNull(name) { "$file: packet line without a '# case:' before it" }
                    out.add(Vector(file, caseName, expect, packets.toList(), hex(line)))
                    name = null
                }
            }
        }
        return out
    }

    /** Hex with optional whitespace and '|' separators; "(empty)" is zero bytes. */
    fun hex(text: String): ByteArray {
        if (text.trim() == "(empty)") return ByteArray(0)
        val digits = text.filterNot { it.isWhitespace() || it == '|' }
        require(digits.length % 2 == 0) { "odd number of hex digits: $text" }
        return ByteArray(digits.length / 2) { digits.substring(it * 2, it * 2 + 2).toInt(16).toByte() }
    }
}

fun ByteArray.toHex(from: Int = 0, to: Int = size): String =
    (from until to).joinToString("") { "%02x".format(this[it].toInt() and 0xFF) }

/** Parses "0x1a2b", "-1" or "42" from a vector file. */
fun parseNumber(s: String): Long = when {
    s.startsWith("0x") -> s.substring(2).toLong(16)
    else -> s.toLong()
}
