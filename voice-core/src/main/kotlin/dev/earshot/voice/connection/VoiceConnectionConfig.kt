package dev.earshot.voice.connection

import dev.earshot.voice.ReceiveConfig
import dev.earshot.voice.dave.DaveSessionFactory
import dev.earshot.voice.dave.JvmDaveSession
import dev.earshot.voice.gateway.GatewayConnector
import javax.net.ssl.X509TrustManager
import kotlin.time.Duration
import kotlin.time.Duration.Companion.milliseconds
import kotlin.time.Duration.Companion.seconds
import kotlin.time.toJavaDuration
import kotlin.time.toKotlinDuration

/**
 * Settings of a [VoiceConnection]; defaults suit Discord.
 *
 * Kotlin: `VoiceConnectionConfig { secure = false }`. Java: `VoiceConnectionConfig.builder().secure(false)
 * .handshakeTimeout(Duration.ofSeconds(5)).receive(ReceiveConfig.builder().decode(PcmFormat.MONO_16K).build()).build()`,
 * with `java.time.Duration`s; Java reads a setting with the method of the same name (`config.handshakeTimeout()`).
 * Invalid values fail `build()` with an [IllegalArgumentException].
 */
public class VoiceConnectionConfig private constructor(b: Builder) {
    /** The receive pipeline's settings (decoding, jitter buffer, clock...); default [ReceiveConfig.DEFAULT]. */
    @get:JvmName("receive")
    public val receive: ReceiveConfig = b.receive
    /**
     * The highest DAVE (end-to-end encryption) protocol version offered in Identify; default 1, which Discord requires
     * in every non-stage channel since March 2026. 0 offers no DAVE: transport encryption only (stage channels, test
     * servers), and a channel that requires DAVE then closes with 4017.
     */
    @get:JvmName("maxDaveProtocolVersion")
    public val maxDaveProtocolVersion: Int = b.maxDaveProtocolVersion
    /** Makes the DAVE session when DAVE is offered; default [JvmDaveSession.FACTORY] (pure JVM). */
    @get:JvmName("daveSessionFactory")
    public val daveSessionFactory: DaveSessionFactory = b.daveSessionFactory
    /** Use `wss://` (default true); false connects with plain `ws://`, for a local test server without TLS. */
    @get:JvmName("secure")
    public val secure: Boolean = b.secure
    /** Trust for the voice server's TLS certificate; null (default) uses the JVM's trust store. */
    @get:JvmName("trustManager")
    public val trustManager: X509TrustManager? = b.trustManager
    /** Time allowed from opening a socket to Ready and Session Description, or to Resumed; default 10 s. */
    @get:JvmSynthetic
    public val handshakeTimeout: Duration = b.handshakeTimeout
    /** How long to wait for each IP discovery answer; default 1 s. */
    @get:JvmSynthetic
    public val ipDiscoveryTimeout: Duration = b.ipDiscoveryTimeout
    /** IP discovery requests sent before giving up on a socket; default 3. */
    @get:JvmName("ipDiscoveryAttempts")
    public val ipDiscoveryAttempts: Int = b.ipDiscoveryAttempts
    /** Interval of the UDP keepalive that holds the NAT mapping open; default 5 s. */
    @get:JvmSynthetic
    public val udpKeepaliveInterval: Duration = b.udpKeepaliveInterval
    /** Unacknowledged heartbeats after which the socket counts as dead and is resumed; default 3 (as discord.js). */
    @get:JvmName("missedHeartbeatAcks")
    public val missedHeartbeatAcks: Int = b.missedHeartbeatAcks
    /**
     * First delay between reconnect attempts that did not stay healthy (the first retry is immediate); doubles up to
     * [reconnectDelayMax]; default 1 s.
     */
    @get:JvmSynthetic
    public val reconnectDelay: Duration = b.reconnectDelay
    /** Longest delay between reconnect attempts; default 30 s. Each delay is randomised down to half (jitter). */
    @get:JvmSynthetic
    public val reconnectDelayMax: Duration = b.reconnectDelayMax
    /**
     * How long a connection closed with 4014 (disconnected) waits for the bot's own voice state update before it ends;
     * default 3 s. Discord closes the old voice session of a bot moved to another channel, and the main gateway's
     * update for the move can come after that close; a kick brings an update without a channel, which ends the
     * connection at once. Zero ends it on the 4014 itself.
     */
    @get:JvmSynthetic
    public val moveGrace: Duration = b.moveGrace
    /**
     * Consecutive attempts that did not stay healthy after which the connection gives up with
     * [VoiceReconnectFailedException]; default 8. An attempt that failed, and one that completed the handshake but
     * dropped within [healthyAfter], both count; a socket that stayed connected for [healthyAfter] starts the count
     * over, and its drop is retried at once.
     */
    @get:JvmName("maxReconnectAttempts")
    public val maxReconnectAttempts: Int = b.maxReconnectAttempts
    /**
     * How long a socket must stay connected before its drop counts as a fresh start (retried at once, with the backoff
     * and the give-up count reset); default 60 s. A server that completes the handshake and drops sooner is retried
     * with growing delays ([reconnectDelay] doubling to [reconnectDelayMax]), never in a tight loop.
     */
    @get:JvmSynthetic
    public val healthyAfter: Duration = b.healthyAfter

