package dev.earshot.voice.kord

import dev.earshot.voice.VoiceReceiver
import dev.earshot.voice.connection.VoiceConnection
import dev.earshot.voice.model.AudioFrame
import dev.earshot.voice.model.OpusPacket
import dev.earshot.voice.model.VoiceEvent
import dev.kord.common.entity.Snowflake
import dev.kord.core.Kord
import dev.kord.core.entity.Member
import dev.kord.core.entity.User
import kotlinx.coroutines.flow.Flow

/*
 * voice-core speaks Discord ids as Longs; these put Kord's types on them: Snowflakes for ids, and Kord's User and
 * Member for the people behind them. Snowflakes are below 2^63, so a Long holds every one; the mapping goes through ULong.
 */

/** [this] Discord id (a voice-core Long) as a Kord [Snowflake]. */
public fun Long.toSnowflake(): Snowflake = Snowflake(toULong())

/** The guild of this connection. */
public val VoiceConnection.guildSnowflake: Snowflake get() = session.guildId.toSnowflake()

/** The voice channel of this connection, as last set (it follows moves); null when the session had none. */
public val VoiceConnection.channelSnowflake: Snowflake? get() = session.channelId?.toSnowflake()

/** The users in the channel as the voice server announced them, without the bot; a snapshot. */
public val VoiceConnection.memberSnowflakes: Set<Snowflake> get() = members.mapTo(HashSet()) { it.toSnowflake() }

/** The speaker of this frame, or null while its SSRC has no known user (and for mixed frames). */
public val AudioFrame.userSnowflake: Snowflake? get() = userId?.toSnowflake()

/** The sender of this packet, or null while its SSRC has no known user. */
public val OpusPacket.userSnowflake: Snowflake? get() = userId?.toSnowflake()

/** The user this event is about, or null (speaking events of an SSRC without a known user, and events about none). */
public val VoiceEvent.userSnowflake: Snowflake?
    get() = when (this) {
        is VoiceEvent.SpeakingStarted -> userId?.toSnowflake()
        is VoiceEvent.SpeakingStopped -> userId?.toSnowflake()
        is VoiceEvent.MemberConnected -> userId.toSnowflake()
        is VoiceEvent.MemberDisconnected -> userId.toSnowflake()
        is VoiceEvent.SpeakingStateChanged -> userId.toSnowflake()
        is VoiceEvent.MemberVideo -> userId.toSnowflake()
        is VoiceEvent.MemberFlags -> userId.toSnowflake()
        is VoiceEvent.MemberPlatform -> userId.toSnowflake()
        else -> null
    }

/** [user]'s frames, one per tick in which they speak; see [VoiceReceiver.frames]. */
public fun VoiceReceiver.frames(user: Snowflake): Flow<AudioFrame> = frames(user.value.toLong())

/**
 * The Kord [User] behind [userId] (from a frame or an event of this connection): from Kord's cache, else fetched over
 * REST (Kord's default supplier); null when Discord does not know the id.
 */
public suspend fun VoiceConnection.user(kord: Kord, userId: Snowflake): User? = kord.getUser(userId)

/**
 * The [Member] of this connection's guild behind [userId]: from Kord's cache, else fetched over REST; null when the
 * user is not (or no longer) in the guild.
 */
public suspend fun VoiceConnection.member(kord: Kord, userId: Snowflake): Member? =
    kord.getGuildOrNull(guildSnowflake)?.getMemberOrNull(userId)

/** The [Member]s in the channel as the voice server announced them (see [memberSnowflakes]); ids Kord cannot resolve are left out. */
public suspend fun VoiceConnection.members(kord: Kord): List<Member> = memberSnowflakes.mapNotNull { member(kord, it) }
