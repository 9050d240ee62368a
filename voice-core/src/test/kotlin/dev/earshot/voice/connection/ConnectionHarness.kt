package dev.earshot.voice.connection

import dev.earshot.voice.base.NanoClock
import dev.earshot.voice.ReceiveConfig
import dev.earshot.voice.gateway.FakeGatewaySocket
import dev.earshot.voice.gateway.GatewayConnector
import dev.earshot.voice.gateway.VoiceOp
import dev.earshot.voice.datagram.DatagramSource
import dev.earshot.voice.testing.ChannelDatagramSource
import dev.earshot.voice.udp.DatagramTransport
import dev.earshot.voice.udp.IpDiscoveryException
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.Deferred
import kotlinx.coroutines.ExperimentalCoroutinesApi
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.async
import kotlinx.coroutines.launch
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.test.StandardTestDispatcher
import kotlinx.coroutines.test.TestScope
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.jsonObject
import kotlinx.serialization.json.jsonPrimitive
import java.net.ConnectException
import java.util.concurrent.CopyOnWriteArrayList

/** A UDP transport in memory: the test offers datagrams to [inbound] and reads what was [sent]. */
internal class FakeTransport : DatagramTransport {
    val inbound = ChannelDatagramSource()
    val sent = CopyOnWriteArrayList<ByteArray>()
    @Volatile
    var closed = false
    override val remote: java.net.InetSocketAddress = java.net.InetSocketAddress("127.0.0.1", 50_000)

    override fun poll(buffer: ByteArray): Int = if (closed) DatagramSource.CLOSED else inbound.poll(buffer)

    override suspend fun awaitReadable() = inbound.awaitReadable()

    override fun send(buffer: ByteArray, offset: Int, length: Int): Boolean {
        if (closed) return false
        sent += buffer.copyOfRange(offset, offset + length)
        return true
    }

    fun close() {
        closed = true
        inbound.close()
    }
}

/** A voice server in memory for connection tests in virtual time: hands out [FakeGatewaySocket]s and fake UDP links. */
@OptIn(ExperimentalCoroutinesApi::class)
internal class ConnectionHarness(private val scope: TestScope, configure: VoiceConnectionConfig.Builder.() -> Unit = {}) {
    val sockets = Channel<FakeGatewaySocket>(Channel.UNLIMITED)
    val urls = CopyOnWriteArrayList<String>()
    val links = CopyOnWriteArrayList<FakeTransport>()
    /** Connection attempts to refuse before accepting again. */
    @Volatile
    var refuse = 0
    /** IP discoveries to fail before succeeding again. */
    @Volatile
    var failDiscovery = 0
    /** What a failing IP discovery throws. */
    @Volatile
    var discoveryFailure: () -> Throwable = { IpDiscoveryException("no IP discovery answer (test)") }

    val config: VoiceConnectionConfig = VoiceConnectionConfig {
        val dispatcher = StandardTestDispatcher(scope.testScheduler)
        receive = ReceiveConfig {
            clock = NanoClock { scope.testScheduler.currentTime * 1_000_000L }
            readDispatcher = dispatcher
            pipelineDispatcher = dispatcher
        }
        gatewayConnector = GatewayConnector { url ->
            urls += url
            if (refuse > 0) {
                refuse--
                throw ConnectException("connection refused")
            }
            FakeGatewaySocket().also { sockets.trySend(it) }
        }
        udpConnector = UdpConnector { _, _, _, _ ->
            if (failDiscovery > 0) {
                failDiscovery--
                throw discoveryFailure()
            }
            val t = FakeTransport()
            links += t
            UdpLink(t, "203.0.113.7", 50_000 + links.size) { t.close() }
        }
        configure()
    }

    fun connectAsync(info: VoiceSessionInfo = INFO): Deferred<VoiceConnection> =
        // Detached from the test's job, so that a failed connect is an awaited result, not a failed test scope.
        scope.async(SupervisorJob(), start = CoroutineStart.UNDISPATCHED) { VoiceConnection.connect(info, config, scope.backgroundScope) }

    /** Plays the server with [script] on every socket the client opens, each in its own coroutine in [scope]. */
    fun serveEach(scope: CoroutineScope, script: suspend (FakeGatewaySocket) -> Unit) {
        scope.launch { for (socket in sockets) launch { script(socket) } }
    }

    /** Connects through a whole handshake; returns the socket and the connection. */
    suspend fun connected(ssrc: Long = 1001, seqStart: Int = 0): Pair<FakeGatewaySocket, VoiceConnection> {
        val pending = connectAsync()
        val socket = sockets.receive()
        socket.helloIdentify()
        socket.readyToSession(ssrc = ssrc, seqStart = seqStart)
        return socket to pending.await()
    }

    /** Serves Hello and expects Identify; returns Identify's payload. */
    suspend fun FakeGatewaySocket.helloIdentify(): JsonObject {
        serverSends("""{"op":8,"d":{"heartbeat_interval":13750,"v":8}}""")
        return expect(VoiceOp.IDENTIFY)
    }

    /** The whole handshake after Identify: Ready, expects Select Protocol, Session Description; returns Select Protocol's payload. */
    suspend fun FakeGatewaySocket.readyToSession(
        ssrc: Long = 1001,
        modes: String = """["aead_aes256_gcm_rtpsize","aead_xchacha20_poly1305_rtpsize"]""",
        key: Int = 1,
        seqStart: Int = 0,
        daveVersion: Int = 0,
    ): JsonObject {
        serverSends("""{"op":2,"seq":${seqStart + 1},"d":{"ssrc":$ssrc,"ip":"127.0.0.1","port":50000,"modes":$modes,"heartbeat_interval":1}}""")
        val select = expect(VoiceOp.SELECT_PROTOCOL)
        val mode = select["data"]!!.jsonObject["mode"]!!.jsonPrimitive.content
        serverSends("""{"op":4,"seq":${seqStart + 2},"d":{"mode":"$mode","secret_key":${List(32) { key }},"dave_protocol_version":$daveVersion}}""")
        expect(VoiceOp.SPEAKING)
        return select
    }

    companion object {
        val INFO = VoiceSessionInfo(guildId = 10, channelId = 20, userId = 30, sessionId = "session-1", token = "token-1", endpoint = "voice.test:443")
    }
}
