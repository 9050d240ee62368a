package dev.earshot.voice.testkit

/**
 * Network faults applied to the datagrams the server sends to one client (forwarded and scripted audio alike),
 * after encryption, so they look like what a real network does to Discord's packets. Percentages are 0..100.
 * Set on [ClientSession.faults]; a new value takes effect with the next packet and restarts the random stream.
 * Kotlin code uses named arguments; Java code uses [builder] (`FaultConfig.builder().lossPercent(5).seed(1).build()`).
 *
 * @property lossPercent chance that a packet is dropped.
 * @property burstPercent chance that a packet starts a burst loss of [burstLength] packets (this one included).
 * @property burstLength packets lost per burst.
 * @property reorderPercent chance that a packet is held back and sent after the next [reorderDepth] packets
 *   (or after `reorderDepth x 20 ms + 60 ms`, whichever comes first).
 * @property reorderDepth how many later packets overtake a reordered one.
 * @property duplicatePercent chance that a packet is sent twice.
 * @property jitterMillis each packet is delayed by a uniform 0..[jitterMillis] ms (which also reorders).
 * @property corruptPercent chance that one byte after the cleartext header is flipped, so the packet fails
 *   authentication at the client.
 * @property seed seed of the random stream that decides all of the above.
 */
public data class FaultConfig(
    val lossPercent: Double = 0.0,
    val burstPercent: Double = 0.0,
    val burstLength: Int = 0,
    val reorderPercent: Double = 0.0,
    val reorderDepth: Int = 3,
    val duplicatePercent: Double = 0.0,
    val jitterMillis: Int = 0,
    val corruptPercent: Double = 0.0,
    val seed: Long = 1,
) {
    init {
        for ((name, p) in listOf("lossPercent" to lossPercent, "burstPercent" to burstPercent,
            "reorderPercent" to reorderPercent, "duplicatePercent" to duplicatePercent, "corruptPercent" to corruptPercent)) {
            require(p in 0.0..100.0) { "$name must be 0..100, was $p" }
        }
        require(burstLength >= 0) { "burstLength must not be negative" }
        require(reorderDepth >= 1) { "reorderDepth must be at least 1" }
        require(jitterMillis >= 0) { "jitterMillis must not be negative" }
    }

    /** True when no fault can happen. */
    public val isNone: Boolean
        get() = lossPercent == 0.0 && (burstPercent == 0.0 || burstLength == 0) && reorderPercent == 0.0 &&
            duplicatePercent == 0.0 && jitterMillis == 0 && corruptPercent == 0.0

    /** A [Builder] holding this configuration's values. */
    public fun toBuilder(): Builder = Builder(this)

    /**
     * Builds a [FaultConfig] step by step, for Java; starts from no faults (or from a config's values, [toBuilder]).
     * Each setter is documented on the property of the same name; [build] checks the values.
     */
    public class Builder internal constructor(from: FaultConfig) {
        private var lossPercent = from.lossPercent
        private var burstPercent = from.burstPercent
        private var burstLength = from.burstLength
        private var reorderPercent = from.reorderPercent
        private var reorderDepth = from.reorderDepth
        private var duplicatePercent = from.duplicatePercent
        private var jitterMillis = from.jitterMillis
        private var corruptPercent = from.corruptPercent
        private var seed = from.seed

        /** See [FaultConfig.lossPercent]. */
        public fun lossPercent(value: Double): Builder = apply { lossPercent = value }

        /** See [FaultConfig.burstPercent] and [FaultConfig.burstLength]. */
        public fun bursts(percent: Double, length: Int): Builder = apply { burstPercent = percent; burstLength = length }

        /** See [FaultConfig.reorderPercent] and [FaultConfig.reorderDepth]. */
        public fun reorder(percent: Double, depth: Int): Builder = apply { reorderPercent = percent; reorderDepth = depth }

        /** See [FaultConfig.duplicatePercent]. */
        public fun duplicatePercent(value: Double): Builder = apply { duplicatePercent = value }

        /** See [FaultConfig.jitterMillis]. */
        public fun jitterMillis(value: Int): Builder = apply { jitterMillis = value }

        /** See [FaultConfig.corruptPercent]. */
        public fun corruptPercent(value: Double): Builder = apply { corruptPercent = value }

        /** See [FaultConfig.seed]. */
        public fun seed(value: Long): Builder = apply { seed = value }

        /** The configuration; throws [IllegalArgumentException] for a value out of range. */
        public fun build(): FaultConfig = FaultConfig(
            lossPercent, burstPercent, burstLength, reorderPercent, reorderDepth, duplicatePercent, jitterMillis,
            corruptPercent, seed,
        )
    }

    /** The fault-free configuration and Java's entry point to the [Builder]. */
    public companion object {
        /** No faults. */
        @JvmField
        public val NONE: FaultConfig = FaultConfig()

        /** A [Builder] starting from no faults. */
        @JvmStatic
        public fun builder(): Builder = Builder(NONE)
    }
}
