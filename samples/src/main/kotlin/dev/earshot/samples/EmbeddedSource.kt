package dev.earshot.samples

import dev.earshot.voice.ReceiveConfig
import dev.earshot.voice.codec.PcmFormat
import dev.earshot.voice.connection.VoiceConnection
import dev.earshot.voice.connection.VoiceConnectionConfig
import dev.earshot.voice.connection.VoiceSessionInfo
import dev.earshot.voice.testkit.FaultConfig
import dev.earshot.voice.testkit.TestServerConfig
import dev.earshot.voice.testkit.VoiceTestServer
import kotlin.random.Random
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.withTimeoutOrNull
import kotlin.time.Duration.Companion.seconds

/**
 * The embedded demo: starts a [VoiceTestServer] on 127.0.0.1 (DAVE on, plain `ws://`), connects Earshot's
 * [VoiceConnection] to it as a bot would with Discord's grant, puts [DemoSpeakers] in the channel once the recording
 * listens, and disturbs the packets the server sends to the recorder with [DemoOptions.lossPercent] random loss
 * plus some reordering and jitter.
 */
class EmbeddedSource : ConnectionSource {
    override suspend fun connect(options: DemoOptions, scope: CoroutineScope, log: (String) -> Unit): ConnectedChannel {
        val server = VoiceTestServer.start(TestServerConfig(daveProtocolVersion = 1, seed = options.seed))
        try {
            val grant = server.grant(GUILD.toString(), CHANNEL.toString(), BOT.toString())
            val info = VoiceSessionInfo(GUILD, CHANNEL, BOT, grant.sessionId, grant.token, grant.endpoint)
            val config = VoiceConnectionConfig {
                secure = server.config.tls
                receive = ReceiveConfig { decode = PcmFormat.STEREO_48K }
            }
            val connection = VoiceConnection.connect(info, config, scope)
            server.awaitSession(GUILD.toString(), BOT.toString()).faults = faults(options)
            log("embedded voice server at ${server.url} (DAVE on, ${options.lossPercent} % loss with some reorder and jitter)")
            return Channel(server, connection, options)
        } catch (e: Throwable) {
            server.close()
            throw e
        }
    }

    private class Channel(
        private val server: VoiceTestServer,
        override val connection: VoiceConnection,
        private val options: DemoOptions,
    ) : ConnectedChannel {
        override val description: String = "guild $GUILD, channel $CHANNEL on the embedded voice server"
        override val expectedUsers: List<Long> = DemoSpeakers.all.map { it.userId }

        override fun nameOf(userId: Long): String? = DemoSpeakers.all.firstOrNull { it.userId == userId }?.name

        override suspend fun recordingStarted() {
            val channel = server.channel(GUILD.toString(), CHANNEL.toString())
            for (s in DemoSpeakers.all) channel.addMember(s.userId.toString(), s.script(options.duration))
        }

        override suspend fun leave() {
            try {
                withTimeoutOrNull(5.seconds) { connection.disconnect() }
            } finally {
                server.close()
            }
        }
    }

    companion object {
        /** The ids the embedded channel uses (numeric, as DAVE needs). */
        const val GUILD: Long = 100
        const val CHANNEL: Long = 200
        const val BOT: Long = 999

        /** A little of everything a real network does, scaled by the loss asked for; nothing when it is 0. */
        fun faults(options: DemoOptions): FaultConfig {
            val loss = options.lossPercent
            if (loss == 0.0) return FaultConfig.NONE
            return FaultConfig(
                lossPercent = loss,
                reorderPercent = minOf(100.0, loss),
                reorderDepth = 2,
                jitterMillis = 15,
                seed = options.seed ?: Random.nextLong(),
            )
        }
    }
}
