package dev.earshot.voice.javaapi;

import dev.earshot.voice.connection.VoiceConnectionConfig;
import dev.earshot.voice.javaapi.internal.CoreConfigs;
import org.jspecify.annotations.Nullable;

import javax.net.ssl.X509TrustManager;
import java.time.Duration;
import java.util.Objects;

/**
 * Settings of a voice connection, immutable; build one with {@code VoiceConfig.builder()...build()}. Every setting
 * states its default, and the defaults suit Discord. Invalid values fail {@link Builder#build()} with an
 * {@link IllegalArgumentException}.
 */
public final class VoiceConfig {
    /** Every setting at its default. */
    public static final VoiceConfig DEFAULT = builder().build();
    private final boolean secure;
    private final X509TrustManager trustManager;
    private final int maxDaveProtocolVersion;
    private final Duration handshakeTimeout;
    private final Duration ipDiscoveryTimeout;
    private final int ipDiscoveryAttempts;
    private final Duration udpKeepaliveInterval;
    private final int missedHeartbeatAcks;
    private final Duration reconnectDelay;
    private final Duration reconnectDelayMax;
    private final int maxReconnectAttempts;
    private final Duration moveGrace;
    private final Duration healthyAfter;
    private final AudioFormat decode;
    private final boolean nativeOpus;
    private final Duration playoutDelay;
    private final boolean adaptivePlayout;
    private final Duration minPlayoutDelay;
    private final Duration maxPlayoutDelay;
    private final Duration maxConcealment;
    private final int jitterCapacity;
    private final int maxSsrcs;
    private final Duration speakingHang;
    private final int tickQueueCapacity;
    private final Duration closeTimeout;
    private final VoiceConnectionConfig core;

    private VoiceConfig(Builder b) {
        this.secure = b.secure;
        this.trustManager = b.trustManager;
        this.maxDaveProtocolVersion = b.maxDaveProtocolVersion;
        this.handshakeTimeout = b.handshakeTimeout;
        this.ipDiscoveryTimeout = b.ipDiscoveryTimeout;
        this.ipDiscoveryAttempts = b.ipDiscoveryAttempts;
        this.udpKeepaliveInterval = b.udpKeepaliveInterval;
        this.missedHeartbeatAcks = b.missedHeartbeatAcks;
        this.reconnectDelay = b.reconnectDelay;
        this.reconnectDelayMax = b.reconnectDelayMax;
        this.maxReconnectAttempts = b.maxReconnectAttempts;
        this.moveGrace = b.moveGrace;
        this.healthyAfter = b.healthyAfter;
        this.decode = b.decode;
        this.nativeOpus = b.nativeOpus;
        this.playoutDelay = b.playoutDelay;
        this.adaptivePlayout = b.adaptivePlayout;
        this.minPlayoutDelay = b.minPlayoutDelay;
        this.maxPlayoutDelay = b.maxPlayoutDelay;
        this.maxConcealment = b.maxConcealment;
        this.jitterCapacity = b.jitterCapacity;
        this.maxSsrcs = b.maxSsrcs;
        this.speakingHang = b.speakingHang;
        this.tickQueueCapacity = b.tickQueueCapacity;
        this.closeTimeout = b.closeTimeout;
        this.core = CoreConfigs.connectionConfig(this);
    }

    /** A builder with every setting at its default. */
    public static Builder builder() {
        return new Builder();
    }

    /** A builder holding these settings. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.secure = secure;
        b.trustManager = trustManager;
        b.maxDaveProtocolVersion = maxDaveProtocolVersion;
        b.handshakeTimeout = handshakeTimeout;
        b.ipDiscoveryTimeout = ipDiscoveryTimeout;
        b.ipDiscoveryAttempts = ipDiscoveryAttempts;
        b.udpKeepaliveInterval = udpKeepaliveInterval;
        b.missedHeartbeatAcks = missedHeartbeatAcks;
        b.reconnectDelay = reconnectDelay;
        b.reconnectDelayMax = reconnectDelayMax;
        b.maxReconnectAttempts = maxReconnectAttempts;
        b.moveGrace = moveGrace;
        b.healthyAfter = healthyAfter;
        b.decode = decode;
        b.nativeOpus = nativeOpus;
        b.playoutDelay = playoutDelay;
        b.adaptivePlayout = adaptivePlayout;
        b.minPlayoutDelay = minPlayoutDelay;
        b.maxPlayoutDelay = maxPlayoutDelay;
        b.maxConcealment = maxConcealment;
        b.jitterCapacity = jitterCapacity;
        b.maxSsrcs = maxSsrcs;
        b.speakingHang = speakingHang;
        b.tickQueueCapacity = tickQueueCapacity;
        b.closeTimeout = closeTimeout;
        return b;
    }

    /** Use {@code wss://} (default true); false connects with plain {@code ws://}, for a local test server. */
    public boolean secure() {
        return secure;
    }

