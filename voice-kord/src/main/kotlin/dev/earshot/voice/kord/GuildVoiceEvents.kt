package dev.earshot.voice.kord

import dev.kord.common.entity.Snowflake
import dev.kord.gateway.Gateway
import dev.kord.gateway.VoiceServerUpdate
import dev.kord.gateway.VoiceStateUpdate
import kotlinx.coroutines.CoroutineName
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.Job
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.channels.ReceiveChannel
import kotlinx.coroutines.launch

/** One of the two main-gateway events that concern the bot's voice session in one guild, Snowflakes mapped to Longs. */
internal sealed class GuildVoiceEvent {
    /** The bot's VOICE_STATE_UPDATE: [channelId] null means it left or was removed. */
    class State(val channelId: Long?, val sessionId: String) : GuildVoiceEvent() {
        override fun toString(): String = "State(channel=$channelId)"
    }

    /** VOICE_SERVER_UPDATE: [endpoint] null means the voice server is being reallocated. Never logs the token. */
    class Server(val token: String, val endpoint: String?) : GuildVoiceEvent() {
        override fun toString(): String = "Server(endpoint=$endpoint)"
    }
}

/**
 * A subscription to one shard's events, filtered to the bot's voice events for one guild and queued without bound (a
 * handful per join). It subscribes before [open] returns, so a command sent afterwards cannot miss its answer; the
 * join and then the connection's follower read [events] in order. [close] unsubscribes.
 */
internal class GuildVoiceEvents private constructor(
    private val queue: Channel<GuildVoiceEvent>,
    private val job: Job,
) {
    val events: ReceiveChannel<GuildVoiceEvent> get() = queue

    fun close() {
        job.cancel()
        queue.close()
    }

    companion object {
        fun open(gateway: Gateway, guildId: Long, selfId: Long, scope: CoroutineScope): GuildVoiceEvents {
            val queue = Channel<GuildVoiceEvent>(Channel.UNLIMITED)
            // UNDISPATCHED: the SharedFlow slot is taken before launch returns, i.e. before op 4 can be sent.
            val job = scope.launch(CoroutineName("earshot-kord-events"), start = CoroutineStart.UNDISPATCHED) {
                gateway.events.collect { event -> classify(event, guildId, selfId)?.let { queue.trySend(it) } }
            }
            return GuildVoiceEvents(queue, job)
        }

        fun classify(event: dev.kord.gateway.Event, guildId: Long, selfId: Long): GuildVoiceEvent? = when (event) {
            is VoiceStateUpdate -> {
                val s = event.voiceState
                if (s.guildId.value?.toLong() == guildId && s.userId.toLong() == selfId) {
                    GuildVoiceEvent.State(s.channelId?.toLong(), s.sessionId)
                } else null
            }
            is VoiceServerUpdate -> {
                val d = event.voiceServerUpdateData
                if (d.guildId.toLong() == guildId) GuildVoiceEvent.Server(d.token, d.endpoint) else null
            }
            else -> null
        }
    }
}

/** The Snowflake ↔ Long mapping at voice-kord's boundary (voice-core speaks Longs). */
internal fun Snowflake.toLong(): Long = value.toLong()
