package dev.earshot.voice.jda;

import dev.earshot.voice.javaapi.JavaVoiceConnection;
import net.dv8tion.jda.api.JDA;
import net.dv8tion.jda.api.entities.Guild;
import net.dv8tion.jda.api.entities.Member;
import net.dv8tion.jda.api.entities.User;
import net.dv8tion.jda.api.entities.channel.middleman.AudioChannel;
import org.jspecify.annotations.Nullable;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;

/**
 * One guild's Earshot voice connection, joined through JDA by {@link JdaVoice}. It follows the bot's voice state as
 * JDA reports it (server moves, reallocations, channel moves by others, shard reconnects) until {@link #disconnect()},
 * {@link JdaVoice#close()}, or Discord ends it (a kick ends it with {@code VoiceChannelLeftException}; see
 * {@link #closed()}).
 *
 * <p>Audio, events and sinks come from {@link #voice()}, the {@code voice-java-api} connection: user ids there are
 * Discord user ids, which {@link #user(long)} and {@link #member(long)} resolve to JDA's entities where JDA has them
 * cached, and {@link #retrieveUser(long)}/{@link #retrieveMember(long)} fetch otherwise. All methods are thread-safe.
 */
public final class JdaVoiceConnection implements AutoCloseable {
    private final JdaVoice manager;
    private final long guildId;
    private final JavaVoiceConnection voice;
    private volatile JDA jda;
    private volatile long channelId;

    JdaVoiceConnection(JdaVoice manager, JDA jda, long guildId, long channelId, JavaVoiceConnection voice) {
        this.manager = manager;
        this.jda = jda;
        this.guildId = guildId;
        this.channelId = channelId;
        this.voice = voice;
    }

    /** The Earshot connection: listeners, publishers, sinks, playback, counters (voice-java-api). */
    public JavaVoiceConnection voice() {
        return voice;
    }

    /** The guild's id. */
    public long guildId() {
        return guildId;
    }

    /** The guild, from the JDA (shard) that serves it; null if JDA no longer has it. */
    public @Nullable Guild guild() {
        return jda.getGuildById(guildId);
    }

    /** The id of the voice channel the bot is in, as JDA last reported it. */
    public long channelId() {
        return channelId;
    }

    /** The voice (or stage) channel the bot is in, or null if JDA does not have it cached. */
    public @Nullable AudioChannel channel() {
        Guild guild = guild();
        return guild == null ? null : guild.getChannelById(AudioChannel.class, channelId);
    }

    /** The JDA instance (the shard) that serves this guild now. */
    public JDA jda() {
        return jda;
    }

    /** Whether the connection has not ended yet (it may be reconnecting). */
    public boolean isAlive() {
        return voice.isAlive();
    }

    /** The JDA user of a user id from {@link #voice()}'s frames and events, or null if JDA has not cached them. */
    public @Nullable User user(long userId) {
        return jda.getUserById(userId);
    }

    /** The guild member of a user id, or null if JDA has not cached them (see the member cache policy). */
    public @Nullable Member member(long userId) {
        Guild guild = guild();
        return guild == null ? null : guild.getMemberById(userId);
    }

    /** The user of {@code userId}: cached, else fetched over REST; completes on the manager's executor. */
    public CompletableFuture<User> retrieveUser(long userId) {
        return manager.onExecutor(jda.retrieveUserById(userId).submit());
    }

    /** The member of {@code userId}: cached, else fetched over REST; completes on the manager's executor. */
    public CompletableFuture<Member> retrieveMember(long userId) {
        Guild guild = guild();
        if (guild == null) {
            return CompletableFuture.failedFuture(new IllegalStateException("JDA no longer has guild " + Long.toUnsignedString(guildId)));
        }
        return manager.onExecutor(guild.retrieveMemberById(userId).submit());
    }

    /**
     * The members in the channel as the voice server announced them (without the bot), those JDA has cached; user ids
     * JDA does not know are left out (see {@code voice().members()} for all ids).
     */
    public List<Member> members() {
        Guild guild = guild();
        List<Member> out = new ArrayList<>();
        if (guild == null) return out;
        for (Long id : voice.members()) {
            Member m = guild.getMemberById(id);
            if (m != null) out.add(m);
        }
        return out;
    }

    /**
     * Completes when the connection has ended, on the manager's executor: normally after a disconnect, exceptionally
     * with the cause when it ended on its own ({@code VoiceChannelLeftException} after a kick, or another
     * {@code VoiceConnectionException}), as {@code JavaVoiceConnection.closed()}.
     */
    public CompletableFuture<Void> closed() {
        return manager.onExecutor(voice.closed());
    }

    /**
     * Leaves the channel (op 4 through JDA) and closes the connection; see {@link JdaVoice#disconnect(Guild)}.
     * Completes on the manager's executor once sinks are finished.
     */
    public CompletableFuture<Void> disconnect() {
        return manager.disconnect(guildId);
    }

    /** {@link #disconnect()} and waits for it, at most the manager's {@link JdaVoice#closeTimeout()}. */
    @Override
    public void close() {
        manager.await(disconnect(), manager.closeTimeout());
    }

    void update(JDA jda, long channelId) {
        this.jda = Objects.requireNonNull(jda);
        this.channelId = channelId;
    }

    @Override
    public String toString() {
        return "JdaVoiceConnection(guild=" + Long.toUnsignedString(guildId) + ", channel=" + Long.toUnsignedString(channelId) + ", " + voice.state() + ")";
    }
}