    /** [handshakeTimeout] for Java. */
    public fun handshakeTimeout(): java.time.Duration = handshakeTimeout.toJavaDuration()

    /** [ipDiscoveryTimeout] for Java. */
    public fun ipDiscoveryTimeout(): java.time.Duration = ipDiscoveryTimeout.toJavaDuration()

    /** [udpKeepaliveInterval] for Java. */
    public fun udpKeepaliveInterval(): java.time.Duration = udpKeepaliveInterval.toJavaDuration()

    /** [reconnectDelay] for Java. */
    public fun reconnectDelay(): java.time.Duration = reconnectDelay.toJavaDuration()

    /** [reconnectDelayMax] for Java. */
    public fun reconnectDelayMax(): java.time.Duration = reconnectDelayMax.toJavaDuration()

    /** [moveGrace] for Java. */
    public fun moveGrace(): java.time.Duration = moveGrace.toJavaDuration()

    /** [healthyAfter] for Java. */
    public fun healthyAfter(): java.time.Duration = healthyAfter.toJavaDuration()

    /** A builder holding these settings, to derive a changed copy. */
    public fun newBuilder(): Builder = Builder(this)

    internal val gatewayConnector: GatewayConnector? = b.gatewayConnector
    internal val udpConnector: UdpConnector? = b.udpConnector

    /**
     * Mutable settings for the `VoiceConnectionConfig { }` builder; see the properties above for meanings and
     * defaults. Java chains the methods of the same names (taking `java.time.Duration`) and calls [build]. Not
     * thread-safe.
     */
    public class Builder internal constructor() {
        @set:JvmSynthetic @get:JvmSynthetic
        public var receive: ReceiveConfig = ReceiveConfig.DEFAULT
        @set:JvmSynthetic @get:JvmSynthetic
        public var maxDaveProtocolVersion: Int = JvmDaveSession.MAX_PROTOCOL_VERSION
        @set:JvmSynthetic @get:JvmSynthetic
        public var daveSessionFactory: DaveSessionFactory = JvmDaveSession.FACTORY
        @set:JvmSynthetic @get:JvmSynthetic
        public var secure: Boolean = true
        @set:JvmSynthetic @get:JvmSynthetic
        public var trustManager: X509TrustManager? = null
        @set:JvmSynthetic @get:JvmSynthetic
        public var handshakeTimeout: Duration = 10.seconds
        @set:JvmSynthetic @get:JvmSynthetic
        public var ipDiscoveryTimeout: Duration = 1.seconds
        @set:JvmSynthetic @get:JvmSynthetic
        public var ipDiscoveryAttempts: Int = 3
        @set:JvmSynthetic @get:JvmSynthetic
        public var udpKeepaliveInterval: Duration = 5.seconds
        @set:JvmSynthetic @get:JvmSynthetic
        public var missedHeartbeatAcks: Int = 3
        @set:JvmSynthetic @get:JvmSynthetic
        public var reconnectDelay: Duration = 1.seconds
        @set:JvmSynthetic @get:JvmSynthetic
        public var reconnectDelayMax: Duration = 30.seconds
        @set:JvmSynthetic @get:JvmSynthetic
        public var maxReconnectAttempts: Int = 8
        @set:JvmSynthetic @get:JvmSynthetic
        public var moveGrace: Duration = 3.seconds
        @set:JvmSynthetic @get:JvmSynthetic
        public var healthyAfter: Duration = 60.seconds

