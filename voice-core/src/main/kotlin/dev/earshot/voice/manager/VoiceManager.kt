package dev.earshot.voice.manager

import dev.earshot.voice.connection.VoiceChannelLeftException
import dev.earshot.voice.connection.VoiceConnection
import dev.earshot.voice.connection.VoiceConnectionConfig
import dev.earshot.voice.connection.VoiceSessionInfo
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.CoroutineName
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.Job
import kotlinx.coroutines.NonCancellable
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitAll
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.launch
import kotlinx.coroutines.sync.Mutex
import kotlinx.coroutines.sync.withLock
import kotlinx.coroutines.withContext
import kotlinx.coroutines.withTimeoutOrNull
import org.slf4j.LoggerFactory
import java.util.concurrent.ConcurrentHashMap
import kotlin.time.Duration
import kotlin.time.Duration.Companion.seconds

/**
 * What a [VoiceManager] needs from the bot's main (Discord) gateway: sending op 4 (Update Voice State) on the shard
 * that serves a guild. The bot feeds the gateway's answers back through [VoiceManager.onVoiceStateUpdate] and
 * [VoiceManager.onVoiceServerUpdate].
 */
public fun interface MainGatewayLink {
    /** Sends op 4 for [guildId]: join or move to [channelId], or leave with null. */
    public suspend fun updateVoiceState(guildId: Long, channelId: Long?, selfMute: Boolean, selfDeaf: Boolean)
}

/**
 * Earshot voice connections by guild for bots without Kord or JDA, at most one per guild, in the shape of hikari's
 * `VoiceComponent`: [connections], [connect], [disconnect], [disconnectAll], [close], [isAlive]. Connections share
 * the process's threads (the UDP selector, the coroutine dispatcher, the decode pool), so one process holds hundreds.
 *
 * Joining: [connect] sends op 4 through [link] and waits up to [joinTimeout] for the bot's VOICE_STATE_UPDATE and the
 * guild's VOICE_SERVER_UPDATE, which the bot passes to [onVoiceStateUpdate] and [onVoiceServerUpdate] (pass every
 * one: later ones move or end the connection). [connect] with a [VoiceSessionInfo] skips the gateway for bots that
 * hold the grant already.
 *
 * @param selfId the bot's user id.
 * @param link sends op 4 on the main gateway.
 * @param scope where connections run; default its own on [Dispatchers.Default]. [close] cancels the manager's child.
 * @param joinTimeout how long [connect] waits for Discord's two updates; default 10 s.
 * @param defaultConfig connection settings used unless [connect] is given others.
 */
