package dev.earshot.voice.jda;

import dev.earshot.voice.connection.VoiceChannelLeftException;
import dev.earshot.voice.connection.VoiceConnectionConfig;
import dev.earshot.voice.connection.VoiceSessionInfo;
import dev.earshot.voice.javaapi.EarshotVoice;
import dev.earshot.voice.javaapi.JavaVoiceConnection;
import net.dv8tion.jda.api.JDA;
import net.dv8tion.jda.api.entities.Guild;
import net.dv8tion.jda.api.entities.channel.middleman.AudioChannel;
import net.dv8tion.jda.api.events.GenericEvent;
import net.dv8tion.jda.api.events.guild.GuildLeaveEvent;
import net.dv8tion.jda.api.events.session.SessionRecreateEvent;
import net.dv8tion.jda.api.hooks.EventListener;
import net.dv8tion.jda.api.hooks.VoiceDispatchInterceptor;
import net.dv8tion.jda.api.sharding.ShardManager;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;

/**
 * Earshot voice connections for a JDA bot (a {@code JDA} or every shard of a {@code ShardManager}), at most one per
 * guild. Install it as JDA's voice interceptor, so JDA hands the bot's voice events to Earshot instead of opening its
 * own voice connection:
 *
 * <pre>{@code
 * JdaVoice voice = JdaVoice.create();
 * JDA jda = JDABuilder.createDefault(token)
 *         .enableIntents(GatewayIntent.GUILD_VOICE_STATES).enableCache(CacheFlag.VOICE_STATE)
 *         .setVoiceDispatchInterceptor(voice)
 *         .build();
 * JdaVoiceConnection c = voice.connect(voiceChannel).get(15, TimeUnit.SECONDS);
 * c.voice().listen(Sinks.perUserWav(dir));
 * }</pre>
 *
 * <p>Joins send op 4 through {@code jda.getDirectAudioController()} and wait for JDA's VOICE_STATE_UPDATE and
 * VOICE_SERVER_UPDATE. Afterwards each connection follows the main gateway: a new voice server (reallocation, server
 * move) makes it re-identify there; a move to another channel by someone else carries it along (also when the voice
 * server's 4014 close comes before the move's voice state); a voice state without a channel (a kick) ends it with
 * {@code VoiceChannelLeftException}; after a shard's new gateway session (JDA's {@code SessionRecreateEvent}) the join
 * is sent again so Discord gives it a fresh voice session; a guild the bot leaves ends it.
 *
 * <p>For a bot that also plays music through another voice system (a Lavalink client), give that system's interceptor
 * to {@link Builder#delegate}: every voice event reaches both.
 *
 * <p>Threads: futures this manager returns complete, and their dependent stages run, on the {@link Builder#executor}
 * (default the common pool), never on JDA's gateway thread; listeners on a connection run on the executor given to
 * them. All methods are thread-safe.
 */