        internal var gatewayConnector: GatewayConnector? = null
        internal var udpConnector: UdpConnector? = null

        internal constructor(c: VoiceConnectionConfig) : this() {
            receive = c.receive
            maxDaveProtocolVersion = c.maxDaveProtocolVersion
            daveSessionFactory = c.daveSessionFactory
            secure = c.secure
            trustManager = c.trustManager
            handshakeTimeout = c.handshakeTimeout
            ipDiscoveryTimeout = c.ipDiscoveryTimeout
            ipDiscoveryAttempts = c.ipDiscoveryAttempts
            udpKeepaliveInterval = c.udpKeepaliveInterval
            missedHeartbeatAcks = c.missedHeartbeatAcks
            reconnectDelay = c.reconnectDelay
            reconnectDelayMax = c.reconnectDelayMax
            maxReconnectAttempts = c.maxReconnectAttempts
            moveGrace = c.moveGrace
            healthyAfter = c.healthyAfter
            gatewayConnector = c.gatewayConnector
            udpConnector = c.udpConnector
        }

        /** Sets [VoiceConnectionConfig.receive]. */
        public fun receive(value: ReceiveConfig): Builder = apply { receive = value }

        /** Sets [VoiceConnectionConfig.maxDaveProtocolVersion]. */
        public fun maxDaveProtocolVersion(value: Int): Builder = apply { maxDaveProtocolVersion = value }

        /** Sets [VoiceConnectionConfig.daveSessionFactory]. */
        public fun daveSessionFactory(value: DaveSessionFactory): Builder = apply { daveSessionFactory = value }

        /** Sets [VoiceConnectionConfig.secure]. */
        public fun secure(value: Boolean): Builder = apply { secure = value }

        /** Sets [VoiceConnectionConfig.trustManager]. */
        public fun trustManager(value: X509TrustManager?): Builder = apply { trustManager = value }

        /** Sets [VoiceConnectionConfig.handshakeTimeout]. */
        public fun handshakeTimeout(value: java.time.Duration): Builder = apply { handshakeTimeout = value.toKotlinDuration() }

        /** Sets [VoiceConnectionConfig.ipDiscoveryTimeout]. */
        public fun ipDiscoveryTimeout(value: java.time.Duration): Builder = apply { ipDiscoveryTimeout = value.toKotlinDuration() }

        /** Sets [VoiceConnectionConfig.ipDiscoveryAttempts]. */
        public fun ipDiscoveryAttempts(value: Int): Builder = apply { ipDiscoveryAttempts = value }

        /** Sets [VoiceConnectionConfig.udpKeepaliveInterval]. */
        public fun udpKeepaliveInterval(value: java.time.Duration): Builder = apply { udpKeepaliveInterval = value.toKotlinDuration() }

        /** Sets [VoiceConnectionConfig.missedHeartbeatAcks]. */
        public fun missedHeartbeatAcks(value: Int): Builder = apply { missedHeartbeatAcks = value }

        /** Sets [VoiceConnectionConfig.reconnectDelay]. */
        public fun reconnectDelay(value: java.time.Duration): Builder = apply { reconnectDelay = value.toKotlinDuration() }

