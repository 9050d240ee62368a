package dev.earshot.voice.testkit

import dev.earshot.voice.crypto.EncryptionMode
import kotlin.time.Duration
import kotlin.time.Duration.Companion.milliseconds
import kotlin.time.Duration.Companion.seconds

/**
 * How a [VoiceTestServer] behaves; every default matches what Discord does in 2026 unless stated.
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
public data class TestServerConfig(
    val tls: Boolean = false,
    val host: String = "127.0.0.1",
    val heartbeatInterval: Duration = 13_750.milliseconds,
    val enforceHeartbeatTimeout: Boolean = true,
    val modes: List<EncryptionMode> = listOf(EncryptionMode.AEAD_AES256_GCM_RTPSIZE, EncryptionMode.AEAD_XCHACHA20_POLY1305_RTPSIZE),
    val extraModes: List<String> = emptyList(),
    val daveProtocolVersion: Int = 1,
    val requireDave: Boolean = false,
    val resumeWindow: Duration = 60.seconds,
    val replayBufferSize: Int = 256,
    val keySwitchDelay: Duration = 200.milliseconds,
    val previousKeyGrace: Duration = 2.seconds,
    val endpointCloseDelay: Duration = 1.seconds,
    val echoKeepalives: Boolean = true,
    val seed: Long? = null,
) {
    init {
        require(heartbeatInterval.isPositive()) { "heartbeatInterval must be positive" }
        require(replayBufferSize >= 1) { "replayBufferSize must be at least 1" }
        require(daveProtocolVersion in 0..1) { "daveProtocolVersion must be 0 or 1, was $daveProtocolVersion" }
        require(!resumeWindow.isNegative() && !keySwitchDelay.isNegative() && !previousKeyGrace.isNegative() &&
            !endpointCloseDelay.isNegative()) { "durations must not be negative" }
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
