package dev.earshot.bench

import java.lang.management.ManagementFactory

/** One timing of a [TimedCase]: operations per second (wall time on this thread) and bytes allocated per operation. */
internal class TimedSample(val rate: Double, val bytesPerOp: Double)

/**
 * One loop of a side-by-side benchmark (`DaveBenchmark`, `GcmBenchmark`): [body] performs [ops] operations and returns
 * a value that is kept, so the JIT cannot drop the work; [once] times one pass on the calling thread.
 */
internal class TimedCase(val name: String, val ops: Int, val body: () -> Long) {
    fun once(): TimedSample {
        val a0 = threadAllocatedBytes()
        val t0 = System.nanoTime()
        timedSink += body()
        val t1 = System.nanoTime()
        val a1 = threadAllocatedBytes()
        return TimedSample(ops / ((t1 - t0) / 1e9), (a1 - a0).toDouble() / ops)
    }
}

private val threads = ManagementFactory.getThreadMXBean() as com.sun.management.ThreadMXBean

/** Bytes the calling thread has allocated so far. */
internal fun threadAllocatedBytes(): Long = threads.getThreadAllocatedBytes(Thread.currentThread().id)

// Where the loops' results go, so that their work stays observable.
@Volatile
internal var timedSink: Long = 0L
