package dev.earshot.voice.testkit.internal

import dev.earshot.voice.testkit.FaultConfig
import kotlin.random.Random

/** A datagram to send now ([delayMillis] 0) or later. */
internal class Emission(val bytes: ByteArray, val delayMillis: Int)

/** What [FaultInjector.process] did to one packet, for the counters. */
internal class FaultOutcome {
    var dropped = false
    var corrupted = false
    var duplicated = false
    var reordered = false

    fun reset() {
        dropped = false
        corrupted = false
        duplicated = false
        reordered = false
    }
}

/**
 * Decides the fate of each outgoing datagram under a [FaultConfig]: the pure core of fault injection (no clock,
 * no sockets), driven by one seeded [Random] so a run repeats exactly. Not thread-safe.
 *
 * Per packet, in this order: an ongoing burst or a new one drops it; else random loss drops it; else it may get
 * one byte after [process]'s `aadLength` flipped, may be duplicated, and each copy is either held back for
 * reordering (released after `reorderDepth` later packets, or by [releaseExpired]) or sent with a uniform
 * 0..`jitterMillis` delay.
 */
internal class FaultInjector(val config: FaultConfig) {
    private val random = Random(config.seed)
    private var burstRemaining = 0
    private val held = ArrayList<Held>()

    private class Held(val bytes: ByteArray, var remaining: Int, val sinceNanos: Long)

    /** Number of packets waiting for reordering. */
    val heldCount: Int get() = held.size

    /** Drops the next [count] packets regardless of the configuration (a burst on demand). */
    fun dropNext(count: Int) {
        burstRemaining += count
    }

    /** Adds the emissions for [packet] (and any held packets it releases) to [out]; fills [outcome]. */
    fun process(packet: ByteArray, aadLength: Int, nowNanos: Long, out: MutableList<Emission>, outcome: FaultOutcome) {
        outcome.reset()
        val released = ArrayList<ByteArray>(0)
        val it = held.iterator()
        while (it.hasNext()) {
            val h = it.next()
            if (--h.remaining <= 0) {
                released += h.bytes
                it.remove()
            }
        }
        if (dropped()) {
            outcome.dropped = true
        } else {
            var bytes = packet
            if (chance(config.corruptPercent) && packet.size > aadLength) {
                bytes = packet.copyOf()
                val at = aadLength + random.nextInt(packet.size - aadLength)
                bytes[at] = (bytes[at].toInt() xor (1 + random.nextInt(255))).toByte()
                outcome.corrupted = true
            }
            val copies = if (chance(config.duplicatePercent)) 2 else 1
            outcome.duplicated = copies == 2
            for (c in 0 until copies) {
                if (c == 0 && chance(config.reorderPercent)) {
                    held += Held(bytes, config.reorderDepth, nowNanos)
                    outcome.reordered = true
                } else {
                    out += Emission(bytes, jitter())
                }
            }
        }
        for (b in released) out += Emission(b, 0)
    }

    /** Releases held packets older than [maxHoldNanos] (the stream went quiet before enough packets overtook them). */
    fun releaseExpired(nowNanos: Long, maxHoldNanos: Long, out: MutableList<Emission>) {
        val it = held.iterator()
        while (it.hasNext()) {
            val h = it.next()
            if (nowNanos - h.sinceNanos >= maxHoldNanos) {
                out += Emission(h.bytes, 0)
                it.remove()
            }
        }
    }

    private fun dropped(): Boolean {
        if (burstRemaining > 0) {
            burstRemaining--
            return true
        }
        if (config.burstLength > 0 && chance(config.burstPercent)) {
            burstRemaining = config.burstLength - 1
            return true
        }
        return chance(config.lossPercent)
    }

    private fun jitter(): Int = if (config.jitterMillis > 0) random.nextInt(config.jitterMillis + 1) else 0

    private fun chance(percent: Double): Boolean = percent > 0 && random.nextDouble() * 100 < percent
}
