package dev.earshot.voice.testkit

import dev.earshot.voice.crypto.EncryptionMode
import dev.earshot.voice.crypto.TransportCipher
import dev.earshot.voice.send.RtpPacketizer
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.nulls.shouldBeNull
import io.kotest.matchers.nulls.shouldNotBeNull
import io.kotest.matchers.shouldBe
import io.kotest.matchers.shouldNotBe
import kotlin.time.Duration.Companion.milliseconds
import kotlinx.coroutines.delay
import kotlinx.serialization.json.int
import kotlinx.serialization.json.jsonArray
import kotlinx.serialization.json.jsonPrimitive

class ActionsSpec : FunSpec({
    test("rotateKey: a new op 4 at once, the old key to the client until the switch delay, the old key from it for the grace time") {
        val config = TestServerConfig(keySwitchDelay = 150.milliseconds, previousKeyGrace = 400.milliseconds)
        VoiceTestServer.start(config).use { server ->
            RawVoiceClient.connect(server).use { a ->
                RawVoiceClient.connect(server).use { b ->
                    val ha = a.handshake(server.grant("1", "2", "a"), EncryptionMode.AEAD_XCHACHA20_POLY1305_RTPSIZE)
                    val hb = b.handshake(server.grant("1", "2", "b"))
                    val sessionA = server.session("1", "a")!!
                    val fromB = RtpPacketizer(hb.ssrc, TransportCipher.create(hb.mode, hb.key))
                    val out = ByteArray(2048)
                    fun bSends(i: Int) = b.sendUdp(out.copyOf(fromB.packetize(byteArrayOf(0x78, i.toByte()), out = out)), hb.udpPort)

                    val newKey = sessionA.rotateKey()
                    val description = a.expect(4).d
                    description["mode"]!!.jsonPrimitive.content shouldBe "aead_xchacha20_poly1305_rtpsize"
                    description["secret_key"]!!.jsonArray.map { it.jsonPrimitive.int.toByte() }.toByteArray() shouldBe newKey
                    (newKey contentEquals ha.key) shouldBe false
                    sessionA.secretKey shouldBe newKey

                    val oldCipher = TransportCipher.create(ha.mode, ha.key)
                    val newCipher = TransportCipher.create(ha.mode, newKey)
                    bSends(1)
                    val early = a.receiveDatagram().shouldNotBeNull()
                    a.decrypt(newCipher, early.copyOf()).shouldBeNull()
                    a.decrypt(oldCipher, early).shouldNotBeNull().opus[1] shouldBe 1
                    delay(250)
                    bSends(2)
                    val late = a.receiveDatagram().shouldNotBeNull()
                    a.decrypt(oldCipher, late.copyOf()).shouldBeNull()
                    a.decrypt(newCipher, late).shouldNotBeNull().opus[1] shouldBe 2

                    // From a: the old key is still accepted inside the grace time, the new one always.
                    val withOld = RtpPacketizer(ha.ssrc, TransportCipher.create(ha.mode, ha.key), sequence = 100)
                    val withNew = RtpPacketizer(ha.ssrc, TransportCipher.create(ha.mode, newKey), sequence = 200)
                    a.sendUdp(out.copyOf(withOld.packetize(byteArrayOf(0x78, 10), out = out)), ha.udpPort)
                    a.sendUdp(out.copyOf(withNew.packetize(byteArrayOf(0x78, 11), out = out)), ha.udpPort)
                    sessionA.awaitReceived(2).map { it.sequence } shouldBe listOf(100, 200)
                    delay(250) // past the grace time
                    a.sendUdp(out.copyOf(withOld.packetize(byteArrayOf(0x78, 12), out = out)), ha.udpPort)
                    a.sendUdp(out.copyOf(withNew.packetize(byteArrayOf(0x78, 13), out = out)), ha.udpPort)
                    sessionA.awaitReceived(3).map { it.sequence } shouldBe listOf(100, 200, 201)
                    sessionA.stats.badPackets shouldBe 1
                }
            }
        }
    }

    test("moveEndpoint: new grants for a new endpoint, the old sockets closed with 4022, the old tokens refused") {
        VoiceTestServer.start(TestServerConfig(endpointCloseDelay = 200.milliseconds)).use { server ->
            val oldGrant = server.grant("1", "2", "a")
            val oldEndpoint = server.endpoint
            val oldUdp = server.udpPort
            val newGrant: VoiceGrant
            RawVoiceClient.connect(server).use { a ->
                a.handshake(oldGrant)
                val g = server.moveEndpoint().single()
                newGrant = g
                g.userId shouldBe "a"
                g.sessionId shouldBe oldGrant.sessionId
                g.token shouldNotBe oldGrant.token
                g.endpoint shouldBe server.endpoint
                g.endpoint shouldNotBe oldEndpoint
                server.udpPort shouldNotBe oldUdp

                // The retired endpoint refuses new sessions while it waits to close.
                RawVoiceClient.connect(server, endpoint = oldEndpoint).use { late ->
                    late.expect(8)
                    late.identify(server.grant("1", "2", "late").let { VoiceGrant(it.guildId, it.channelId, it.userId, it.sessionId, it.token, oldEndpoint) })
                    late.awaitClose().shouldNotBeNull().code shouldBe 4004
                }
                a.awaitClose().shouldNotBeNull().code shouldBe 4022
            }
            RawVoiceClient.connect(server).use { a ->
                a.expect(8)
                a.identify(oldGrant)
                a.awaitClose().shouldNotBeNull().code shouldBe 4004
            }
            RawVoiceClient.connect(server).use { a ->
                val hs = a.handshake(newGrant)
                hs.udpPort shouldBe server.udpPort
                server.session("1", "a").shouldNotBeNull().isReady shouldBe true
            }
        }
    }
})
