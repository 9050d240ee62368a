package dev.earshot.voice.kord

import dev.kord.common.entity.Snowflake

/**
 * Disconnecting several guilds failed for some of them ([KordVoice.close], [KordVoice.disconnectAll]): every guild
 * was tried, and [failures] holds each failed guild's cause (also attached as suppressed exceptions). The
 * connections themselves are closed even when their leave could not be sent.
 */
public class KordVoiceCloseException(
    /** Each guild whose disconnect failed, with why. */
    public val failures: Map<Snowflake, Throwable>,
) : Exception(
    "disconnecting failed in ${failures.size} guild(s): " +
        failures.entries.joinToString("; ") { (guild, cause) -> "guild $guild: $cause" },
) {
    init {
        failures.values.forEach(::addSuppressed)
    }
}
