package dev.earshot.voice.connection

/**
 * What the main Discord gateway hands a bot for one voice session: [sessionId] from VOICE_STATE_UPDATE, [token] and
 * [endpoint] from VOICE_SERVER_UPDATE (docs/protocol.md §2.1).
 *
 * @property guildId the guild (the voice gateway's `server_id`).
 * @property channelId the voice channel, when known (DAVE uses it as the MLS group id).
 * @property userId the bot's own user id.
 * @property sessionId the main gateway session id from VOICE_STATE_UPDATE.
 * @property token the voice token from VOICE_SERVER_UPDATE; never logged.
 * @property endpoint the voice server host (optionally `:port`), without a scheme, as Discord sends it.
 */
public class VoiceSessionInfo(
    public val guildId: Long,
    public val channelId: Long?,
    public val userId: Long,
    public val sessionId: String,
    public val token: String,
    public val endpoint: String,
) {
    /** A copy for a new VOICE_SERVER_UPDATE (a server move, or a new token after a channel change). */
    public fun withServer(token: String, endpoint: String): VoiceSessionInfo =
        VoiceSessionInfo(guildId, channelId, userId, sessionId, token, endpoint)

    /** Never includes the token. */
    override fun toString(): String =
        "VoiceSessionInfo(guild=$guildId, channel=$channelId, user=$userId, endpoint=$endpoint)"
}
