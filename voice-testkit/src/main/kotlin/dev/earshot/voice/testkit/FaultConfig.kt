package dev.earshot.voice.testkit

/**
 * Network faults applied to the datagrams the server sends to one client (forwarded and scripted audio alike),
 * after encryption, so they look like what a real network does to Discord's packets. Percentages are 0..100.
 * Set on [ClientSession.faults]; a new value takes effect with the next packet and restarts the random stream.
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

    /** The fault-free configuration. */
    public companion object {
        /** No faults. */
        public val NONE: FaultConfig = FaultConfig()
    }
}