    /** Trust for the voice server's TLS certificate; null (default) uses the JVM's trust store. */
    public @Nullable X509TrustManager trustManager() {
        return trustManager;
    }

    /** The highest DAVE (end-to-end encryption) version offered; default 1, which Discord requires in non-stage channels. 0 offers none (transport encryption only), and a channel that requires DAVE then fails with {@code DaveRequiredException} (close code 4017). */
    public int maxDaveProtocolVersion() {
        return maxDaveProtocolVersion;
    }

    /** Time allowed from opening a socket to Ready and Session Description (or Resumed); default 10 s. */
    public Duration handshakeTimeout() {
        return handshakeTimeout;
    }

    /** How long to wait for each IP discovery answer; default 1 s. */
    public Duration ipDiscoveryTimeout() {
        return ipDiscoveryTimeout;
    }

    /** IP discovery requests sent before giving up on a socket; default 3. */
    public int ipDiscoveryAttempts() {
        return ipDiscoveryAttempts;
    }

    /** Interval of the UDP keepalive; default 5 s, at least 100 ms. */
    public Duration udpKeepaliveInterval() {
        return udpKeepaliveInterval;
    }

    /** Unacknowledged heartbeats after which the socket counts as dead and is resumed; default 3. */
    public int missedHeartbeatAcks() {
        return missedHeartbeatAcks;
    }

    /** First delay between failed reconnect attempts (the first retry is immediate), doubling up to {@link #reconnectDelayMax()}; default 1 s. */
    public Duration reconnectDelay() {
        return reconnectDelay;
    }

    /** Longest delay between reconnect attempts; default 30 s. */
    public Duration reconnectDelayMax() {
        return reconnectDelayMax;
    }

    /**
     * Consecutive attempts that did not stay healthy (failed, or connected for less than {@link #healthyAfter()})
     * after which the connection gives up with {@code VoiceReconnectFailedException}; default 8.
     */
    public int maxReconnectAttempts() {
        return maxReconnectAttempts;
    }

    /**
     * How long a connection closed with 4014 (disconnected) waits for the bot's own voice state update before it ends;
     * default 3 s. Discord closes a moved bot's old voice session, and the update for the move can come after that
     * close. Zero ends the connection on the 4014 itself.
     */
    public Duration moveGrace() {
        return moveGrace;
    }

    /**
     * How long a socket must stay connected before its drop counts as a fresh start (retried at once, backoff and
     * give-up count reset); default 60 s. A server that drops sooner is retried with growing delays.
     */
    public Duration healthyAfter() {
        return healthyAfter;
    }

    /** What received audio is decoded to; default {@link AudioFormat#STEREO_48K}. {@link AudioFormat#OPUS_ONLY} skips decoding (no PCM, no combined audio). */
    public AudioFormat decode() {
        return decode;
    }

    /** Decode with native libopus when it loads, else the pure-Java Concentus decoder (default false: Concentus). */
    public boolean nativeOpus() {
        return nativeOpus;
    }

    /**
     * How long a speaker's audio waits in its jitter buffer: the fixed delay, or with {@link #adaptivePlayout()} the
     * delay a new speaker starts with; default 60 ms. Rounded to whole 20 ms ticks.
     */
    public Duration playoutDelay() {
        return playoutDelay;
    }

    /**
     * Whether each speaker's playout delay follows its measured arrival jitter, between {@link #minPlayoutDelay()}
     * and {@link #maxPlayoutDelay()}, starting at {@link #playoutDelay()} (default true); false keeps
     * {@link #playoutDelay()} fixed. The adaptive delay grows as soon as packets come late and shrinks by at most
     * 20 ms per talk-spurt boundary once the network calms down.
     */
    public boolean adaptivePlayout() {
        return adaptivePlayout;
    }