public class VoiceManager(
    public val selfId: Long,
    private val link: MainGatewayLink,
    scope: CoroutineScope = CoroutineScope(Dispatchers.Default),
    public val joinTimeout: Duration = 10.seconds,
    public val defaultConfig: VoiceConnectionConfig = VoiceConnectionConfig.DEFAULT,
) {
    private val job = SupervisorJob(scope.coroutineContext[Job])
    private val scope = CoroutineScope(scope.coroutineContext + job + CoroutineName("earshot-voice-manager"))
    private val live = ConcurrentHashMap<Long, Managed>()
    private val pending = ConcurrentHashMap<Long, PendingJoin>()
    private val locks = ConcurrentHashMap<Long, Mutex>()

    @Volatile
    private var closed = false

    /** The live connections by guild id (a snapshot). A connection that ended by itself leaves this map. */
    public val connections: Map<Long, VoiceConnection> get() = live.mapValues { it.value.connection }

    /** The connection in [guildId], if any. */
    public fun connection(guildId: Long): VoiceConnection? = live[guildId]?.connection

    /** Whether this manager can still connect: false after [close]. */
    public val isAlive: Boolean get() = !closed && job.isActive

    /**
     * Joins [channelId] in [guildId] through the main gateway and returns the connection once audio can flow. With a
     * live connection in the guild: the same channel returns it; another channel sends op 4 and the connection
     * follows the move when Discord's updates arrive. Calls for one guild run one at a time.
     *
     * Throws [VoiceManagerJoinTimeoutException] (after sending the leave), the connection's typed
     * `VoiceConnectionException`, or [IllegalStateException] after [close].
     */
    public suspend fun connect(
        guildId: Long,
        channelId: Long,
        selfMute: Boolean = false,
        selfDeaf: Boolean = false,
        config: VoiceConnectionConfig = defaultConfig,
    ): VoiceConnection = lockFor(guildId).withLock {
        check(!closed) { "this VoiceManager is closed" }
        live[guildId]?.takeIf { it.connection.isAlive }?.let { m ->
            if (m.channelId != channelId) link.updateVoiceState(guildId, channelId, selfMute, selfDeaf)
            return@withLock m.connection
        }
        val join = PendingJoin(channelId)
        pending[guildId] = join
        try {
            link.updateVoiceState(guildId, channelId, selfMute, selfDeaf)
            val ok = withTimeoutOrNull(joinTimeout) {
                join.state.await()
                join.server.await()
            }
            if (ok == null) {
                val missing = listOfNotNull(
                    "VOICE_STATE_UPDATE".takeIf { !join.state.isCompleted },
                    "VOICE_SERVER_UPDATE".takeIf { !join.server.isCompleted },
                )
                throw VoiceManagerJoinTimeoutException(guildId, channelId, missing, joinTimeout)
            }
            val sessionId = join.state.await()
            val (token, endpoint) = join.server.await()
            val info = VoiceSessionInfo(guildId, channelId, selfId, sessionId, token, endpoint)
            start(info, config)
        } catch (e: Throwable) {
            withContext(NonCancellable) {
                try {
                    link.updateVoiceState(guildId, null, selfMute = false, selfDeaf = false)
                } catch (leave: Throwable) {
                    e.addSuppressed(leave)
                }
            }
            throw e
        } finally {
            pending.remove(guildId, join)
        }
    }

    /**
     * Connects with a grant the bot already holds ([info]: session id, token, endpoint from Discord's updates),
     * without sending op 4. Replaces nothing: a live connection in the guild is returned as it is.
     */
    public suspend fun connect(info: VoiceSessionInfo, config: VoiceConnectionConfig = defaultConfig): VoiceConnection =
        lockFor(info.guildId).withLock {
            check(!closed) { "this VoiceManager is closed" }
            live[info.guildId]?.takeIf { it.connection.isAlive }?.connection ?: start(info, config)
        }

    private suspend fun start(info: VoiceSessionInfo, config: VoiceConnectionConfig): VoiceConnection {
        val connection = VoiceConnection.connect(info, config, scope)
        val m = Managed(info.guildId, connection, info.channelId, info.sessionId)
        live[info.guildId] = m
        m.watcher = scope.launch(CoroutineName("earshot-voice-manager-watch")) {
            val cause = connection.awaitClosed()
            if (live.remove(m.guildId, m)) {
                log.info("voice connection in guild {} ended: {}", m.guildId, cause?.message ?: "disconnected")
                if (cause !is VoiceChannelLeftException) leaveQuietly(m.guildId)
            }
        }
        return connection
    }

    /**
     * The bot's own VOICE_STATE_UPDATE in [guildId] (pass only the bot's: [userId] is checked): completes a join, or
     * moves ([channelId] changed, or a new [sessionId]) or ends (null channel) the live connection.
     */
    public suspend fun onVoiceStateUpdate(guildId: Long, userId: Long, channelId: Long?, sessionId: String) {
        if (userId != selfId) return
        pending[guildId]?.let { p ->
            if (channelId == p.channelId) p.state.complete(sessionId)
            return
        }
        val m = live[guildId] ?: return
        if (channelId == null || channelId != m.channelId || sessionId != m.sessionId) {
            m.channelId = channelId ?: m.channelId
            m.sessionId = sessionId
            m.connection.updateVoiceState(channelId, sessionId)
        }
    }

    /** The guild's VOICE_SERVER_UPDATE: completes a join, or moves the live connection to [endpoint] (null: wait). */
    public suspend fun onVoiceServerUpdate(guildId: Long, token: String, endpoint: String?) {
        pending[guildId]?.let { p ->
            if (endpoint != null) p.server.complete(token to endpoint)
            return
        }
        live[guildId]?.connection?.updateServer(token, endpoint)
    }

    /** Leaves [guildId]: op 4 without a channel, then the connection is disconnected (sinks finish). */
    public suspend fun disconnect(guildId: Long) {
        lockFor(guildId).withLock {
            val m = live.remove(guildId) ?: return
            withContext(NonCancellable) {
                m.watcher?.cancel()
                var failure: Throwable? = null
                try {
                    link.updateVoiceState(guildId, null, selfMute = false, selfDeaf = false)
                } catch (e: Throwable) {
                    failure = e
                }
                try {
                    m.connection.disconnect()
                } catch (e: Throwable) {
                    failure?.addSuppressed(e) ?: run { failure = e }
                }
                failure?.let { throw it }
            }
        }
    }

    /** Disconnects every guild concurrently; every one is tried, failures come together in [VoiceManagerCloseException]. */
    public suspend fun disconnectAll() {
        val failures = coroutineScope {
            live.keys.toList().map { guild ->
                async {
                    try {
                        disconnect(guild)
                        null
                    } catch (e: CancellationException) {
                        throw e
                    } catch (e: Throwable) {
                        guild to e
                    }
                }
            }.awaitAll().filterNotNull().toMap()
        }
        if (failures.isNotEmpty()) throw VoiceManagerCloseException(failures)
    }

    /** No new connections, every guild disconnected ([disconnectAll]), then the manager's coroutines cancelled. Idempotent. */
    public suspend fun close() {
        closed = true
        try {
            disconnectAll()
        } finally {
            job.cancel()
        }
    }

    private suspend fun leaveQuietly(guildId: Long) {
        try {
            link.updateVoiceState(guildId, null, selfMute = false, selfDeaf = false)
        } catch (e: Throwable) {
            log.debug("leave not sent in guild {}: {}", guildId, e.toString())
        }
    }

    private fun lockFor(guildId: Long): Mutex = locks.computeIfAbsent(guildId) { Mutex() }

    private class PendingJoin(val channelId: Long) {
        val state = CompletableDeferred<String>()
        val server = CompletableDeferred<Pair<String, String>>()
    }

    private class Managed(val guildId: Long, val connection: VoiceConnection, @Volatile var channelId: Long?, @Volatile var sessionId: String) {
        @Volatile
        var watcher: Job? = null
    }

    private companion object {
        private val log = LoggerFactory.getLogger(VoiceManager::class.java)
    }
}

/** [VoiceManager.connect] did not get Discord's [missing] updates for [guildId] within [timeout]. */
public class VoiceManagerJoinTimeoutException(
    public val guildId: Long,
    public val channelId: Long,
    public val missing: List<String>,
    public val timeout: Duration,
) : Exception("joining channel $channelId in guild $guildId: no ${missing.joinToString(" or ")} within $timeout")

/** Disconnecting failed in some guilds ([VoiceManager.disconnectAll], [VoiceManager.close]); [failures] by guild id. */
public class VoiceManagerCloseException(public val failures: Map<Long, Throwable>) : Exception(
    "disconnecting failed in ${failures.size} guild(s): " + failures.entries.joinToString("; ") { (g, c) -> "guild $g: $c" },
) {
    init {
        failures.values.forEach(::addSuppressed)
    }
}
