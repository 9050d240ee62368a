package dev.earshot.voice.testkit.chaos

/**
 * What a [ChaosVoiceServer] does on one WebSocket connection (one connection attempt of the client): the
 * [ChaosAction]s to run at each [ChaosStep]. Steps without actions behave like a normal voice server, so the empty
 * script ([NORMAL]) completes the handshake and then answers heartbeats until the client leaves. Build one with
 * `ChaosScript { at(ChaosStep.AFTER_READY, ChaosAction.Close(4006)) }`, or from Java with
 * `ChaosScript.builder().at(ChaosStep.AFTER_READY, new ChaosAction.Close(4006)).build()`. Immutable.
 */
public class ChaosScript @JvmOverloads constructor(
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

    /** Collects the steps of a [ChaosScript]; each method returns this builder, so Java can chain calls. */
    public class Builder internal constructor() {
        private val steps = LinkedHashMap<ChaosStep, MutableList<ChaosAction>>()

        /** Whether the server answers UDP IP discovery; default true. */
        public var answerIpDiscovery: Boolean = true

        /** Sets [answerIpDiscovery], for chained calls. */
        public fun answerIpDiscovery(value: Boolean): Builder = apply { answerIpDiscovery = value }

        /** Appends [actions] to [step]. */
        public fun at(step: ChaosStep, vararg actions: ChaosAction): Builder = apply {
            steps.getOrPut(step) { ArrayList() } += actions
        }

        /** The script of the steps so far (later calls do not change it). */
        public fun build(): ChaosScript = ChaosScript(steps.mapValues { it.value.toList() }, answerIpDiscovery)
    }

    /** Ready-made scripts. */
    public companion object {
        /** A normal voice server: complete handshake, heartbeats acknowledged. */
        @JvmField
        public val NORMAL: ChaosScript = ChaosScript()

        /** An empty [Builder], for Java. */
        @JvmStatic
        public fun builder(): Builder = Builder()

        /** A server that completes the handshake and then closes with [code] (default 1000, a normal closure). */
        @JvmStatic
        @JvmOverloads
        public fun handshakeThenClose(code: Int = 1000): ChaosScript =
            ChaosScript { at(ChaosStep.AFTER_SESSION_DESCRIPTION, ChaosAction.Close(code)) }
    }
}

/** Builds a [ChaosScript]: `ChaosScript { at(ChaosStep.AFTER_HELLO, ChaosAction.Drop()) }` (Kotlin; Java uses [ChaosScript.builder]). */
@JvmSynthetic
public fun ChaosScript(block: ChaosScript.Builder.() -> Unit): ChaosScript = ChaosScript.Builder().apply(block).build()