    /** The lowest adaptive playout delay; default 20 ms. Unused with a fixed delay. */
    public Duration minPlayoutDelay() {
        return minPlayoutDelay;
    }

    /** The highest adaptive playout delay; default 500 ms, at most 5 s. Unused with a fixed delay. */
    public Duration maxPlayoutDelay() {
        return maxPlayoutDelay;
    }

    /** How long to conceal when a speaker's packets stop without silence frames; default 60 ms. */
    public Duration maxConcealment() {
        return maxConcealment;
    }

    /** Jitter-buffer size per speaker, in packets; default 256 (5.12 s). */
    public int jitterCapacity() {
        return jitterCapacity;
    }

    /** Most speakers tracked at once; default 64. */
    public int maxSsrcs() {
        return maxSsrcs;
    }

    /** How long a speaker must be without audio before a speaking stop; default 200 ms. */
    public Duration speakingHang() {
        return speakingHang;
    }

    /** Ticks queued per listener, publisher or stream before the oldest is dropped (and counted in {@link ReceiveCounters#droppedTicks()}); default 250 (5 s). */
    public int tickQueueCapacity() {
        return tickQueueCapacity;
    }

    /** How long {@link JavaVoiceConnection#close()} and {@link ActiveSink#close()} wait; default 5 s. */
    public Duration closeTimeout() {
        return closeTimeout;
    }

    /** The voice-core settings these map to. */
    VoiceConnectionConfig core() {
        return core;
    }

    /** Mutable builder of a {@link VoiceConfig}; see the getters there for meanings and defaults. Not thread-safe. */
    public static final class Builder {
        private boolean secure = true;
        private X509TrustManager trustManager = null;
        private int maxDaveProtocolVersion = 1;
        private Duration handshakeTimeout = Duration.ofSeconds(10);
        private Duration ipDiscoveryTimeout = Duration.ofSeconds(1);
        private int ipDiscoveryAttempts = 3;
        private Duration udpKeepaliveInterval = Duration.ofSeconds(5);
        private int missedHeartbeatAcks = 3;
        private Duration reconnectDelay = Duration.ofSeconds(1);
        private Duration reconnectDelayMax = Duration.ofSeconds(30);
        private int maxReconnectAttempts = 8;
        private Duration moveGrace = Duration.ofSeconds(3);
        private Duration healthyAfter = Duration.ofSeconds(60);
        private AudioFormat decode = AudioFormat.STEREO_48K;
        private boolean nativeOpus = false;
        private Duration playoutDelay = Duration.ofMillis(60);
        private boolean adaptivePlayout = true;
        private Duration minPlayoutDelay = Duration.ofMillis(20);
        private Duration maxPlayoutDelay = Duration.ofMillis(500);
        private Duration maxConcealment = Duration.ofMillis(60);
        private int jitterCapacity = 256;
        private int maxSsrcs = 64;
        private Duration speakingHang = Duration.ofMillis(200);
        private int tickQueueCapacity = 250;
        private Duration closeTimeout = Duration.ofSeconds(5);

        private Builder() {
        }

        /** See {@link VoiceConfig#secure()}. */
        public Builder secure(boolean value) {
            this.secure = value;
            return this;
        }

        /** See {@link VoiceConfig#trustManager()}. */
        public Builder trustManager(@Nullable X509TrustManager value) {
            this.trustManager = value;
            return this;
        }

        /** See {@link VoiceConfig#maxDaveProtocolVersion()}. */
        public Builder maxDaveProtocolVersion(int value) {
            this.maxDaveProtocolVersion = value;
            return this;
        }

        /** See {@link VoiceConfig#handshakeTimeout()}. */
        public Builder handshakeTimeout(Duration value) {
            Objects.requireNonNull(value, "handshakeTimeout");
            this.handshakeTimeout = value;
            return this;
        }

        /** See {@link VoiceConfig#ipDiscoveryTimeout()}. */
        public Builder ipDiscoveryTimeout(Duration value) {
            Objects.requireNonNull(value, "ipDiscoveryTimeout");
            this.ipDiscoveryTimeout = value;
            return this;
        }

        /** See {@link VoiceConfig#ipDiscoveryAttempts()}. */
        public Builder ipDiscoveryAttempts(int value) {
            this.ipDiscoveryAttempts = value;
            return this;
        }

