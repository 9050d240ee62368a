package dev.earshot.voice.kord

import dev.earshot.voice.testkit.VoiceTestServer
import dev.kord.common.entity.DiscordVoiceServerUpdateData
import dev.kord.common.entity.DiscordVoiceState
import dev.kord.common.entity.Snowflake
import dev.kord.common.entity.optional.OptionalSnowflake
import dev.kord.gateway.Command
import dev.kord.gateway.Event
import dev.kord.gateway.Gateway
import dev.kord.gateway.GatewayConfiguration
import dev.kord.gateway.UpdateVoiceStatus
import dev.kord.gateway.VoiceServerUpdate
import dev.kord.gateway.VoiceStateUpdate
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.flow.MutableSharedFlow
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.SharedFlow
import kotlinx.coroutines.flow.StateFlow
import java.util.concurrent.CopyOnWriteArrayList
import kotlin.coroutines.CoroutineContext
import kotlin.time.Duration

/**
 * Kord's [Gateway] in memory: records what is sent, lets a test emit real Kord events, and answers commands through
 * [onSend] (called inside [send], before it returns, so an answer can only be seen by a collector that subscribed
 * before the command went out). Events have no replay: like the real gateway, nothing is kept for late subscribers.
 */
class FakeGateway(private val selfId: Long) : Gateway {
    override val coroutineContext: CoroutineContext = SupervisorJob() + Dispatchers.Default
    private val flow = MutableSharedFlow<Event>(extraBufferCapacity = 1024)
    override val events: SharedFlow<Event> = flow
    override val ping: StateFlow<Duration?> = MutableStateFlow(null)
    val sent = CopyOnWriteArrayList<Command>()
    @Volatile
    var onSend: (Command) -> Unit = {}
    /** When set, sending a leave (op 4 without a channel) throws this. */
    @Volatile
    var leaveFailure: Throwable? = null

    /** The op 4 commands sent, in order. */
    val voiceCommands: List<UpdateVoiceStatus> get() = sent.filterIsInstance<UpdateVoiceStatus>()

    override suspend fun send(command: Command) {
        if (command is UpdateVoiceStatus && command.channelId == null) leaveFailure?.let { throw it }
        sent += command
        onSend(command)
    }

    override suspend fun start(configuration: GatewayConfiguration) {}
    override suspend fun stop() {}
    override suspend fun detach() {}

    fun emit(event: Event) = check(flow.tryEmit(event)) { "event buffer full" }

    /** The bot's own VOICE_STATE_UPDATE. */
    fun voiceState(guild: Long, channel: Long?, sessionId: String, user: Long = selfId) = emit(
        VoiceStateUpdate(
            DiscordVoiceState(
                guildId = OptionalSnowflake.Value(Snowflake(guild)),
                channelId = channel?.let { Snowflake(it) },
                userId = Snowflake(user),
                sessionId = sessionId,
                deaf = false, mute = false, selfDeaf = false, selfMute = false, selfVideo = false, suppress = false,
                requestToSpeakTimestamp = null,
            ),
            null,
        ),
    )

    fun voiceServer(guild: Long, token: String, endpoint: String?) =
        emit(VoiceServerUpdate(DiscordVoiceServerUpdateData(token, Snowflake(guild), endpoint), null))
}

/**
 * Discord's main gateway, as far as voice goes, in front of a real [VoiceTestServer]: op 4 with a channel is answered
 * with the bot's VOICE_STATE_UPDATE and a VOICE_SERVER_UPDATE carrying a fresh testkit grant for that channel (same
 * main session id, as Discord keeps it); op 4 without a channel with a state update without one.
 */
class FakeDiscord(val server: VoiceTestServer, val gateway: FakeGateway, private val bot: Long) {
    val sessionId = "main-session-1"
    /** Answer joins (false: Discord stays silent). */
    @Volatile
    var answer = true

    init {
        gateway.onSend = { command -> if (command is UpdateVoiceStatus && answer) respond(command) }
    }

    private fun respond(command: UpdateVoiceStatus) {
        val guild = command.guildId.value.toLong()
        val channel = command.channelId?.value?.toLong()
        gateway.voiceState(guild, channel, sessionId)
        if (channel != null) {
            val grant = server.grant(guild.toString(), channel.toString(), bot.toString(), sessionId)
            gateway.voiceServer(guild, grant.token, grant.endpoint)
        }
    }
}
