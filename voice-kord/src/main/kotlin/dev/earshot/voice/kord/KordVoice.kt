package dev.earshot.voice.kord

import dev.earshot.voice.connection.VoiceChannelLeftException
import dev.earshot.voice.connection.VoiceConnection
import dev.earshot.voice.connection.VoiceConnectionConfig
import dev.earshot.voice.connection.VoiceSessionInfo
import dev.kord.common.entity.Snowflake
import dev.kord.core.Kord
import dev.kord.gateway.Gateway
import dev.kord.gateway.UpdateVoiceStatus
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.CoroutineName
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.Job
import kotlinx.coroutines.NonCancellable
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitAll
import kotlinx.coroutines.cancelAndJoin
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.first
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
 * Earshot voice connections for a Kord bot, at most one per guild: joins through Kord's gateway, keeps each
 * connection in step with the main gateway (server moves, reallocations, channel moves, kicks) and leaves cleanly.
 * The surface follows hikari's `VoiceComponent`: [connections], [connect], [disconnect], [disconnectAll], [close],
 * [isAlive].
 *
 * Make one per bot: `KordVoice(kord)` (or use [Kord.earshotVoice] and [connectEarshot]). The lower-level constructor
 * takes the bot's user id and a lookup of the gateway (shard) that serves a guild, so it runs without a `Kord`.
 * The bot needs the `GuildVoiceStates` intent, or Discord's answers never reach it ([VoiceJoinTimeoutException]).
 *
 * Coroutines: per connection, `earshot-kord-events` (this guild's voice events from the shard, queued) and
 * `earshot-kord-follower` (applies them to the connection and cleans up when it ends), plus the connection's own.
 * All run in a child of [scope] that [close] cancels.
 *
 * @param selfId the bot's user id.
 * @param gatewayFor the gateway of the shard that serves a guild (the one op 4 must be sent on).
 * @param scope where connections and followers run; default its own scope on [Dispatchers.Default].
 * @param joinTimeout how long a join or channel move waits for Discord's answer; default 10 s.
 * @param defaultConfig the connection settings [connect] uses unless given others; default [VoiceConnectionConfig.DEFAULT].
 */
public class KordVoice(
    selfId: Snowflake,
    private val gatewayFor: (guildId: Snowflake) -> Gateway,
    scope: CoroutineScope = CoroutineScope(Dispatchers.Default),
    public val joinTimeout: Duration = 10.seconds,
    public val defaultConfig: VoiceConnectionConfig = VoiceConnectionConfig.DEFAULT,
) {
    /**
     * A manager for [kord]'s bot: its user id, the shard gateways of `kord.gateway` (shard = (guild id >> 22) mod
     * the shard count), and connections running in Kord's scope.
     */
    public constructor(
        kord: Kord,
        joinTimeout: Duration = 10.seconds,
        defaultConfig: VoiceConnectionConfig = VoiceConnectionConfig.DEFAULT,
    ) : this(kord.selfId, kordGatewayLookup(kord), kord, joinTimeout, defaultConfig)

    private val self = selfId.toLong()
    private val job = SupervisorJob(scope.coroutineContext[Job])
    private val scope = CoroutineScope(scope.coroutineContext + job + CoroutineName("earshot-kord"))
    private val live = ConcurrentHashMap<Snowflake, Managed>()
    private val locks = ConcurrentHashMap<Snowflake, Mutex>()

    @Volatile
    private var closed = false

    /** The live connections by guild (a snapshot). A connection that ended by itself leaves this map. */
    public val connections: Map<Snowflake, VoiceConnection> get() = live.mapValues { it.value.connection }

    /** Whether this manager can still connect: false after [close]. */
    public val isAlive: Boolean get() = !closed && job.isActive

    /**
     * Joins [channelId] in [guildId] and returns the connection once audio can flow. It subscribes to the shard's
     * events, sends op 4 (UpdateVoiceStatus), waits up to [joinTimeout] for the bot's VOICE_STATE_UPDATE and a
     * VOICE_SERVER_UPDATE with an endpoint, then connects with [config].
     *
     * With a live connection in [guildId] already: the same channel returns it (op 4 is sent again only when
     * [selfDeaf] or [selfMute] changed); another channel moves it there (op 4, then the bot's new voice state within
     * [joinTimeout]) and returns it: it is the same connection, recordings carry on, and it reconnects on its own once
     * Discord sends the new server ([VoiceConnection.state] shows it). Calls for one guild run one at a time.
     *
     * Throws [VoiceJoinTimeoutException] (after sending the leave, so Discord keeps no ghost state), the connection's
     * typed [dev.earshot.voice.connection.VoiceConnectionException], or [IllegalStateException] after [close].
     * Cancelling the call also sends the leave.
     */
    public suspend fun connect(
        guildId: Snowflake,
        channelId: Snowflake,
        selfDeaf: Boolean = false,
        selfMute: Boolean = false,
        config: VoiceConnectionConfig = defaultConfig,
    ): VoiceConnection = lockFor(guildId).withLock {
        check(!closed) { "this KordVoice is closed" }
        val existing = live[guildId]
        if (existing != null && existing.connection.isAlive) {
            return@withLock moveOrKeep(existing, channelId, selfDeaf, selfMute)
        }
        if (existing != null) discard(existing) // ended; its follower may not have noticed yet
        join(guildId, channelId, selfDeaf, selfMute, config)
    }

    /**
     * Leaves the voice channel in [guildId]: sends op 4 without a channel, then disconnects the connection (sinks
     * finish). Does nothing without a connection. If the leave cannot be sent, the connection is still closed and the
     * gateway's error is thrown.
     */
    public suspend fun disconnect(guildId: Snowflake) {
        lockFor(guildId).withLock {
            val m = live.remove(guildId) ?: return
            shutdown(m)
        }
    }

    /**
     * Disconnects every guild, concurrently. Every guild is tried; if any failed, throws [KordVoiceCloseException]
     * with each failed guild's cause.
     */
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
        if (failures.isNotEmpty()) throw KordVoiceCloseException(failures)
    }

    /**
     * Closes the manager: no new connections, every guild disconnected ([disconnectAll]), then its coroutines
     * cancelled. Every guild is tried; failures are thrown together as [KordVoiceCloseException]. Idempotent.
     */
    public suspend fun close() {
        closed = true
        try {
            disconnectAll()
        } finally {
            job.cancel()
        }
    }

    private suspend fun join(
        guildId: Snowflake,
        channelId: Snowflake,
        selfDeaf: Boolean,
        selfMute: Boolean,
        config: VoiceConnectionConfig,
    ): VoiceConnection {
        val gateway = gatewayFor(guildId)
        val guild = guildId.toLong()
        val events = GuildVoiceEvents.open(gateway, guild, self, scope)
        try {
            gateway.send(UpdateVoiceStatus(guildId, channelId, selfMute, selfDeaf))
            val grant = awaitJoin(events, guildId, channelId, joinTimeout)
            val info = VoiceSessionInfo(guild, channelId.toLong(), self, grant.sessionId, grant.token, grant.endpoint)
            val connection = VoiceConnection.connect(info, config, scope)
            val m = Managed(guildId, connection, gateway, events, channelId.toLong(), grant.sessionId, selfDeaf, selfMute)
            live[guildId] = m
            m.job = scope.launch(CoroutineName("earshot-kord-follower")) { follow(m) }
            log.info("voice connected in guild {} channel {}", guildId, channelId)
            return connection
        } catch (e: Throwable) {
            events.close()
            withContext(NonCancellable) {
                try {
                    gateway.send(leave(guildId))
                } catch (leaveFailure: Throwable) {
                    e.addSuppressed(leaveFailure)
                }
            }
            throw e
        }
    }

    private suspend fun moveOrKeep(m: Managed, channelId: Snowflake, selfDeaf: Boolean, selfMute: Boolean): VoiceConnection {
        val target = channelId.toLong()
        if (m.channel.value == target && m.selfDeaf == selfDeaf && m.selfMute == selfMute) return m.connection
        m.selfDeaf = selfDeaf
        m.selfMute = selfMute
        m.gateway.send(UpdateVoiceStatus(m.guildId, channelId, selfMute, selfDeaf))
        withTimeoutOrNull(joinTimeout) { m.channel.first { it == target } }
            ?: throw VoiceJoinTimeoutException(m.guildId, channelId, listOf("VOICE_STATE_UPDATE"), joinTimeout)
        return m.connection
    }

    /**
     * The follower: applies this guild's main-gateway voice events to the connection until it ends, then removes it.
     * After a channel move (or new session) the connection waits for Discord's VOICE_SERVER_UPDATE; if none comes
     * within [joinTimeout] (Discord sent it before the state update, or not at all), the latest one is applied again.
     */
    private suspend fun follow(m: Managed) {
        val connection = m.connection
        coroutineScope {
            val applier = launch {
                var lastServer: GuildVoiceEvent.Server? = null
                var moveWatch: Job? = null
                for (e in m.events.events) {
                    when (e) {
                        is GuildVoiceEvent.Server -> {
                            moveWatch?.cancel()
                            if (e.endpoint != null) lastServer = e
                            log.debug("guild {}: voice server update ({})", m.guildId, if (e.endpoint == null) "reallocating" else "new endpoint")
                            connection.updateServer(e.token, e.endpoint)
                        }
                        is GuildVoiceEvent.State -> {
                            val channel = e.channelId
                            if (channel == null) {
                                log.info("guild {}: the bot was removed from voice channel {}", m.guildId, m.channel.value)
                                connection.updateVoiceState(null, e.sessionId)
                            } else if (channel != m.channel.value || e.sessionId != m.sessionId) {
                                log.info("guild {}: voice state moved to channel {}", m.guildId, channel)
                                connection.updateVoiceState(channel, e.sessionId)
                                m.sessionId = e.sessionId
                                m.channel.value = channel
                                moveWatch?.cancel()
                                moveWatch = launch {
                                    delay(joinTimeout)
                                    lastServer?.let { connection.updateServer(it.token, checkNotNull(it.endpoint)) }
                                }
                            }
                        }
                    }
                }
            }
            val cause = connection.awaitClosed()
            applier.cancel()
            withContext(NonCancellable) {
                // Conditional: a disconnect or a new connect may have replaced this entry already.
                if (live.remove(m.guildId, m)) {
                    log.info("voice connection in guild {} ended: {}", m.guildId, cause?.message ?: "disconnected")
                    // Discord still lists the bot in the channel unless it was removed from it: leave.
                    if (cause !is VoiceChannelLeftException) sendLeaveQuietly(m)
                }
                m.events.close()
            }
        }
    }

    private suspend fun shutdown(m: Managed) = withContext(NonCancellable) {
        m.job?.cancelAndJoin()
        var failure: Throwable? = null
        try {
            m.gateway.send(leave(m.guildId))
        } catch (e: Throwable) {
            failure = e
        }
        try {
            m.connection.disconnect()
        } catch (e: Throwable) {
            failure?.addSuppressed(e) ?: run { failure = e }
        }
        m.events.close()
        failure?.let { throw it }
    }

    private suspend fun discard(m: Managed) {
        live.remove(m.guildId, m)
        m.job?.cancelAndJoin()
        m.events.close()
    }

    private suspend fun sendLeaveQuietly(m: Managed) {
        try {
            m.gateway.send(leave(m.guildId))
        } catch (e: Throwable) {
            log.debug("leave not sent in guild {}: {}", m.guildId, e.toString())
        }
    }

    private fun lockFor(guildId: Snowflake): Mutex = locks.computeIfAbsent(guildId) { Mutex() }

    /** One connection and what follows it. */
    private class Managed(
        val guildId: Snowflake,
        val connection: VoiceConnection,
        val gateway: Gateway,
        val events: GuildVoiceEvents,
        channelId: Long,
        @Volatile var sessionId: String,
        @Volatile var selfDeaf: Boolean,
        @Volatile var selfMute: Boolean,
    ) {
        /** The channel the bot's voice state is in, as the main gateway last said. */
        val channel = MutableStateFlow(channelId)
        @Volatile
        var job: Job? = null
    }

    private companion object {
        private val log = LoggerFactory.getLogger(KordVoice::class.java)

        private fun leave(guildId: Snowflake) = UpdateVoiceStatus(guildId, null, selfMute = false, selfDeaf = false)
    }
}

/** The shard that serves [guildId] among [totalShards]: (guild id >> 22) mod the shard count, as Discord assigns. */
internal fun shardOf(guildId: Snowflake, totalShards: Int): Int {
    require(totalShards >= 1) { "totalShards must be at least 1" }
    return ((guildId.value shr 22) % totalShards.toULong()).toInt()
}

private fun kordGatewayLookup(kord: Kord): (Snowflake) -> Gateway = { guildId ->
    val shard = shardOf(guildId, kord.resources.shards.totalShards)
    kord.gateway.gateways[shard]
        ?: error("this Kord runs no gateway for shard $shard, which serves guild $guildId (its shards: ${kord.gateway.gateways.keys})")
}
