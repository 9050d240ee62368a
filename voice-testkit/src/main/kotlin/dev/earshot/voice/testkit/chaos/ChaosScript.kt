package dev.earshot.voice.testkit.chaos

/**
 * What a [ChaosVoiceServer] does on one WebSocket connection (one connection attempt of the client): the
 * [ChaosAction]s to run at each [ChaosStep]. Steps without actions behave like a normal voice server, so the empty
 * script ([NORMAL]) completes the handshake and then answers heartbeats until the client leaves. Build one with
 * `ChaosScript { at(ChaosStep.AFTER_READY, ChaosAction.Close(4006)) }`. Immutable.
 */
public class ChaosScript(
    /** The actions per step, run in list order. */
    public val steps: Map<ChaosStep, List<ChaosAction>> = emptyMap(),
    /** Whether the server answers UDP IP discovery for this connection; default true. */
    public val answerIpDiscovery: Boolean = true,
) {
    /** The actions at [step], in order (empty when none). */
    public fun actionsAt(step: ChaosStep): List<ChaosAction> = steps[step].orEmpty()

    /** Every action, in step order. */
    public val actions: List<ChaosAction> get() = ChaosStep.entries.flatMap(::actionsAt)

    override fun toString(): String =
        if (steps.isEmpty() && answerIpDiscovery) "ChaosScript(normal)"
        else "ChaosScript(" + ChaosStep.entries.filter { actionsAt(it).isNotEmpty() }
            .joinToString("; ") { "$it: ${actionsAt(it).joinToString()}" } +
            (if (answerIpDiscovery) "" else "; no IP discovery") + ")"

    /** Collects the steps of a [ChaosScript]. */
    public class Builder internal constructor() {
        private val steps = LinkedHashMap<ChaosStep, MutableList<ChaosAction>>()

        /** Whether the server answers UDP IP discovery; default true. */
        public var answerIpDiscovery: Boolean = true

        /** Appends [actions] to [step]. */
        public fun at(step: ChaosStep, vararg actions: ChaosAction) {
            steps.getOrPut(step) { ArrayList() } += actions
        }

        internal fun build(): ChaosScript = ChaosScript(steps.mapValues { it.value.toList() }, answerIpDiscovery)
    }

    /** Ready-made scripts. */
    public companion object {
        /** A normal voice server: complete handshake, heartbeats acknowledged. */
        public val NORMAL: ChaosScript = ChaosScript()

        /** A server that completes the handshake and then closes with [code] (default 1000, a normal closure). */
        public fun handshakeThenClose(code: Int = 1000): ChaosScript =
            ChaosScript { at(ChaosStep.AFTER_SESSION_DESCRIPTION, ChaosAction.Close(code)) }
    }
}

/** Builds a [ChaosScript]: `ChaosScript { at(ChaosStep.AFTER_HELLO, ChaosAction.Drop()) }`. */
public fun ChaosScript(block: ChaosScript.Builder.() -> Unit): ChaosScript = ChaosScript.Builder().apply(block).build()
