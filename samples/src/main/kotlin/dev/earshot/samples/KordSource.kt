package dev.earshot.samples

import dev.earshot.voice.ReceiveConfig
import dev.earshot.voice.codec.PcmFormat
import dev.earshot.voice.connection.VoiceConnection
import dev.earshot.voice.connection.VoiceConnectionConfig
import dev.earshot.voice.kord.KordVoice
import dev.earshot.voice.model.VoiceEvent
import dev.kord.common.entity.Snowflake
import dev.kord.core.Kord
import dev.kord.core.event.gateway.ReadyEvent
import dev.kord.gateway.Intent
import dev.kord.gateway.Intents
import kotlinx.coroutines.CoroutineName
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.flow.filterIsInstance
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.launch
import kotlinx.coroutines.withTimeout
import kotlinx.coroutines.withTimeoutOrNull
import java.util.concurrent.ConcurrentHashMap
import kotlin.time.Duration.Companion.seconds

/**
 * The demo against a real Discord channel: logs the bot in with Kord (intents Guilds and GuildVoiceStates, no
 * privileged ones), joins [target]'s channel through `voice-kord`'s [KordVoice] and records it like the embedded demo.
 * Speakers' names are looked up through Kord's REST client the first time they speak.
 */
class KordSource(private val target: DiscordTarget) : ConnectionSource {
    override suspend fun connect(options: DemoOptions, scope: CoroutineScope, log: (String) -> Unit): ConnectedChannel {
        val kord = Kord(target.token)
        try {
            val ready = scope.launch(CoroutineName("earshot-demo-kord-ready")) { kord.events.filterIsInstance<ReadyEvent>().first() }
            scope.launch(CoroutineName("earshot-demo-kord-login")) {
                kord.login { intents = Intents(Intent.Guilds, Intent.GuildVoiceStates) }
            }
            withTimeout(30.seconds) { ready.join() }
            log("logged in to Discord as ${kord.selfId}")
            val voice = KordVoice(kord, defaultConfig = VoiceConnectionConfig { receive = ReceiveConfig { decode = PcmFormat.STEREO_48K } })
            val connection = voice.connect(Snowflake(target.guildId), Snowflake(target.channelId))
            return Channel(kord, voice, connection, scope)
        } catch (e: Throwable) {
            withTimeoutOrNull(5.seconds) { kord.shutdown() }
            throw e
        }
    }

    private inner class Channel(
        private val kord: Kord,
        private val voice: KordVoice,
        override val connection: VoiceConnection,
        scope: CoroutineScope,
    ) : ConnectedChannel {
        private val names = ConcurrentHashMap<Long, String>()
        override val description: String = "guild ${target.guildId}, channel ${target.channelId} on Discord"
        override val expectedUsers: List<Long> = emptyList()

        init {
            // Names are nice to have: a failed lookup leaves the id on screen.
            scope.launch(CoroutineName("earshot-demo-kord-names")) {
                connection.receiver.speaking.filterIsInstance<VoiceEvent.SpeakingStarted>().collect { e ->
                    val user = e.userId ?: return@collect
                    if (!names.containsKey(user)) runCatching { kord.getUser(Snowflake(user))?.username }.getOrNull()?.let { names[user] = it }
                }
            }
        }

        override fun nameOf(userId: Long): String? = names[userId]

        override suspend fun leave() {
            try {
                withTimeoutOrNull(10.seconds) { voice.close() }
            } finally {
                withTimeoutOrNull(5.seconds) { kord.shutdown() }
            }
        }
    }
}
