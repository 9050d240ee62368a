package dev.earshot.voice.kord

import dev.kord.common.entity.Snowflake
import kotlin.time.Duration

/**
 * Discord did not answer a voice join (or move) in time: the main gateway did not deliver the bot's
 * VOICE_STATE_UPDATE and/or a VOICE_SERVER_UPDATE with an endpoint for [guildId] within [timeout]. [missing] names
 * the events that never came. The leave (op 4 without a channel) has been sent, so Discord keeps no ghost state.
 * Usual causes: missing permissions (Connect, View Channel), a full channel, or the `GuildVoiceStates` intent not
 * enabled (Kord then never receives the voice state).
 */
public class VoiceJoinTimeoutException(
    /** The guild of the join. */
    public val guildId: Snowflake,
    /** The channel asked for. */
    public val channelId: Snowflake,
    /** The gateway events that never came: `VOICE_STATE_UPDATE`, `VOICE_SERVER_UPDATE`, or both. */
    public val missing: List<String>,
    /** How long the join waited. */
    public val timeout: Duration,
) : Exception(
    "no ${missing.joinToString(" and ")} for guild $guildId within $timeout after asking to join voice channel $channelId " +
        "(check the bot's Connect permission and the GuildVoiceStates intent)",
)
