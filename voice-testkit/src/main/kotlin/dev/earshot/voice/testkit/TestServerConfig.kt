package dev.earshot.voice.testkit

import dev.earshot.voice.crypto.EncryptionMode
import kotlin.time.Duration
import kotlin.time.Duration.Companion.milliseconds
import kotlin.time.Duration.Companion.seconds
import kotlin.time.toJavaDuration
import kotlin.time.toKotlinDuration

/**
 * How a [VoiceTestServer] behaves; every default matches what Discord does in 2026 unless stated. Kotlin code uses the
 * constructor's named arguments and [copy]; Java code uses [builder] (or `new TestServerConfig()` for the defaults),
 * [toBuilder], and the `java.time.Duration` getters.
 *
 * @property tls serve `wss://` with the self-signed certificate of [TlsMaterial.shared] (needed by discord.js,
 *   which always connects with `wss://`); `ws://` when false. Default false.
 * @property host the address the WebSocket and UDP sockets bind to and that Ready advertises. Default `127.0.0.1`.
 * @property heartbeatInterval the interval sent in Hello. Default 13 750 ms (what Discord sent in 2026).
 * @property enforceHeartbeatTimeout close with 4009 (and end the session) when a client sends no heartbeat for
 *   two intervals. Default true.
 * @property modes the transport-encryption modes offered in Ready, in this order; may be empty. Every mode must be
 *   available in this JVM ([EncryptionMode.isAvailable]). Default both rtpsize modes, AES-GCM first.
 * @property extraModes mode names offered in Ready after [modes] that the server does not implement (for example a
 *   discontinued `xsalsa20_poly1305`); selecting one closes with 4016. Default none.
 * @property daveProtocolVersion the highest DAVE protocol version the server runs: 1 (the only one there is) makes
 *   the gateway play DAVE's server side (external sender, proposals, commit selection, transitions; see
 *   [TestChannel]); 0 disables DAVE, so Session Description always says `dave_protocol_version: 0` and DAVE
 *   messages are ignored. A client gets `min(its max_dave_protocol_version, this)`, and 0 while its channel runs
 *   transport-only because a participant cannot do DAVE (a client offering 0, or a [ScriptedMember]: scripted
 *   members are transport-only for now, so a channel with one is downgraded). Default 1, as Discord.
 * @property requireDave close with 4017 when Identify's `max_dave_protocol_version` is 0 or absent. Default false
 *   (Discord has required DAVE since March 2026, but most tests here do not need it).
 * @property resumeWindow how long a session whose WebSocket dropped stays resumable before it ends. Default 60 s.
 * @property replayBufferSize how many sequenced server messages each session keeps for Resume; a Resume whose
 *   `seq_ack` is older than the buffer closes with 4006. Default 256.
 * @property keySwitchDelay after [ClientSession.rotateKey] sends the new op 4, how long the server keeps encrypting
 *   to that client with the old key. Default 200 ms.
 * @property previousKeyGrace how long after a key rotation packets from the client under the old key are still
 *   accepted. Default 2 s.
 * @property endpointCloseDelay after [VoiceTestServer.moveEndpoint], how long the old endpoint keeps its
 *   connections before closing them with 4022. Default 1 s.
 * @property echoKeepalives send UDP keepalive datagrams back to their sender, as Discord does. Default true.
 * @property seed seeds SSRCs, keys, tokens and RTP start values so runs repeat; null draws them from
 *   `SecureRandom`. Default null.
 */
