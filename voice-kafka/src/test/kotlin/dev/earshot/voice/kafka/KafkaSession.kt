package dev.earshot.voice.kafka

import dev.earshot.voice.ReceiveConfig
import dev.earshot.voice.audio.Utterance
import dev.earshot.voice.codec.PcmFormat
import dev.earshot.voice.connection.VoiceConnection
import dev.earshot.voice.connection.VoiceConnectionConfig
import dev.earshot.voice.connection.VoiceConnectionState
import dev.earshot.voice.connection.VoiceSessionInfo
import dev.earshot.voice.files.OggOpusReader
import dev.earshot.voice.sink.AudioSink
import dev.earshot.voice.sink.RecordingSinks
import dev.earshot.voice.sink.SpeechSegmenterSink
import dev.earshot.voice.sink.TeeSink
import dev.earshot.voice.testkit.MemberScript
import dev.earshot.voice.testkit.TestServerConfig
import dev.earshot.voice.testkit.VoiceTestServer
import io.kotest.matchers.shouldBe
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.withTimeout
import java.nio.file.Files
import java.nio.file.Path
import java.util.Collections
import kotlin.io.path.listDirectoryEntries
import kotlin.io.path.name
import kotlin.time.Duration.Companion.milliseconds
import kotlin.time.Duration.Companion.seconds

/** What the local recording and the worker both write: per-user WAV, mixed WAV, per-user Ogg Opus, utterances. */
class RecordingOutputs(val dir: Path) {
    val utterances: MutableList<String> = Collections.synchronizedList(ArrayList())

    fun sink(): AudioSink = TeeSink(
        RecordingSinks.perUserWav(dir),
        RecordingSinks.mixedWav(dir.resolve("mixed.wav")),
        RecordingSinks.perUserOgg(dir),
        SpeechSegmenterSink(PcmFormat.STEREO_48K) { user, u -> utterances += describe(user?.id, u) },
    )

    companion object {
        // The utterance with a digest of its samples: equal strings mean equal audio.
        fun describe(user: Long?, u: Utterance): String =
            "user=$user ticks=${u.startTick}..${u.endTick} samples=${u.pcm.size} hash=${u.pcm.contentHashCode()}"

        /** Asserts [worker] holds the same files as [local]: WAV byte for byte, Ogg packet for packet. */
        fun assertSame(local: RecordingOutputs, worker: RecordingOutputs) {
            val names = local.dir.listDirectoryEntries().map { it.name }.sorted()
            worker.dir.listDirectoryEntries().map { it.name }.sorted() shouldBe names
            for (name in names) {
                val a = local.dir.resolve(name)
                val b = worker.dir.resolve(name)
                if (name.endsWith(".opus")) {
                    // The Ogg stream serial is random per file; the packets and granules are the recording.
                    val sa = OggOpusReader.read(a)
                    val sb = OggOpusReader.read(b)
                    sb.finalGranule shouldBe sa.finalGranule
                    sb.packets.map { it.toList() } shouldBe sa.packets.map { it.toList() }
                } else {
                    withClue(name) { Files.mismatch(a, b) shouldBe -1L }
                }
            }
            worker.utterances.toList() shouldBe local.utterances.toList()
        }

        private inline fun <T> withClue(clue: String, block: () -> T): T = io.kotest.assertions.withClue(clue, block)
    }
}

/** A DAVE voice channel on the testkit with Earshot connected as the bot, recording through Kafka and locally. */
class KafkaSession(val guild: Long = 111, val channel: Long = 222) : AutoCloseable {
    val server: VoiceTestServer = VoiceTestServer.start(TestServerConfig(daveProtocolVersion = 1, seed = 7))
    val testChannel = server.channel(guild.toString(), channel.toString())

    suspend fun connect(scope: CoroutineScope): VoiceConnection {
        val grant = server.grant(guild.toString(), channel.toString(), BOT.toString())
        val info = VoiceSessionInfo(guild, channel, BOT, grant.sessionId, grant.token, grant.endpoint)
        val config = VoiceConnectionConfig {
            secure = server.config.tls
            receive = ReceiveConfig { decode = PcmFormat.STEREO_48K; tickQueueCapacity = 3000 }
        }
        val c = VoiceConnection.connect(info, config, scope)
        withTimeout(20.seconds) { c.state.first { it is VoiceConnectionState.Connected } }
        return c
    }

    /** Two tone speakers with talk spurts and pauses, and a silent member; they leave when done. */
    fun addSpeakers(spurts: Int = 3) {
        testChannel.addMember("1001", MemberScript {
            awaitDave()
            repeat(spurts) { i ->
                tone(440.0 + 110 * i, 600.milliseconds)
                pause(400.milliseconds)
            }
        })
        testChannel.addMember("1002", MemberScript {
            awaitDave()
            pause(300.milliseconds)
            repeat(spurts) { i ->
                tone(330.0 + 55 * i, 500.milliseconds, amplitude = 0.2)
                pause(500.milliseconds)
            }
        })
        testChannel.addMember("1003")
    }

    suspend fun awaitSpeakers() {
        for (id in listOf("1001", "1002")) testChannel.member(id)!!.awaitFinished(60.seconds)
    }

    override fun close() = server.close()

    companion object {
        const val BOT = 999L
    }
}
