package dev.earshot.voice.javaapi;

import dev.earshot.voice.connection.VoiceSessionInfo;
import org.jspecify.annotations.Nullable;

/** The session details the testkit's Kotlin helper ({@code JavaTestKit}) hands the Java tests. */
public record SessionInfo(long guildId, @Nullable Long channelId, long userId, String sessionId, String token, String endpoint) {
    /** As voice-core takes them. */
    public VoiceSessionInfo core() {
        return new VoiceSessionInfo(guildId, channelId, userId, sessionId, token, endpoint);
    }
}