public class TestServerConfig(
    public val tls: Boolean = false,
    public val host: String = "127.0.0.1",
    @get:JvmSynthetic public val heartbeatInterval: Duration = 13_750.milliseconds,
    public val enforceHeartbeatTimeout: Boolean = true,
    public val modes: List<EncryptionMode> = listOf(EncryptionMode.AEAD_AES256_GCM_RTPSIZE, EncryptionMode.AEAD_XCHACHA20_POLY1305_RTPSIZE),
    public val extraModes: List<String> = emptyList(),
    public val daveProtocolVersion: Int = 1,
    public val requireDave: Boolean = false,
    @get:JvmSynthetic public val resumeWindow: Duration = 60.seconds,
    public val replayBufferSize: Int = 256,
    @get:JvmSynthetic public val keySwitchDelay: Duration = 200.milliseconds,
    @get:JvmSynthetic public val previousKeyGrace: Duration = 2.seconds,
    @get:JvmSynthetic public val endpointCloseDelay: Duration = 1.seconds,
    public val echoKeepalives: Boolean = true,
    public val seed: Long? = null,
) {
    init {
        require(heartbeatInterval.isPositive()) { "heartbeatInterval must be positive" }
        require(replayBufferSize >= 1) { "replayBufferSize must be at least 1" }
        require(daveProtocolVersion in 0..1) { "daveProtocolVersion must be 0 or 1, was $daveProtocolVersion" }
        require(!resumeWindow.isNegative() && !keySwitchDelay.isNegative() && !previousKeyGrace.isNegative() &&
            !endpointCloseDelay.isNegative()) { "durations must not be negative" }
    }

    /** The defaults, for Java (Kotlin's all-default constructor takes `kotlin.time.Duration`s, which Java cannot pass). */
    public constructor() : this(tls = false)

    // Java getters for the durations: the Kotlin properties' getters have mangled names Java cannot call.

    /** [heartbeatInterval] for Java. */
    @get:JvmName("getHeartbeatInterval")
    public val javaHeartbeatInterval: java.time.Duration get() = heartbeatInterval.toJavaDuration()

    /** [resumeWindow] for Java. */
    @get:JvmName("getResumeWindow")
    public val javaResumeWindow: java.time.Duration get() = resumeWindow.toJavaDuration()

    /** [keySwitchDelay] for Java. */
    @get:JvmName("getKeySwitchDelay")
    public val javaKeySwitchDelay: java.time.Duration get() = keySwitchDelay.toJavaDuration()

    /** [previousKeyGrace] for Java. */
    @get:JvmName("getPreviousKeyGrace")
    public val javaPreviousKeyGrace: java.time.Duration get() = previousKeyGrace.toJavaDuration()

    /** [endpointCloseDelay] for Java. */
    @get:JvmName("getEndpointCloseDelay")
    public val javaEndpointCloseDelay: java.time.Duration get() = endpointCloseDelay.toJavaDuration()

    /** A copy with the given values changed (Kotlin; Java uses [toBuilder]). */
    @JvmSynthetic
    public fun copy(
        tls: Boolean = this.tls,
        host: String = this.host,
        heartbeatInterval: Duration = this.heartbeatInterval,
        enforceHeartbeatTimeout: Boolean = this.enforceHeartbeatTimeout,
        modes: List<EncryptionMode> = this.modes,
        extraModes: List<String> = this.extraModes,
        daveProtocolVersion: Int = this.daveProtocolVersion,
        requireDave: Boolean = this.requireDave,
        resumeWindow: Duration = this.resumeWindow,
        replayBufferSize: Int = this.replayBufferSize,
        keySwitchDelay: Duration = this.keySwitchDelay,
        previousKeyGrace: Duration = this.previousKeyGrace,
        endpointCloseDelay: Duration = this.endpointCloseDelay,
        echoKeepalives: Boolean = this.echoKeepalives,
        seed: Long? = this.seed,
    ): TestServerConfig = TestServerConfig(
        tls, host, heartbeatInterval, enforceHeartbeatTimeout, modes, extraModes, daveProtocolVersion, requireDave,
        resumeWindow, replayBufferSize, keySwitchDelay, previousKeyGrace, endpointCloseDelay, echoKeepalives, seed,
    )

    /** A [Builder] holding this configuration's values. */
    public fun toBuilder(): Builder = Builder(this)

    private fun fields(): List<Any?> = listOf(
        tls, host, heartbeatInterval, enforceHeartbeatTimeout, modes, extraModes, daveProtocolVersion, requireDave,
        resumeWindow, replayBufferSize, keySwitchDelay, previousKeyGrace, endpointCloseDelay, echoKeepalives, seed,
    )

    override fun equals(other: Any?): Boolean = other is TestServerConfig && other.fields() == fields()

    override fun hashCode(): Int = fields().hashCode()

    override fun toString(): String =
        "TestServerConfig(tls=$tls, host=$host, heartbeatInterval=$heartbeatInterval, " +
            "enforceHeartbeatTimeout=$enforceHeartbeatTimeout, modes=$modes, extraModes=$extraModes, " +
            "daveProtocolVersion=$daveProtocolVersion, requireDave=$requireDave, resumeWindow=$resumeWindow, " +
            "replayBufferSize=$replayBufferSize, keySwitchDelay=$keySwitchDelay, previousKeyGrace=$previousKeyGrace, " +
            "endpointCloseDelay=$endpointCloseDelay, echoKeepalives=$echoKeepalives, seed=$seed)"

    /**
     * Builds a [TestServerConfig] step by step, the way Java code does (`TestServerConfig.builder().tls(true).build()`);
     * starts from the defaults, or from a config's values ([toBuilder]). Each setter is documented on the property of
     * the same name; [build] checks the values.
     */
    public class Builder internal constructor(from: TestServerConfig) {
        private var tls = from.tls
        private var host = from.host
        private var heartbeatInterval = from.heartbeatInterval
        private var enforceHeartbeatTimeout = from.enforceHeartbeatTimeout
        private var modes = from.modes
        private var extraModes = from.extraModes
        private var daveProtocolVersion = from.daveProtocolVersion
        private var requireDave = from.requireDave
        private var resumeWindow = from.resumeWindow
        private var replayBufferSize = from.replayBufferSize
        private var keySwitchDelay = from.keySwitchDelay
        private var previousKeyGrace = from.previousKeyGrace
        private var endpointCloseDelay = from.endpointCloseDelay
        private var echoKeepalives = from.echoKeepalives
        private var seed = from.seed

        /** See [TestServerConfig.tls]. */
        public fun tls(value: Boolean): Builder = apply { tls = value }

        /** See [TestServerConfig.host]. */
        public fun host(value: String): Builder = apply { host = value }

        /** See [TestServerConfig.heartbeatInterval]. */
        public fun heartbeatInterval(value: java.time.Duration): Builder = apply { heartbeatInterval = value.toKotlinDuration() }

        /** See [TestServerConfig.heartbeatInterval]. */
        @JvmSynthetic
        public fun heartbeatInterval(value: Duration): Builder = apply { heartbeatInterval = value }

        /** See [TestServerConfig.enforceHeartbeatTimeout]. */
        public fun enforceHeartbeatTimeout(value: Boolean): Builder = apply { enforceHeartbeatTimeout = value }

        /** See [TestServerConfig.modes]. */
        public fun modes(value: List<EncryptionMode>): Builder = apply { modes = value.toList() }

        /** See [TestServerConfig.modes]. */
        public fun modes(vararg value: EncryptionMode): Builder = apply { modes = value.toList() }

        /** See [TestServerConfig.extraModes]. */
        public fun extraModes(value: List<String>): Builder = apply { extraModes = value.toList() }

        /** See [TestServerConfig.extraModes]. */
        public fun extraModes(vararg value: String): Builder = apply { extraModes = value.toList() }

        /** See [TestServerConfig.daveProtocolVersion]. */
        public fun daveProtocolVersion(value: Int): Builder = apply { daveProtocolVersion = value }

        /** See [TestServerConfig.requireDave]. */
        public fun requireDave(value: Boolean): Builder = apply { requireDave = value }

        /** See [TestServerConfig.resumeWindow]. */
        public fun resumeWindow(value: java.time.Duration): Builder = apply { resumeWindow = value.toKotlinDuration() }

        /** See [TestServerConfig.resumeWindow]. */
        @JvmSynthetic
        public fun resumeWindow(value: Duration): Builder = apply { resumeWindow = value }

        /** See [TestServerConfig.replayBufferSize]. */
        public fun replayBufferSize(value: Int): Builder = apply { replayBufferSize = value }

        /** See [TestServerConfig.keySwitchDelay]. */
        public fun keySwitchDelay(value: java.time.Duration): Builder = apply { keySwitchDelay = value.toKotlinDuration() }

        /** See [TestServerConfig.keySwitchDelay]. */
        @JvmSynthetic
        public fun keySwitchDelay(value: Duration): Builder = apply { keySwitchDelay = value }

        /** See [TestServerConfig.previousKeyGrace]. */
        public fun previousKeyGrace(value: java.time.Duration): Builder = apply { previousKeyGrace = value.toKotlinDuration() }

        /** See [TestServerConfig.previousKeyGrace]. */
        @JvmSynthetic
        public fun previousKeyGrace(value: Duration): Builder = apply { previousKeyGrace = value }

        /** See [TestServerConfig.endpointCloseDelay]. */
        public fun endpointCloseDelay(value: java.time.Duration): Builder = apply { endpointCloseDelay = value.toKotlinDuration() }

        /** See [TestServerConfig.endpointCloseDelay]. */
        @JvmSynthetic
        public fun endpointCloseDelay(value: Duration): Builder = apply { endpointCloseDelay = value }

        /** See [TestServerConfig.echoKeepalives]. */
        public fun echoKeepalives(value: Boolean): Builder = apply { echoKeepalives = value }

        /** See [TestServerConfig.seed]; null draws from `SecureRandom`. */
        public fun seed(value: Long?): Builder = apply { seed = value }

        /** The configuration; throws [IllegalArgumentException] for a value out of range. */
        public fun build(): TestServerConfig = TestServerConfig(
            tls, host, heartbeatInterval, enforceHeartbeatTimeout, modes, extraModes, daveProtocolVersion, requireDave,
            resumeWindow, replayBufferSize, keySwitchDelay, previousKeyGrace, endpointCloseDelay, echoKeepalives, seed,
        )
    }

    /** Java's entry point to the [Builder]. */
    public companion object {
        /** A [Builder] starting from the defaults. */
        @JvmStatic
        public fun builder(): Builder = Builder(TestServerConfig())
    }
}

/**
 * What the main gateway would give a bot for one voice connection: VOICE_STATE_UPDATE's `session_id` and
 * VOICE_SERVER_UPDATE's `token`, `guild_id` and `endpoint` (host and port, no scheme, like Discord's).
 * Identify must carry exactly these values. [toString] leaves the token out.
 */
public class VoiceGrant(
    /** The guild (`server_id` in Identify). */
    public val guildId: String,
    /** The voice channel the user joins. */
    public val channelId: String,
    /** The user (the bot). */
    public val userId: String,
    /** The voice state's session id. */
    public val sessionId: String,
    /** The voice server token. */
    public val token: String,
    /** `127.0.0.1:<port>` of the WebSocket listener this grant is valid on. */
    public val endpoint: String,
) {
    override fun toString(): String =
        "VoiceGrant(guild=$guildId, channel=$channelId, user=$userId, session=$sessionId, endpoint=$endpoint)"

    override fun equals(other: Any?): Boolean = other is VoiceGrant && other.token == token && other.guildId == guildId &&
        other.userId == userId && other.sessionId == sessionId && other.endpoint == endpoint && other.channelId == channelId

    override fun hashCode(): Int = token.hashCode()
}