        /** Sets [VoiceConnectionConfig.reconnectDelayMax]. */
        public fun reconnectDelayMax(value: java.time.Duration): Builder = apply { reconnectDelayMax = value.toKotlinDuration() }

        /** Sets [VoiceConnectionConfig.maxReconnectAttempts]. */
        public fun maxReconnectAttempts(value: Int): Builder = apply { maxReconnectAttempts = value }

        /** Sets [VoiceConnectionConfig.moveGrace]. */
        public fun moveGrace(value: java.time.Duration): Builder = apply { moveGrace = value.toKotlinDuration() }

        /** Sets [VoiceConnectionConfig.healthyAfter]. */
        public fun healthyAfter(value: java.time.Duration): Builder = apply { healthyAfter = value.toKotlinDuration() }

        /** The settings; throws [IllegalArgumentException] when a value is out of range. */
        public fun build(): VoiceConnectionConfig {
            require(maxDaveProtocolVersion >= 0) { "maxDaveProtocolVersion must be >= 0, was $maxDaveProtocolVersion" }
            require(handshakeTimeout > Duration.ZERO) { "handshakeTimeout must be positive, was $handshakeTimeout" }
            require(ipDiscoveryTimeout > Duration.ZERO) { "ipDiscoveryTimeout must be positive, was $ipDiscoveryTimeout" }
            require(ipDiscoveryAttempts >= 1) { "ipDiscoveryAttempts must be >= 1, was $ipDiscoveryAttempts" }
            require(missedHeartbeatAcks >= 1) { "missedHeartbeatAcks must be >= 1, was $missedHeartbeatAcks" }
            require(maxReconnectAttempts >= 1) { "maxReconnectAttempts must be >= 1, was $maxReconnectAttempts" }
            require(udpKeepaliveInterval >= 100.milliseconds) { "udpKeepaliveInterval must be at least 100 ms, was $udpKeepaliveInterval" }
            require(reconnectDelay >= Duration.ZERO) { "reconnectDelay must not be negative, was $reconnectDelay" }
            require(reconnectDelayMax >= reconnectDelay) { "reconnectDelayMax ($reconnectDelayMax) must not be below reconnectDelay ($reconnectDelay)" }
            require(moveGrace >= Duration.ZERO) { "moveGrace must not be negative, was $moveGrace" }
            require(healthyAfter > Duration.ZERO) { "healthyAfter must be positive, was $healthyAfter" }
            return VoiceConnectionConfig(this)
        }
    }

    /** The defaults, and the builder for Java. */
    public companion object {
        /** Every setting at its default. */
        @JvmField
        public val DEFAULT: VoiceConnectionConfig = Builder().build()

        /** A builder with every setting at its default (Java; Kotlin uses `VoiceConnectionConfig { ... }`). */
        @JvmStatic
        public fun builder(): Builder = Builder()
    }
}

/** Builds a [VoiceConnectionConfig]: `VoiceConnectionConfig { secure = false }`. */
public fun VoiceConnectionConfig(block: VoiceConnectionConfig.Builder.() -> Unit = {}): VoiceConnectionConfig =
    VoiceConnectionConfig.Builder().apply(block).build()

/**
 * Bounded exponential backoff with jitter: attempt 1 (the first retry since the connection last stayed healthy)
 * retries at once, then [initial], doubling up to [max], each randomised down to half.
 */
internal class Backoff(private val initial: Duration, private val max: Duration, private val random: kotlin.random.Random = kotlin.random.Random) {
    fun delayFor(attempt: Int): Duration {
        if (attempt <= 1 || initial == Duration.ZERO) return Duration.ZERO
        val exp = (attempt - 2).coerceAtMost(30)
        val full = (initial * (1L shl exp).toDouble()).coerceAtMost(max)
        return full * (0.5 + random.nextDouble() * 0.5)
    }
}
