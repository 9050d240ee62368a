package dev.earshot.voice.connection

import dev.earshot.voice.ReceiveConfig
import dev.earshot.voice.dave.DaveSessionFactory
import dev.earshot.voice.dave.JvmDaveSession
import dev.earshot.voice.gateway.GatewayConnector
import javax.net.ssl.X509TrustManager
import kotlin.time.Duration
import kotlin.time.Duration.Companion.milliseconds
import kotlin.time.Duration.Companion.seconds

/**
 * Settings of a [VoiceConnection]; build one with `VoiceConnectionConfig { ... }`. Defaults suit Discord.
 */
public class VoiceConnectionConfig private constructor(b: Builder) {
    /** The receive pipeline's settings (decoding, jitter buffer, clock...); default [ReceiveConfig.DEFAULT]. */
    public val receive: ReceiveConfig = b.receive
    /**
     * The highest DAVE (end-to-end encryption) protocol version offered in Identify; default 1, which Discord requires
     * in every non-stage channel since March 2026. 0 offers no DAVE: transport encryption only (stage channels, test
     * servers), and a channel that requires DAVE then closes with 4017.
     */
    public val maxDaveProtocolVersion: Int = b.maxDaveProtocolVersion
    /** Makes the DAVE session when DAVE is offered; default [JvmDaveSession.FACTORY] (pure JVM). */
    public val daveSessionFactory: DaveSessionFactory = b.daveSessionFactory
    /** Use `wss://` (default true); false connects with plain `ws://`, for a local test server without TLS. */
    public val secure: Boolean = b.secure
    /** Trust for the voice server's TLS certificate; null (default) uses the JVM's trust store. */
    public val trustManager: X509TrustManager? = b.trustManager
    /** Time allowed from opening a socket to Ready and Session Description, or to Resumed; default 10 s. */
    public val handshakeTimeout: Duration = b.handshakeTimeout
    /** How long to wait for each IP discovery answer; default 1 s. */
    public val ipDiscoveryTimeout: Duration = b.ipDiscoveryTimeout
    /** IP discovery requests sent before giving up on a socket; default 3. */
    public val ipDiscoveryAttempts: Int = b.ipDiscoveryAttempts
    /** Interval of the UDP keepalive that holds the NAT mapping open; default 5 s. */
    public val udpKeepaliveInterval: Duration = b.udpKeepaliveInterval
    /** Unacknowledged heartbeats after which the socket counts as dead and is resumed; default 3 (as discord.js). */
    public val missedHeartbeatAcks: Int = b.missedHeartbeatAcks
    /**
     * First delay between reconnect attempts that did not stay healthy (the first retry is immediate); doubles up to
     * [reconnectDelayMax]; default 1 s.
     */
    public val reconnectDelay: Duration = b.reconnectDelay
    /** Longest delay between reconnect attempts; default 30 s. Each delay is randomised down to half (jitter). */
    public val reconnectDelayMax: Duration = b.reconnectDelayMax
    /**
     * How long a connection closed with 4014 (disconnected) waits for the bot's own voice state update before it ends;
     * default 3 s. Discord closes the old voice session of a bot moved to another channel, and the main gateway's
     * update for the move can come after that close; a kick brings an update without a channel, which ends the
     * connection at once. Zero ends it on the 4014 itself.
     */
    public val moveGrace: Duration = b.moveGrace
    /**
     * Consecutive attempts that did not stay healthy after which the connection gives up with
     * [VoiceReconnectFailedException]; default 8. An attempt that failed, and one that completed the handshake but
     * dropped within [healthyAfter], both count; a socket that stayed connected for [healthyAfter] starts the count
     * over, and its drop is retried at once.
     */
    public val maxReconnectAttempts: Int = b.maxReconnectAttempts
    /**
     * How long a socket must stay connected before its drop counts as a fresh start (retried at once, with the backoff
     * and the give-up count reset); default 60 s. A server that completes the handshake and drops sooner is retried
     * with growing delays ([reconnectDelay] doubling to [reconnectDelayMax]), never in a tight loop.
     */
    public val healthyAfter: Duration = b.healthyAfter

    internal val gatewayConnector: GatewayConnector? = b.gatewayConnector
    internal val udpConnector: UdpConnector? = b.udpConnector

    /** Mutable settings for the `VoiceConnectionConfig { }` builder; see the properties above for meanings and defaults. */
    public class Builder internal constructor() {
        public var receive: ReceiveConfig = ReceiveConfig.DEFAULT
        public var maxDaveProtocolVersion: Int = JvmDaveSession.MAX_PROTOCOL_VERSION
        public var daveSessionFactory: DaveSessionFactory = JvmDaveSession.FACTORY
        public var secure: Boolean = true
        public var trustManager: X509TrustManager? = null
        public var handshakeTimeout: Duration = 10.seconds
        public var ipDiscoveryTimeout: Duration = 1.seconds
        public var ipDiscoveryAttempts: Int = 3
        public var udpKeepaliveInterval: Duration = 5.seconds
        public var missedHeartbeatAcks: Int = 3
        public var reconnectDelay: Duration = 1.seconds
        public var reconnectDelayMax: Duration = 30.seconds
        public var maxReconnectAttempts: Int = 8
        public var moveGrace: Duration = 3.seconds
        public var healthyAfter: Duration = 60.seconds

        internal var gatewayConnector: GatewayConnector? = null
        internal var udpConnector: UdpConnector? = null

        internal fun build(): VoiceConnectionConfig {
            require(maxDaveProtocolVersion >= 0) { "maxDaveProtocolVersion must be >= 0" }
            require(handshakeTimeout > Duration.ZERO && ipDiscoveryTimeout > Duration.ZERO) { "timeouts must be positive" }
            require(ipDiscoveryAttempts >= 1 && missedHeartbeatAcks >= 1 && maxReconnectAttempts >= 1) { "counts must be >= 1" }
            require(udpKeepaliveInterval >= 100.milliseconds) { "udpKeepaliveInterval must be at least 100 ms" }
            require(reconnectDelay >= Duration.ZERO && reconnectDelayMax >= reconnectDelay) { "bad reconnect delays" }
            require(moveGrace >= Duration.ZERO) { "moveGrace must not be negative" }
            require(healthyAfter > Duration.ZERO) { "healthyAfter must be positive" }
            return VoiceConnectionConfig(this)
        }
    }

    /** The defaults. */
    public companion object {
        /** Every setting at its default. */
        public val DEFAULT: VoiceConnectionConfig = Builder().build()
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