public final class JdaVoice implements VoiceDispatchInterceptor, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(JdaVoice.class);
    private static final String STATE = "VOICE_STATE_UPDATE";
    private static final String SERVER = "VOICE_SERVER_UPDATE";

    private final Duration joinTimeout;
    private final Duration closeTimeout;
    private final VoiceConnectionConfig defaultConfig;
    private final Executor executor;
    private final @Nullable VoiceDispatchInterceptor delegate;
    private final ScheduledExecutorService timer;
    private final Object lock = new Object();
    /** Guarded by {@link #lock}. */
    private final Map<Long, Slot> slots = new HashMap<>();
    /** The JDAs and ShardManagers whose events this manager listens to. Guarded by {@link #lock}. */
    private final Set<Object> attached = Collections.newSetFromMap(new IdentityHashMap<>());
    private final EventListener listener = this::onEvent;
    private volatile boolean closed;

    private JdaVoice(Builder b) {
        this.joinTimeout = b.joinTimeout;
        this.closeTimeout = b.closeTimeout;
        this.defaultConfig = b.config;
        this.executor = b.executor;
        this.delegate = b.delegate;
        ScheduledThreadPoolExecutor t = new ScheduledThreadPoolExecutor(1, r -> {
            Thread thread = new Thread(r, "earshot-jda-timer");
            thread.setDaemon(true);
            return thread;
        });
        t.setRemoveOnCancelPolicy(true);
        this.timer = t;
    }

    /**
     * A manager with every default: 10 s join timeout, 15 s close timeout, {@link VoiceConnectionConfig#DEFAULT}, the
     * common pool, no delegate.
     */
    public static JdaVoice create() {
        return builder().build();
    }

    /** A builder for a manager with other settings. */
    public static Builder builder() {
        return new Builder();
    }

    /** How long a join or channel move waits for Discord's answer. */
    public Duration joinTimeout() {
        return joinTimeout;
    }

    /** How long {@link JdaVoiceConnection#close()} waits for a disconnect ({@link #close()}: twice that for all guilds). */
    public Duration closeTimeout() {
        return closeTimeout;
    }

    /** The connection settings {@link #connect(AudioChannel)} uses. */
    public VoiceConnectionConfig defaultConfig() {
        return defaultConfig;
    }

    /** Whether this manager can still connect: false after {@link #close()}. */
    public boolean isAlive() {
        return !closed;
    }

    /** {@link #connect(AudioChannel, VoiceConnectionConfig)} with {@link #defaultConfig()}. */
    public CompletableFuture<JdaVoiceConnection> connect(AudioChannel channel) {
        return connect(channel, defaultConfig);
    }

    /**
     * Joins {@code channel} (a voice or stage channel) and completes once audio can flow. Sends op 4 through JDA's
     * {@code DirectAudioController}, waits up to {@link #joinTimeout()} for the bot's VOICE_STATE_UPDATE in that
     * channel and a VOICE_SERVER_UPDATE, then connects with {@code config}.
     *
     * <p>With a live connection in the guild: the same channel completes with it at once; another channel moves it
     * there (op 4, then the bot's new voice state within the join timeout) and completes with the same connection,
     * recordings carrying on. A join already under way for the guild is shared (same channel) or followed by the move.
     *
     * <p>Fails with {@link VoiceJoinTimeoutException} naming the events that did not come (the leave is sent), with
     * the connection's typed {@code VoiceConnectionException}, or with {@link IllegalStateException} after
     * {@link #close()}. Cancelling the future while joining abandons the join and leaves the channel.
     */
    public CompletableFuture<JdaVoiceConnection> connect(AudioChannel channel, VoiceConnectionConfig config) {
        Objects.requireNonNull(channel, "channel");
        Objects.requireNonNull(config, "config");
        if (closed) return CompletableFuture.failedFuture(new IllegalStateException("this JdaVoice is closed"));
        JDA jda = channel.getJDA();
        attach(jda);
        long guildId = channel.getGuild().getIdLong();
        long channelId = channel.getIdLong();
        CompletableFuture<JdaVoiceConnection> result;
        synchronized (lock) {
            Slot s = slots.get(guildId);
            if (s != null && s.connection == null && s.join != null) {
                if (s.channelId == channelId) return s.join;
                // Another channel while a join runs: let it finish (either way), then connect again (a move or a join).
                return s.join.handle((c, e) -> null).thenCompose(x -> connect(channel, config));
            }
            if (s != null && s.connection != null) {
                if (s.connection.isAlive()) {
                    if (s.channelId == channelId) return onExecutor(CompletableFuture.completedFuture(s.connection));
                    return move(s, channel);
                }
                slots.remove(guildId); // ended; its closed() callback may not have run yet
            }
            Slot slot = new Slot(guildId, channelId, jda, config);
            result = new CompletableFuture<>();
            slot.join = result;
            slots.put(guildId, slot);
            slot.joinTimer = timer.schedule(() -> joinTimedOut(slot), joinTimeout.toNanos(), TimeUnit.NANOSECONDS);
            result.whenComplete((c, e) -> {
                if (result.isCancelled()) abandon(slot);
            });
        }
        LOG.debug("guild {}: joining voice channel {}", guildId, channelId);
        jda.getDirectAudioController().connect(channel);
        return result;
    }

    /** The live connection in {@code guild}, or null. */
    public @Nullable JdaVoiceConnection connection(Guild guild) {
        synchronized (lock) {
            Slot s = slots.get(guild.getIdLong());
            return s == null ? null : s.connection;
        }
    }

    /** The live connections by guild id (a snapshot). A connection that ended by itself leaves this map. */
    public Map<Long, JdaVoiceConnection> connections() {
        Map<Long, JdaVoiceConnection> out = new HashMap<>();
        synchronized (lock) {
            for (Slot s : slots.values()) {
                if (s.connection != null && s.connection.isAlive()) out.put(s.guildId, s.connection);
            }
        }
        return Collections.unmodifiableMap(out);
    }

    /**
     * Leaves the voice channel in {@code guild}: op 4 without a channel through JDA, then the connection is closed
     * (sinks finish). A join under way is abandoned (its future fails with {@link CancellationException}). Completes
     * on the executor when done; without a connection at once. If the leave cannot be sent (JDA shut down, the guild
     * gone), the connection is still closed and the future fails with why.
     */
    public CompletableFuture<Void> disconnect(Guild guild) {
        return disconnect(guild.getIdLong());
    }

    /**
     * Disconnects every guild, concurrently. Every guild is tried; if any failed, the future fails with
     * {@link JdaVoiceCloseException} holding each failed guild's cause.
     */
    public CompletableFuture<Void> disconnectAll() {
        List<Long> guilds;
        synchronized (lock) {
            guilds = new ArrayList<>(slots.keySet());
        }
        Map<Long, Throwable> failures = new ConcurrentHashMap<>();
        CompletableFuture<?>[] all = guilds.stream()
                .map(g -> disconnect(g).handle((v, e) -> {
                    if (e != null) failures.put(g, unwrap(e));
                    return null;
                }))
                .toArray(CompletableFuture[]::new);
        CompletableFuture<Void> done = CompletableFuture.allOf(all).thenCompose(v -> failures.isEmpty()
                ? CompletableFuture.<Void>completedFuture(null)
                : CompletableFuture.<Void>failedFuture(new JdaVoiceCloseException(failures)));
        return onExecutor(done);
    }

    /**
     * Closes the manager: no new connections, every guild disconnected ({@link #disconnectAll()}), its listeners
     * removed from JDA and its timer stopped; the interceptor passes events to the delegate only from then on. Every
     * guild is tried; failures are thrown together as {@link JdaVoiceCloseException}. Waits at most twice
     * {@link #closeTimeout()} (the disconnects run concurrently); what is still running then goes on in the
     * background. Idempotent.
     */
    @Override
    public void close() {
        closed = true;
        try {
            CompletableFuture<Void> all = disconnectAll();
            try {
                all.get(closeTimeout.toNanos() * 2, TimeUnit.NANOSECONDS);
            } catch (ExecutionException e) {
                if (e.getCause() instanceof JdaVoiceCloseException c) throw c;
                throw new JdaVoiceCloseException(Map.of(0L, e.getCause()));
            } catch (TimeoutException e) {
                LOG.warn("voice disconnects still running after {}; they go on in the background", closeTimeout.multipliedBy(2));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        } finally {
            List<Object> targets;
            synchronized (lock) {
                targets = new ArrayList<>(attached);
                attached.clear();
            }
            for (Object t : targets) {
                if (t instanceof ShardManager sm) sm.removeEventListener(listener);
                else ((JDA) t).removeEventListener(listener);
            }
            timer.shutdownNow();
        }
    }

    // ---- VoiceDispatchInterceptor: called by JDA on its gateway thread, so nothing here blocks ----

    /** JDA's VOICE_SERVER_UPDATE (with an endpoint) for the bot: passed to the guild's join or connection, then to the delegate. */
    @Override
    public void onVoiceServerUpdate(VoiceServerUpdate update) {
        try {
            handleServer(update);
        } catch (RuntimeException e) {
            LOG.warn("voice server update for guild {} not applied", update.getGuildIdLong(), e);
        }
        if (delegate != null) delegate.onVoiceServerUpdate(update);
    }

    /**
     * JDA's VOICE_STATE_UPDATE of the bot itself: passed to the guild's join or connection, then to the delegate.
     * Returns true (JDA then drops its queued op 4 for that channel) unless the guild is not Earshot's and the
     * delegate says false.
     */
    @Override
    public boolean onVoiceStateUpdate(VoiceStateUpdate update) {
        boolean ours = false;
        try {
            ours = handleState(update);
        } catch (RuntimeException e) {
            LOG.warn("voice state update for guild {} not applied", update.getGuildIdLong(), e);
        }
        if (delegate == null) return true;
        boolean theirs = delegate.onVoiceStateUpdate(update);
        return ours || theirs;
    }

    private void handleServer(VoiceServerUpdate update) {
        long guildId = update.getGuildIdLong();
        Grant grant = new Grant(update.getToken(), update.getEndpoint());
        Runnable after = null;
        synchronized (lock) {
            Slot s = slots.get(guildId);
            if (s == null) return;
            s.jda = update.getJDA();
            if (s.connection != null) {
                serverLive(s, grant);
            } else if (s.attempt != null) {
                s.backlog.add(() -> serverLive(s, grant));
            } else {
                s.server = grant;
                after = maybeStart(s);
            }
        }
        if (after != null) after.run();
    }

    private boolean handleState(VoiceStateUpdate update) {
        long guildId = update.getGuildIdLong();
        AudioChannel channel = update.getChannel();
        Long channelId = channel == null ? null : channel.getIdLong();
        String sessionId = update.getVoiceState().getSessionId();
        Runnable after = null;
        synchronized (lock) {
            Slot s = slots.get(guildId);
            if (s == null) return false;
            s.jda = update.getJDA();
            if (s.connection != null) {
                stateLive(s, channelId, sessionId);
            } else if (s.attempt != null) {
                s.backlog.add(() -> stateLive(s, channelId, sessionId));
            } else if (channelId != null && channelId == s.channelId && sessionId != null) {
                s.stateSession = sessionId;
                after = maybeStart(s);
            }
            // Else: an older state (sent before our op 4 took effect) or a leave: keep waiting.
        }
        if (after != null) after.run();
        return true;
    }

    /** Under the lock: both events are in, so the connection attempt starts (returned, to run outside the lock). */
    private @Nullable Runnable maybeStart(Slot s) {
        if (s.stateSession == null || s.server == null) return null;
        cancel(s.joinTimer);
        long self = s.jda.getSelfUser().getIdLong();
        VoiceSessionInfo info = new VoiceSessionInfo(s.guildId, s.channelId, self, s.stateSession, s.server.token, s.server.endpoint);
        CompletableFuture<JavaVoiceConnection> attempt = new CompletableFuture<>();
        s.attempt = attempt;
        return () -> {
            CompletableFuture<JavaVoiceConnection> real = EarshotVoice.connect(info, s.config);
            attempt.whenComplete((c, e) -> {
                if (attempt.isCancelled()) real.cancel(true);
            });
            real.whenComplete((c, e) -> {
                if (e != null) attempt.completeExceptionally(e);
                else attempt.complete(c);
            });
            attempt.whenComplete((c, e) -> attempted(s, c, e));
        };
    }

    private void attempted(Slot s, @Nullable JavaVoiceConnection voice, @Nullable Throwable error) {
        JdaVoiceConnection connection;
        CompletableFuture<JdaVoiceConnection> result;
        synchronized (lock) {
            result = s.join;
            boolean current = slots.get(s.guildId) == s;
            if (error != null || voice == null || !current || closed) {
                if (current) slots.remove(s.guildId);
                if (voice != null) voice.disconnect();
                if (current) sendLeaveQuietly(s);
                Throwable cause = error != null ? unwrap(error) : new CancellationException("the join was abandoned");
                if (result != null) executor.execute(() -> result.completeExceptionally(cause));
                return;
            }
            connection = new JdaVoiceConnection(this, s.jda, s.guildId, s.channelId, voice);
            s.connection = connection;
            s.voice = voice;
            s.sessionId = s.stateSession;
            s.lastServer = s.server;
            s.join = null;
            // Events that came while connecting, in their order.
            s.backlog.forEach(Runnable::run);
            s.backlog.clear();
        }
        // closed() completes normally after a disconnect, exceptionally with the cause when the connection ended itself.
        voice.closed().whenComplete((v, e) -> ended(s, e == null ? null : unwrap(e)));
        LOG.info("voice connected in guild {} channel {}", s.guildId, s.channelId);
        JdaVoiceConnection done = connection;
        if (result != null) {
            executor.execute(() -> {
                // The caller cancelled just as the connection came up: nobody owns it, so leave.
                if (!result.complete(done)) disconnect(s.guildId);
            });
        }
    }

    /** Under the lock: a server update for a live connection, queued to it in order. */
    private void serverLive(Slot s, Grant grant) {
        cancel(s.moveWatch);
        s.lastServer = grant;
        LOG.debug("guild {}: voice server update (endpoint {})", s.guildId, grant.endpoint);
        s.then(v -> v.updateServer(grant.token, grant.endpoint));
    }

    /** Under the lock: the bot's voice state for a live connection (a kick, a move, a new session, or nothing new). */
    private void stateLive(Slot s, @Nullable Long channelId, @Nullable String sessionId) {
        String session = sessionId != null ? sessionId : Objects.requireNonNull(s.sessionId);
        if (channelId == null) {
            LOG.info("guild {}: the bot was removed from voice channel {}", s.guildId, s.channelId);
            s.then(JavaVoiceConnection::removedFromChannel);
            return;
        }
        if (channelId == s.channelId && session.equals(s.sessionId)) {
            completeMoves(s, channelId);
            return;
        }
        LOG.info("guild {}: voice state now in channel {} ({})", s.guildId, channelId, channelId == s.channelId ? "new voice session" : "moved");
        s.channelId = channelId;
        s.sessionId = session;
        Objects.requireNonNull(s.connection).update(s.jda, channelId);
        completeMoves(s, channelId);
        cancel(s.moveWatch);
        // Discord may send the new server before this state, or not at all: apply the last one again if none comes.
        long target = channelId;
        s.then(v -> v.updateVoiceState(target, session));
        s.moveWatch = timer.schedule(() -> {
            synchronized (lock) {
                Grant g = s.lastServer;
                if (g != null && slots.get(s.guildId) == s) s.then(v -> v.updateServer(g.token, g.endpoint));
            }
        }, joinTimeout.toNanos(), TimeUnit.NANOSECONDS);
    }

    private CompletableFuture<JdaVoiceConnection> move(Slot s, AudioChannel channel) {
        long channelId = channel.getIdLong();
        CompletableFuture<JdaVoiceConnection> f = new CompletableFuture<>();
        Move m = new Move(channelId, f);
        s.moves.add(m);
        m.timer = timer.schedule(() -> {
            synchronized (lock) {
                if (!s.moves.remove(m)) return;
            }
            executor.execute(() -> f.completeExceptionally(new VoiceJoinTimeoutException(s.guildId, channelId, List.of(STATE), joinTimeout)));
        }, joinTimeout.toNanos(), TimeUnit.NANOSECONDS);
        LOG.debug("guild {}: moving to voice channel {}", s.guildId, channelId);
        channel.getJDA().getDirectAudioController().connect(channel);
        return f;
    }

    private void completeMoves(Slot s, long channelId) {
        JdaVoiceConnection c = s.connection;
        s.moves.removeIf(m -> {
            if (m.channelId != channelId) return false;
            cancel(m.timer);
            executor.execute(() -> m.future.complete(c));
            return true;
        });
    }

    private void joinTimedOut(Slot s) {
        List<String> missing = new ArrayList<>();
        CompletableFuture<JdaVoiceConnection> result;
        synchronized (lock) {
            if (slots.get(s.guildId) != s || s.attempt != null || s.join == null) return;
            if (s.stateSession == null) missing.add(STATE);
            if (s.server == null) missing.add(SERVER);
            slots.remove(s.guildId);
            result = s.join;
        }
        sendLeaveQuietly(s);
        LOG.info("guild {}: no {} within {}", s.guildId, missing, joinTimeout);
        VoiceJoinTimeoutException e = new VoiceJoinTimeoutException(s.guildId, s.channelId, missing, joinTimeout);
        executor.execute(() -> result.completeExceptionally(e));
    }

    /** The caller cancelled a join (or a disconnect came first): forget it and leave. */
    private void abandon(Slot s) {
        CompletableFuture<JavaVoiceConnection> attempt;
        synchronized (lock) {
            if (slots.get(s.guildId) != s || s.connection != null) return;
            slots.remove(s.guildId);
            cancel(s.joinTimer);
            attempt = s.attempt;
        }
        if (attempt != null) attempt.cancel(true);
        sendLeaveQuietly(s);
    }

    /** A connection's closed() completed: forget it (unless a disconnect did already) and leave unless kicked. */
    private void ended(Slot s, @Nullable Throwable cause) {
        List<Move> moves;
        synchronized (lock) {
            if (slots.get(s.guildId) != s) return;
            slots.remove(s.guildId);
            cancel(s.moveWatch);
            moves = new ArrayList<>(s.moves);
            s.moves.clear();
        }
        LOG.info("voice connection in guild {} ended: {}", s.guildId, cause == null ? "disconnected" : cause.getMessage());
        Throwable why = cause != null ? cause : new CancellationException("the connection ended");
        for (Move m : moves) {
            cancel(m.timer);
            executor.execute(() -> m.future.completeExceptionally(why));
        }
        // Discord still lists the bot in the channel unless it was removed from it: leave.
        if (!(cause instanceof VoiceChannelLeftException)) sendLeaveQuietly(s);
    }

    CompletableFuture<Void> disconnect(long guildId) {
        Slot s;
        synchronized (lock) {
            s = slots.remove(guildId);
            if (s == null) return onExecutor(CompletableFuture.completedFuture(null));
            cancel(s.joinTimer);
            cancel(s.moveWatch);
        }
        if (s.join != null) {
            CompletableFuture<JdaVoiceConnection> join = s.join;
            executor.execute(() -> join.completeExceptionally(new CancellationException("disconnected while joining")));
        }
        if (s.attempt != null) s.attempt.cancel(true);
        for (Move m : s.moves) {
            cancel(m.timer);
            executor.execute(() -> m.future.completeExceptionally(new CancellationException("disconnected while moving")));
        }
        Throwable leaveFailure = null;
        try {
            sendLeave(s);
        } catch (RuntimeException e) {
            leaveFailure = e;
        }
        CompletableFuture<Void> closing = s.voice == null ? CompletableFuture.completedFuture(null) : s.voice.disconnect();
        Throwable leave = leaveFailure;
        CompletableFuture<Void> done = closing.handle((v, e) -> {
            if (leave != null) {
                if (e != null) leave.addSuppressed(unwrap(e));
                throw new CompletionException(leave);
            }
            if (e != null) throw new CompletionException(unwrap(e));
            return null;
        });
        return onExecutor(done);
    }

    /** Sends op 4 without a channel through the JDA that serves the guild; throws when that cannot be done. */
    private void sendLeave(Slot s) {
        JDA jda = s.jda;
        JDA.Status status = jda.getStatus();
        if (status == JDA.Status.SHUTTING_DOWN || status == JDA.Status.SHUTDOWN || status == JDA.Status.FAILED_TO_LOGIN) {
            throw new IllegalStateException("the leave for guild " + Long.toUnsignedString(s.guildId) + " was not sent: JDA is " + status);
        }
        Guild guild = jda.getGuildById(s.guildId);
        if (guild == null) {
            throw new IllegalStateException("the leave for guild " + Long.toUnsignedString(s.guildId) + " was not sent: JDA no longer has the guild");
        }
        jda.getDirectAudioController().disconnect(guild);
    }

    private void sendLeaveQuietly(Slot s) {
        try {
            sendLeave(s);
        } catch (RuntimeException e) {
            LOG.debug("leave not sent in guild {}: {}", s.guildId, e.toString());
        }
    }

    // ---- JDA events: shard reconnects and guilds the bot left ----

    private void attach(JDA jda) {
        ShardManager sm = jda.getShardManager();
        Object target = sm != null ? sm : jda;
        synchronized (lock) {
            if (!attached.add(target)) return;
        }
        if (sm != null) sm.addEventListener(listener);
        else jda.addEventListener(listener);
    }

    private void onEvent(GenericEvent event) {
        if (event instanceof SessionRecreateEvent) {
            rejoinAfterNewSession(event.getJDA());
        } else if (event instanceof GuildLeaveEvent leave) {
            long guildId = leave.getGuild().getIdLong();
            Slot s;
            synchronized (lock) {
                s = slots.remove(guildId);
            }
            if (s == null) return;
            LOG.info("guild {}: the bot left the guild; its voice connection ends", guildId);
            if (s.voice != null) s.voice.disconnect();
            if (s.attempt != null) s.attempt.cancel(true);
            if (s.join != null) {
                CompletableFuture<JdaVoiceConnection> join = s.join;
                executor.execute(() -> join.completeExceptionally(new IllegalStateException("the bot left guild " + guildId)));
            }
        }
    }

    /**
     * A shard's new gateway session (not a resume): Discord ties the bot's voice session to the old one, so every
     * connection of that shard joins its channel again; the new voice state (new session id) and server that answer
     * carry the connection over like a move.
     */
    private void rejoinAfterNewSession(JDA jda) {
        List<AudioChannel> rejoin = new ArrayList<>();
        synchronized (lock) {
            for (Slot s : slots.values()) {
                if (s.connection == null) continue;
                Guild guild = jda.getGuildById(s.guildId);
                if (guild == null) continue;
                s.jda = jda;
                AudioChannel channel = guild.getChannelById(AudioChannel.class, s.channelId);
                if (channel != null) rejoin.add(channel);
            }
        }
        for (AudioChannel channel : rejoin) {
            LOG.info("guild {}: new gateway session, joining voice channel {} again", channel.getGuild().getIdLong(), channel.getIdLong());
            jda.getDirectAudioController().connect(channel);
        }
    }

    // ---- helpers ----

    <T> CompletableFuture<T> onExecutor(CompletableFuture<T> source) {
        CompletableFuture<T> out = new CompletableFuture<>();
        source.whenComplete((v, e) -> executor.execute(() -> {
            if (e != null) out.completeExceptionally(unwrap(e));
            else out.complete(v);
        }));
        return out;
    }

    void await(CompletableFuture<?> future, Duration timeout) {
        try {
            future.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (TimeoutException e) {
            LOG.warn("voice disconnect still running after {}; it goes on in the background", timeout);
        } catch (ExecutionException e) {
            LOG.warn("voice disconnect failed", e.getCause());
        }
    }

    private static Throwable unwrap(Throwable e) {
        while ((e instanceof CompletionException || e instanceof ExecutionException) && e.getCause() != null) e = e.getCause();
        return e;
    }

    private static void cancel(@Nullable ScheduledFuture<?> f) {
        if (f != null) f.cancel(false);
    }

    /** A VOICE_SERVER_UPDATE's grant; never logs the token. */
    private record Grant(String token, String endpoint) {
        @Override
        public String toString() {
            return "Grant(endpoint=" + endpoint + ")";
        }
    }

    /** A move asked for by {@link #connect}: completes when the bot's voice state is in {@code channelId}. */
    private static final class Move {
        final long channelId;
        final CompletableFuture<JdaVoiceConnection> future;
        @Nullable ScheduledFuture<?> timer;

        Move(long channelId, CompletableFuture<JdaVoiceConnection> future) {
            this.channelId = channelId;
            this.future = future;
        }
    }

    /** One guild: a join under way, then its connection and what follows it. Fields guarded by the manager's lock. */
    private final class Slot {
        final long guildId;
        final VoiceConnectionConfig config;
        /** Events that came while the connection was being made, applied once it is there. */
        final List<Runnable> backlog = new ArrayList<>();
        final List<Move> moves = new ArrayList<>();
        JDA jda;
        /** The channel joined, or the bot's channel as JDA last reported it. */
        long channelId;
        @Nullable CompletableFuture<JdaVoiceConnection> join;
        @Nullable ScheduledFuture<?> joinTimer;
        @Nullable String stateSession;
        @Nullable Grant server;
        @Nullable CompletableFuture<JavaVoiceConnection> attempt;
        @Nullable JdaVoiceConnection connection;
        @Nullable JavaVoiceConnection voice;
        @Nullable String sessionId;
        @Nullable Grant lastServer;
        @Nullable ScheduledFuture<?> moveWatch;
        /** Updates go to the connection one after another, in the order the gateway delivered them. */
        private CompletableFuture<?> chain = CompletableFuture.completedFuture(null);

        Slot(long guildId, long channelId, JDA jda, VoiceConnectionConfig config) {
            this.guildId = guildId;
            this.channelId = channelId;
            this.jda = jda;
            this.config = config;
        }

        /** Under the lock: {@code update} runs once the previous ones have been handed to the connection. */
        void then(Function<JavaVoiceConnection, CompletableFuture<Void>> update) {
            JavaVoiceConnection v = Objects.requireNonNull(voice);
            chain = chain.handle((x, e) -> null).thenCompose(x -> update.apply(v)).exceptionally(e -> {
                LOG.debug("guild {}: voice update not applied: {}", guildId, e.toString());
                return null;
            });
        }
    }

    /** Settings of a {@link JdaVoice}; every one has a default. */
    public static final class Builder {
        private Duration joinTimeout = Duration.ofSeconds(10);
        private Duration closeTimeout = Duration.ofSeconds(15);
        private VoiceConnectionConfig config = VoiceConnectionConfig.DEFAULT;
        private Executor executor = ForkJoinPool.commonPool();
        private @Nullable VoiceDispatchInterceptor delegate;

        private Builder() {
        }

        /** How long a join or move waits for Discord's VOICE_STATE_UPDATE and VOICE_SERVER_UPDATE; default 10 s. */
        public Builder joinTimeout(Duration value) {
            Objects.requireNonNull(value, "joinTimeout");
            if (value.isNegative() || value.isZero()) throw new IllegalArgumentException("joinTimeout must be positive, got " + value);
            this.joinTimeout = value;
            return this;
        }

        /**
         * How long {@link JdaVoiceConnection#close()} waits for a disconnect (leave sent, sinks finished); default 15 s,
         * as {@code JavaVoiceConnection.close()}. voice-core bounds a disconnect's sink drain at 10 s.
         */
        public Builder closeTimeout(Duration value) {
            Objects.requireNonNull(value, "closeTimeout");
            if (value.isNegative() || value.isZero()) throw new IllegalArgumentException("closeTimeout must be positive, got " + value);
            this.closeTimeout = value;
            return this;
        }

        /**
         * The connection settings {@link JdaVoice#connect(AudioChannel)} uses; default
         * {@link VoiceConnectionConfig#DEFAULT}. Build them with {@code VoiceConnectionConfig.builder()} and
         * {@code ReceiveConfig.builder()} (voice-core's settings, with Java builders).
         */
        public Builder config(VoiceConnectionConfig value) {
            this.config = Objects.requireNonNull(value, "config");
            return this;
        }

        /**
         * Where the futures of the manager and its connections complete (and their dependent stages run); default
         * {@link ForkJoinPool#commonPool()}. Never JDA's gateway thread, so a slow stage cannot stall JDA.
         */
        public Builder executor(Executor value) {
            this.executor = Objects.requireNonNull(value, "executor");
            return this;
        }

        /**
         * Another voice interceptor (say, a Lavalink client's) that gets every voice event too, after Earshot; default
         * none. Guilds Earshot has no join or connection in are the delegate's alone.
         */
        public Builder delegate(@Nullable VoiceDispatchInterceptor value) {
            this.delegate = value;
            return this;
        }

        /** The manager. Install it with {@code JDABuilder.setVoiceDispatchInterceptor}. */
        public JdaVoice build() {
            return new JdaVoice(this);
        }
    }
}