        /** See {@link VoiceConfig#udpKeepaliveInterval()}. */
        public Builder udpKeepaliveInterval(Duration value) {
            Objects.requireNonNull(value, "udpKeepaliveInterval");
            this.udpKeepaliveInterval = value;
            return this;
        }

        /** See {@link VoiceConfig#missedHeartbeatAcks()}. */
        public Builder missedHeartbeatAcks(int value) {
            this.missedHeartbeatAcks = value;
            return this;
        }

        /** See {@link VoiceConfig#reconnectDelay()}. */
        public Builder reconnectDelay(Duration value) {
            Objects.requireNonNull(value, "reconnectDelay");
            this.reconnectDelay = value;
            return this;
        }

        /** See {@link VoiceConfig#reconnectDelayMax()}. */
        public Builder reconnectDelayMax(Duration value) {
            Objects.requireNonNull(value, "reconnectDelayMax");
            this.reconnectDelayMax = value;
            return this;
        }

        /** See {@link VoiceConfig#maxReconnectAttempts()}. */
        public Builder maxReconnectAttempts(int value) {
            this.maxReconnectAttempts = value;
            return this;
        }

        /** See {@link VoiceConfig#moveGrace()}. */
        public Builder moveGrace(Duration value) {
            Objects.requireNonNull(value, "moveGrace");
            this.moveGrace = value;
            return this;
        }

        /** See {@link VoiceConfig#healthyAfter()}. */
        public Builder healthyAfter(Duration value) {
            Objects.requireNonNull(value, "healthyAfter");
            this.healthyAfter = value;
            return this;
        }

        /** See {@link VoiceConfig#decode()}. */
        public Builder decode(AudioFormat value) {
            Objects.requireNonNull(value, "decode");
            this.decode = value;
            return this;
        }

        /** See {@link VoiceConfig#nativeOpus()}. */
        public Builder nativeOpus(boolean value) {
            this.nativeOpus = value;
            return this;
        }

        /** See {@link VoiceConfig#playoutDelay()}. */
        public Builder playoutDelay(Duration value) {
            Objects.requireNonNull(value, "playoutDelay");
            this.playoutDelay = value;
            return this;
        }

        /** See {@link VoiceConfig#adaptivePlayout()}. */
        public Builder adaptivePlayout(boolean value) {
            this.adaptivePlayout = value;
            return this;
        }

        /** See {@link VoiceConfig#minPlayoutDelay()}. */
        public Builder minPlayoutDelay(Duration value) {
            Objects.requireNonNull(value, "minPlayoutDelay");
            this.minPlayoutDelay = value;
            return this;
        }

        /** See {@link VoiceConfig#maxPlayoutDelay()}. */
        public Builder maxPlayoutDelay(Duration value) {
            Objects.requireNonNull(value, "maxPlayoutDelay");
            this.maxPlayoutDelay = value;
            return this;
        }

        /** See {@link VoiceConfig#maxConcealment()}. */
        public Builder maxConcealment(Duration value) {
            Objects.requireNonNull(value, "maxConcealment");
            this.maxConcealment = value;
            return this;
        }

        /** See {@link VoiceConfig#jitterCapacity()}. */
        public Builder jitterCapacity(int value) {
            this.jitterCapacity = value;
            return this;
        }

        /** See {@link VoiceConfig#maxSsrcs()}. */
        public Builder maxSsrcs(int value) {
            this.maxSsrcs = value;
            return this;
        }

        /** See {@link VoiceConfig#speakingHang()}. */
        public Builder speakingHang(Duration value) {
            Objects.requireNonNull(value, "speakingHang");
            this.speakingHang = value;
            return this;
        }

        /** See {@link VoiceConfig#tickQueueCapacity()}. */
        public Builder tickQueueCapacity(int value) {
            this.tickQueueCapacity = value;
            return this;
        }

        /** See {@link VoiceConfig#closeTimeout()}. */
        public Builder closeTimeout(Duration value) {
            Objects.requireNonNull(value, "closeTimeout");
            this.closeTimeout = value;
            return this;
        }

        /** The settings; throws {@link IllegalArgumentException} when a value is out of range. */
        public VoiceConfig build() {
            return new VoiceConfig(this);
        }
    }
}
