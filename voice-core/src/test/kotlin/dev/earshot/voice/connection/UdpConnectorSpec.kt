package dev.earshot.voice.connection

import dev.earshot.voice.udp.address
import dev.earshot.voice.udp.discoveryResponse
import dev.earshot.voice.udp.loopbackPeer
import dev.earshot.voice.udp.sendTo
import io.kotest.assertions.throwables.shouldThrow
import io.kotest.core.spec.style.FunSpec
import io.kotest.datatest.withData
import io.kotest.matchers.shouldBe
import kotlinx.coroutines.runBlocking
import java.net.InetSocketAddress
import java.nio.ByteBuffer
import kotlin.concurrent.thread
import kotlin.time.Duration.Companion.seconds

class UdpConnectorSpec : FunSpec({
    // Names are refused before any lookup or socket: the Ready ip must be a literal address.
    withData(nameFn = { "Ready ip '$it' is refused without a DNS lookup" }, "localhost", "discord.media", "example.invalid", "1.2.3", "::1%lo") { ip ->
        val e = shouldThrow<VoiceServerProtocolException> {
            runBlocking { NioUdpConnector.open(ip, 50_000, 1, VoiceConnectionConfig()) }
        }
        e.field shouldBe "Ready.ip"
    }

    test("a literal loopback address is used as given and IP discovery runs against it") {
        loopbackPeer().use { peer ->
            val answer = thread(name = "discovery-peer") {
                val got = ByteBuffer.allocate(100)
                val from = peer.receive(got) as InetSocketAddress
                peer.sendTo(discoveryResponse("203.0.113.9", 40_000), from)
            }
            val link = runBlocking {
                NioUdpConnector.open("127.0.0.1", peer.address.port, 7, VoiceConnectionConfig { ipDiscoveryTimeout = 5.seconds })
            }
            link.use {
                it.externalIp shouldBe "203.0.113.9"
                it.externalPort shouldBe 40_000
            }
            answer.join()
        }
    }
})
