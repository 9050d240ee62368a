package dev.earshot.voice.base

/**
 * A monotonic clock in nanoseconds, injected so that tests run in virtual time.
 *
 * Production code uses [SYSTEM] (`System.nanoTime`); tests pass `NanoClock { testScheduler.currentTime * 1_000_000 }`.
 */
public fun interface NanoClock {
    /** Nanoseconds from an arbitrary fixed origin; only differences are meaningful. */
    public fun nanoTime(): Long

    public companion object {
        /** The JVM's monotonic clock. */
        @JvmField
        public val SYSTEM: NanoClock = NanoClock { System.nanoTime() }
    }
}
