package dev.earshot.releasecheck

import dev.earshot.voice.connection.VoiceConnection
import dev.earshot.voice.connection.VoiceConnectionConfig
import dev.earshot.voice.connection.VoiceSessionInfo
import dev.earshot.voice.kord.KordVoice
import dev.earshot.voice.model.VoiceEvent
import dev.earshot.voice.sink.RecordingSinks
import dev.earshot.voice.testkit.MemberScript
import dev.earshot.voice.testkit.TestServerConfig
import dev.earshot.voice.testkit.VoiceTestServer
import dev.kord.common.entity.Snowflake
import io.ktor.client.HttpClient
import java.nio.ByteBuffer
import java.nio.ByteOrder
import java.nio.file.Files
import java.nio.file.Path
import kotlin.system.exitProcess
import kotlin.time.Duration.Companion.milliseconds
import kotlin.time.Duration.Companion.seconds
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import kotlinx.coroutines.withTimeoutOrNull

/**
 * What a Kord bot's author compiles: Kord, voice-core and voice-kord on one classpath (no Discord login; Kord's
 * types are used to show they compile together), then a recording from the embedded voice server through
 * voice-core while a member speaks (2.5 s). Prints the WAV's length and size; exits with 1 if the recording is not what it should be.
 */
fun main(args: Array<String>) {
    val out = Path.of(args.getOrElse(0) { "recording" })
    Files.createDirectories(out)
    val wav = out.resolve("mixed.wav")
    val guild = Snowflake(100)
    val channel = Snowflake(200)
    val bot = Snowflake(999)
    println("compiled against ${KordVoice::class.qualifiedName} and Kord's ${Snowflake::class.qualifiedName}; " +
        "ktor at run time: ${HttpClient::class.java.`package`.implementationVersion ?: "(no version in manifest)"}")
    VoiceTestServer.start(TestServerConfig()).use { server ->
        val grant = server.grant(guild.toString(), channel.toString(), bot.toString())
        runBlocking {
            val info = VoiceSessionInfo(guild.value.toLong(), channel.value.toLong(), bot.value.toLong(), grant.sessionId, grant.token, grant.endpoint)
            val connection = withTimeout(30.seconds) { VoiceConnection.connect(info, VoiceConnectionConfig { secure = false }) }
            connection.listen(RecordingSinks.mixedWav(wav))
            // The member starts once the recording listens and talks for 2.5 s. When it has sent everything, the
            // recording waits for its last frames to play out (the speaking stop after them), 2 s at most.
            val member = server.channel(guild.toString(), channel.toString()).addMember("1001", MemberScript {
                awaitDave()
                tone(440.0, 2500.milliseconds)
            })
            member.awaitFinished(30.seconds)
            val stop = withTimeoutOrNull(2.seconds) { connection.receiver.speaking.first { it is VoiceEvent.SpeakingStopped } }
            println(stop ?: "the speaker had stopped before its script ended")
            println("received: ${connection.receiver.stats()}")
            connection.disconnect()
        }
    }
    exitProcess(if (report(wav)) 0 else 1)
}

/** Prints the WAV's duration, size and loud share; true if it is finished and holds most of the 2.5 s tone. */
private fun report(wav: Path): Boolean {
    val bytes = Files.readAllBytes(wav)
    val b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN)
    val channels = b.getShort(22).toInt()
    val rate = b.getInt(24)
    val data = b.getInt(40).toLong() and 0xFFFFFFFFL
    val seconds = data / (rate * channels * 2.0)
    val loudSeconds = (44 until bytes.size - 1 step 2).count { Math.abs(b.getShort(it).toInt()) > 1000 } / (rate * channels.toDouble())
    println("recorded %s: %.2f s, %d bytes, %d Hz, %d channels, %.2f s of it loud".format(wav, seconds, bytes.size, rate, channels, loudSeconds))
    val ok = data == bytes.size - 44L && seconds >= 2.0 && loudSeconds >= 1.5
    if (!ok) println("FAIL: expected a finished WAV of at least 2 s with at least 1.5 s of the tone")
    return ok
}
