package dev.earshot.voice.kord

import dev.kord.common.entity.Snowflake
import kotlinx.coroutines.withTimeoutOrNull
import kotlin.time.Duration

/** What a join collected: the bot's voice session id and the voice server to connect to. */
internal class JoinGrant(val sessionId: String, val token: String, val endpoint: String)

/**
 * Reads [events] (already subscribed, op 4 already sent) until both the bot's VOICE_STATE_UPDATE for [channelId] and
 * a VOICE_SERVER_UPDATE with an endpoint have come, in either order; a server update with a null endpoint means the
 * server is being allocated, so the next one is awaited. Later events stay queued for the connection's follower.
 * Throws [VoiceJoinTimeoutException] naming what did not come within [timeout].
 */
internal suspend fun awaitJoin(events: GuildVoiceEvents, guildId: Snowflake, channelId: Snowflake, timeout: Duration): JoinGrant {
    var state: GuildVoiceEvent.State? = null
    var server: GuildVoiceEvent.Server? = null
    withTimeoutOrNull(timeout) {
        while (state == null || server == null) {
            when (val e = events.events.receive()) {
                // A state for another channel is an older one (sent before our op 4 took effect): keep waiting.
                is GuildVoiceEvent.State -> if (e.channelId == channelId.toLong()) state = e
                is GuildVoiceEvent.Server -> if (e.endpoint != null) server = e
            }
        }
    }
    val s = state
    val v = server
    if (s == null || v == null) {
        val missing = listOfNotNull("VOICE_STATE_UPDATE".takeIf { s == null }, "VOICE_SERVER_UPDATE".takeIf { v == null })
        throw VoiceJoinTimeoutException(guildId, channelId, missing, timeout)
    }
    return JoinGrant(s.sessionId, v.token, checkNotNull(v.endpoint))
}
