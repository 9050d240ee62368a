package dev.earshot.voice.files

import java.io.IOException
import java.io.InputStream

/**
 * Drains a child process's stderr on its own daemon thread, so the child never blocks on a full pipe, keeping the
 * last [maxLines] lines for error messages. [lines] is read only once the thread has ended, which is what publishes them without a lock.
 */
internal class StderrTail(stream: InputStream, name: String, private val maxLines: Int = 20) {
    private val tail = ArrayDeque<String>(maxLines)
    private val thread = Thread({ drain(stream) }, name).apply {
        isDaemon = true
        start()
    }

    /** Waits up to [millis] for stderr to reach end of stream (the process closed it or exited). */
    fun join(millis: Long) {
        thread.join(millis)
    }

    /** The last lines read, oldest first; empty while the drain thread still runs (its lines are not yet safe to read). */
    val lines: List<String> get() = if (thread.isAlive) emptyList() else tail.toList()

    private fun drain(stream: InputStream) {
        try {
            stream.bufferedReader().useLines { lines ->
                for (line in lines) {
                    if (tail.size == maxLines) tail.removeFirst()
                    tail.addLast(line)
                }
            }
        } catch (_: IOException) {
            // The stream closes when the process is killed; what was read so far is the tail.
        }
    }
}
