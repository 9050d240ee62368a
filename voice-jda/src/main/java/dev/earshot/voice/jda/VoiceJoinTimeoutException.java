package dev.earshot.voice.jda;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeoutException;

/**
 * Discord did not answer a voice join (or move) in time: JDA did not deliver the bot's VOICE_STATE_UPDATE for the
 * channel and/or a VOICE_SERVER_UPDATE for the guild within the join timeout. {@link #missing()} names the events that
 * never came. The leave (op 4 without a channel) has been sent, so Discord keeps no ghost state. Usual causes: missing
 * permissions (Connect, View Channel), a full channel, or the {@code GUILD_VOICE_STATES} intent or the
 * {@code VOICE_STATE} cache flag not enabled (JDA then never passes the voice state on).
 */
public final class VoiceJoinTimeoutException extends TimeoutException {
    private static final long serialVersionUID = 1L;

    private final long guildId;
    private final long channelId;
    private final List<String> missing;
    private final Duration timeout;

    VoiceJoinTimeoutException(long guildId, long channelId, List<String> missing, Duration timeout) {
        super("no " + String.join(" and ", missing) + " for guild " + Long.toUnsignedString(guildId) + " within " + timeout
                + " after asking to join voice channel " + Long.toUnsignedString(channelId)
                + " (check the bot's Connect permission, the GUILD_VOICE_STATES intent and the VOICE_STATE cache flag)");
        this.guildId = guildId;
        this.channelId = channelId;
        this.missing = List.copyOf(missing);
        this.timeout = timeout;
    }

    /** The guild of the join. */
    public long guildId() {
        return guildId;
    }

    /** The channel asked for. */
    public long channelId() {
        return channelId;
    }

    /** The gateway events that never came: {@code VOICE_STATE_UPDATE}, {@code VOICE_SERVER_UPDATE}, or both. */
    public List<String> missing() {
        return missing;
    }

    /** How long the join waited. */
    public Duration timeout() {
        return timeout;
    }
}
