package dev.earshot.voice.kord

import dev.earshot.voice.connection.VoiceConnection
import dev.earshot.voice.connection.VoiceConnectionConfig
import dev.kord.core.Kord
import dev.kord.core.behavior.GuildBehavior
import dev.kord.core.behavior.channel.BaseVoiceChannelBehavior
import java.util.WeakHashMap

private val managers = WeakHashMap<Kord, KordVoice>()

/**
 * This Kord's [KordVoice]: one per `Kord`, made on first use with the defaults (10 s join timeout, default connection
 * settings), and made afresh after it was closed. Construct a [KordVoice] yourself for other settings.
 */
public val Kord.earshotVoice: KordVoice
    get() = synchronized(managers) {
        managers[this]?.takeIf { it.isAlive } ?: KordVoice(this).also { managers[this] = it }
    }

/**
 * Joins this voice (or stage) channel with Earshot and returns the connection once audio can flow; see
 * [KordVoice.connect] (a connection in another channel of the guild moves here). Uses [Kord.earshotVoice].
 */
public suspend fun BaseVoiceChannelBehavior.connectEarshot(
    selfDeaf: Boolean = false,
    selfMute: Boolean = false,
    config: VoiceConnectionConfig = kord.earshotVoice.defaultConfig,
): VoiceConnection = kord.earshotVoice.connect(guildId, id, selfDeaf, selfMute, config)

/** This guild's Earshot connection from [Kord.earshotVoice], or null. */
public val GuildBehavior.earshotConnection: VoiceConnection? get() = kord.earshotVoice.connections[id]

/** Leaves this guild's voice channel and closes its Earshot connection; see [KordVoice.disconnect]. */
public suspend fun GuildBehavior.disconnectEarshot(): Unit = kord.earshotVoice.disconnect(id)
