package dev.earshot.samples.kord

import dev.earshot.voice.connection.VoiceConnection
import dev.earshot.voice.kord.KordVoice
import dev.earshot.voice.sink.RecordingSinks
import dev.earshot.voice.sink.TeeSink
import dev.kord.common.entity.Snowflake
import dev.kord.core.Kord
import dev.kord.core.behavior.channel.createMessage
import dev.kord.core.behavior.interaction.response.respond
import dev.kord.core.entity.Member
import dev.kord.core.event.interaction.GuildChatInputCommandInteractionCreateEvent
import dev.kord.core.on
import dev.kord.gateway.Intent
import dev.kord.gateway.Intents
import dev.kord.rest.builder.message.addFile
import java.nio.file.Files
import java.nio.file.Path
import java.util.concurrent.ConcurrentHashMap
import kotlin.io.path.fileSize
import kotlin.io.path.listDirectoryEntries

/**
 * A Kord bot that records voice channels: `/record` joins the caller's voice channel and records every speaker
 * (aligned per-user WAV, the mixed WAV, per-user Ogg Opus), `/stop` leaves and posts the Ogg files and the mix in the
 * text channel. Needs only the Guilds and GuildVoiceStates intents (slash commands, no message content).
 *
 * Run: `EARSHOT_TOKEN=... EARSHOT_GUILD=<guild id> java -cp <samples classpath> dev.earshot.samples.kord.RecorderBotKt`
 * (`mvn -B -q -Pdemo -pl samples -am verify -DskipTests -Ddemo.main=dev.earshot.samples.kord.RecorderBotKt`).
 */
suspend fun main() {
    val token = System.getenv("EARSHOT_TOKEN") ?: error("set EARSHOT_TOKEN to the bot's token")
    val guild = Snowflake(System.getenv("EARSHOT_GUILD")?.toULongOrNull() ?: error("set EARSHOT_GUILD to the guild id"))
    val kord = Kord(token)
    val voice = KordVoice(kord)
    val recordings = ConcurrentHashMap<Snowflake, Path>()

    kord.createGuildChatInputCommand(guild, "record", "Join your voice channel and record it")
    kord.createGuildChatInputCommand(guild, "stop", "Stop recording, leave, and post the files")

    kord.on<GuildChatInputCommandInteractionCreateEvent> {
        val response = interaction.deferPublicResponse()
        val guildId = interaction.guildId
        when (interaction.command.rootName) {
            "record" -> {
                val channelId = (interaction.user as? Member)?.getVoiceStateOrNull()?.channelId
                if (channelId == null) {
                    response.respond { content = "Join a voice channel first." }
                    return@on
                }
                val dir = Files.createTempDirectory("earshot-$guildId-")
                val connection: VoiceConnection = try {
                    voice.connect(guildId, channelId)
                } catch (e: Exception) {
                    response.respond { content = "Could not join: ${e.message}" }
                    return@on
                }
                connection.listen(TeeSink(RecordingSinks.perUserWav(dir), RecordingSinks.mixedWav(dir.resolve("mixed.wav")), RecordingSinks.perUserOgg(dir)))
                recordings[guildId] = dir
                response.respond { content = "Recording <#$channelId>" + (connection.dave?.let { " (end-to-end encrypted, privacy code ${it.privacyCode})" } ?: "") }
            }
            "stop" -> {
                val dir = recordings.remove(guildId)
                if (dir == null) {
                    response.respond { content = "Not recording." }
                    return@on
                }
                voice.disconnect(guildId) // sinks finish their files before this returns
                val files = dir.listDirectoryEntries().filter { it.fileName.toString().let { n -> n.endsWith(".opus") || n == "mixed.wav" } }
                // Discord caps attachments (10 MB for bots without boosts): post what fits, name the rest.
                val (fits, tooBig) = files.sortedBy { it.fileName.toString() }.partition { it.fileSize() < MAX_ATTACHMENT }
                response.respond { content = "Stopped. ${files.size} files in $dir" + if (tooBig.isEmpty()) "" else "; too big to post: ${tooBig.joinToString { it.fileName.toString() }}" }
                for (chunk in fits.chunked(10)) interaction.channel.createMessage { chunk.forEach { addFile(it) } }
            }
        }
    }

    Runtime.getRuntime().addShutdownHook(Thread { kotlinx.coroutines.runBlocking { voice.close() } })
    kord.login { intents = Intents(Intent.Guilds, Intent.GuildVoiceStates) }
}

private const val MAX_ATTACHMENT = 10L * 1024 * 1024
