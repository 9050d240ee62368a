package dev.earshot.voice.fuzz

import java.lang.management.ManagementFactory

/**
 * What a fuzz run found: distinct failures keyed by exception class and the first frame in Earshot's code, each with
 * its count and the first input that caused it (hex or text, cut to [MAX_SHOWN] characters), so the run can go on
 * after a finding and report all of them at the end.
 */
class Findings {
    private class Finding(val key: String, val first: String, val stack: String) {
        var count = 0
    }

    private val found = LinkedHashMap<String, Finding>()

    val isEmpty: Boolean get() = found.isEmpty()

    /** Records [t] thrown for [input] (already rendered for the report). */
    fun record(what: String, t: Throwable, input: String) {
        val frame = t.stackTrace.firstOrNull { it.className.startsWith("dev.earshot") } ?: t.stackTrace.firstOrNull()
        val key = "$what: ${t.javaClass.name} at $frame"
        found.getOrPut(key) {
            val stack = t.stackTrace.take(STACK_LINES).joinToString("\n      at ")
            Finding(key, input.take(MAX_SHOWN), "${t.javaClass.name}: ${t.message?.take(200)}\n      at $stack")
        }.count++
    }

    /** Records a broken invariant that is not an exception. */
    fun violation(what: String, input: String) {
        found.getOrPut(what) { Finding(what, input.take(MAX_SHOWN), "") }.count++
    }

    override fun toString(): String = found.values.joinToString("\n") { f ->
        "- ${f.key} (x${f.count})\n    first input: ${f.first}" + if (f.stack.isNotEmpty()) "\n    ${f.stack}" else ""
    }

    companion object {
        private const val MAX_SHOWN = 300
        private const val STACK_LINES = 12
    }
}

/** Bytes allocated by the current thread so far (HotSpot's per-thread counter). */
fun threadAllocatedBytes(): Long {
    val bean = ManagementFactory.getThreadMXBean() as com.sun.management.ThreadMXBean
    return bean.getThreadAllocatedBytes(Thread.currentThread().id)
}

fun ByteArray.toHex(): String = java.util.HexFormat.of().formatHex(this)
