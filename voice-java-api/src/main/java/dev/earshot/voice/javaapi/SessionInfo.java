package dev.earshot.voice.javaapi;

import org.jspecify.annotations.Nullable;

import java.util.Objects;

/**
 * What the main Discord gateway gives a bot for one voice session: {@code sessionId} from VOICE_STATE_UPDATE,
 * {@code token} and {@code endpoint} from VOICE_SERVER_UPDATE.
 *
 * @param guildId   the guild (the voice gateway's {@code server_id})
 * @param channelId the voice channel when known, else null; DAVE end-to-end encryption needs it (the MLS group id)
 * @param userId    the bot's own user id
 * @param sessionId the main gateway session id
 * @param token     the voice token; never logged, and left out of {@link #toString()}
 * @param endpoint  the voice server host (optionally {@code :port}) without a scheme, as Discord sends it
 */
public record SessionInfo(long guildId, @Nullable Long channelId, long userId, String sessionId, String token, String endpoint) {
    /** Checks that the strings are present. */
    public SessionInfo {
        Objects.requireNonNull(sessionId, "sessionId");
        Objects.requireNonNull(token, "token");
        Objects.requireNonNull(endpoint, "endpoint");
    }

    /** Never includes the token. */
    @Override
    public String toString() {
        return "SessionInfo(guild=" + guildId + ", channel=" + channelId + ", user=" + userId + ", endpoint=" + endpoint + ")";
    }
}
