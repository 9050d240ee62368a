package dev.earshot.voice.testkit

import dev.earshot.voice.crypto.EncryptionMode
import dev.earshot.voice.crypto.RtpsizeLayout
import dev.earshot.voice.crypto.TransportCipher
import dev.earshot.voice.rtp.HeaderExtensions
import dev.earshot.voice.rtp.RtpWriter
import dev.earshot.voice.send.RtpPacketizer
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.collections.shouldContainExactly
import io.kotest.matchers.nulls.shouldBeNull
import io.kotest.matchers.nulls.shouldNotBeNull
import io.kotest.matchers.shouldBe
import java.net.DatagramPacket
import java.net.DatagramSocket
import java.net.InetSocketAddress
import kotlinx.coroutines.delay
import kotlinx.serialization.json.buildJsonObject
import kotlinx.serialization.json.put

private fun opus(i: Int) = ByteArray(20 + i % 7) { (i * 31 + it).toByte() }.also { it[0] = 0x78 } // TOC: SILK WB 20 ms

class SfuSpec : FunSpec({
    test("audio is forwarded between clients with different modes, header fields and extension kept, each with its own key") {
        VoiceTestServer.start().use { server ->
            RawVoiceClient.connect(server).use { a ->
                RawVoiceClient.connect(server).use { b ->
                    val ha = a.handshake(server.grant("1", "2", "a"), EncryptionMode.AEAD_AES256_GCM_RTPSIZE)
                    val hb = b.handshake(server.grant("1", "2", "b"), EncryptionMode.AEAD_XCHACHA20_POLY1305_RTPSIZE)
                    (ha.key contentEquals hb.key) shouldBe false
                    val toServer = RtpPacketizer(ha.ssrc, TransportCipher.create(ha.mode, ha.key), sequence = 65530, timestamp = 0xFFFF_FE00L)
                    val ext = RtpWriter.oneByteElements(1 to byteArrayOf(0x9E.toByte()), 9 to byteArrayOf(0x02))
                    val out = ByteArray(2048)
                    val sent = (0 until 10).map { i ->
                        val n = toServer.packetize(opus(i), out = out, extensionElements = if (i % 2 == 0) ext else null, marker = i == 0)
                        a.sendUdp(out.copyOf(n), ha.udpPort)
                        opus(i)
                    }
                    val got = b.receiveRtp(TransportCipher.create(hb.mode, hb.key), 10)
                    got.map { it.opus.toList() } shouldContainExactly sent.map { it.toList() }
                    got.map { it.view.sequence } shouldContainExactly (0 until 10).map { (65530 + it) and 0xFFFF }
                    got.map { it.view.timestamp } shouldContainExactly (0 until 10).map { (0xFFFF_FE00L + 960L * it) and 0xFFFF_FFFFL }
                    got.map { it.view.ssrc }.toSet() shouldBe setOf(ha.ssrc)
                    got.map { it.view.marker } shouldContainExactly (0 until 10).map { it == 0 }
                    got.map { it.view.extension } shouldContainExactly (0 until 10).map { it % 2 == 0 }
                    got.filter { it.view.extension }.forEach { it.extensionElements.toList() shouldBe ext.toList() }

                    // What the server captured from a is the same audio, decrypted.
                    val captured = server.session("1", "a")!!.awaitReceived(10)
                    captured.map { it.opus.toList() } shouldContainExactly sent.map { it.toList() }
                    captured.map { it.sequence } shouldContainExactly got.map { it.view.sequence }
                    captured.all { it.ssrc == ha.ssrc } shouldBe true

                    // The other way round, XChaCha20 in, AES-GCM out.
                    val back = RtpPacketizer(hb.ssrc, TransportCipher.create(hb.mode, hb.key), sequence = 7, timestamp = 70)
                    val n = back.packetize(opus(99), out = out)
                    b.sendUdp(out.copyOf(n), hb.udpPort)
                    val reply = a.receiveRtp(TransportCipher.create(ha.mode, ha.key), 1).single()
                    reply.opus.toList() shouldBe opus(99).toList()
                    reply.view.ssrc shouldBe hb.ssrc
                    reply.view.sequence shouldBe 7

                    server.stats.rtpIn shouldBe 11
                    server.stats.packetsOut shouldBe 11
                    server.session("1", "b")!!.stats.packetsOut shouldBe 10
                }
            }
        }
    }

    test("CSRCs and padding survive forwarding; the captured payload has the padding removed") {
        VoiceTestServer.start().use { server ->
            RawVoiceClient.connect(server).use { a ->
                RawVoiceClient.connect(server).use { b ->
                    val ha = a.handshake(server.grant("1", "2", "a"))
                    val hb = b.handshake(server.grant("1", "2", "b"))
                    val header = ByteArray(40)
                    val hl = RtpWriter.writeHeader(header, 0, 5, 500, ha.ssrc, csrcs = longArrayOf(11, 22),
                        extensionProfile = HeaderExtensions.PROFILE_ONE_BYTE, extensionLengthWords = 1)
                    header[0] = (header[0].toInt() or 0x20).toByte() // P
                    val payload = opus(3)
                    val plain = byteArrayOf(0x10, 0x55, 0, 0) + payload + byteArrayOf(0, 0, 3)
                    val packet = ByteArray(hl + plain.size + RtpsizeLayout.OVERHEAD)
                    TransportCipher.create(ha.mode, ha.key).encrypt(header, 0, hl, plain, 0, plain.size, 1, packet, 0)
                    a.sendUdp(packet, ha.udpPort)
                    val got = b.receiveRtp(TransportCipher.create(hb.mode, hb.key), 1).single()
                    got.view.csrcCount shouldBe 2
                    got.view.csrc(1) shouldBe 22
                    got.view.padding shouldBe true
                    got.opus.toList() shouldBe payload.toList()
                    server.session("1", "a")!!.awaitReceived(1).single().opus.toList() shouldBe payload.toList()
                }
            }
        }
    }

    test("keepalives are echoed and counted; RTCP is counted and not forwarded") {
        VoiceTestServer.start().use { server ->
            RawVoiceClient.connect(server).use { a ->
                val ha = a.handshake(server.grant("1", "2", "a"))
                val keepalive = byteArrayOf(3, 0, 0, 0, 0, 0, 0, 0) // discord.js: uint32 LE counter
                a.sendUdp(keepalive, ha.udpPort)
                a.receiveDatagram().shouldNotBeNull().toList() shouldBe keepalive.toList()
                val rtcp = ByteArray(32).also { it[0] = 0x81.toByte(); it[1] = 201.toByte() }
                a.sendUdp(rtcp, ha.udpPort)
                delay(50)
                server.stats.keepalivesIn shouldBe 1
                server.stats.rtcpIn shouldBe 1
                server.session("1", "a")!!.stats.keepalivesIn shouldBe 1
            }
        }
    }

    test("bad packets are dropped and counted: wrong key, foreign SSRC, unknown source, before the key, discovery for an unknown SSRC") {
        VoiceTestServer.start().use { server ->
            RawVoiceClient.connect(server).use { a ->
                RawVoiceClient.connect(server).use { b ->
                    val ha = a.handshake(server.grant("1", "2", "a"))
                    val hb = b.handshake(server.grant("1", "2", "b"))
                    val out = ByteArray(2048)
                    val wrongKey = RtpPacketizer(ha.ssrc, TransportCipher.create(ha.mode, ByteArray(32) { 9 }))
                    a.sendUdp(out.copyOf(wrongKey.packetize(opus(1), out = out)), ha.udpPort)
                    val foreign = RtpPacketizer(hb.ssrc, TransportCipher.create(ha.mode, ha.key))
                    a.sendUdp(out.copyOf(foreign.packetize(opus(2), out = out)), ha.udpPort)
                    DatagramSocket().use { stranger ->
                        val p = RtpPacketizer(424242, TransportCipher.create(ha.mode, ha.key))
                        val n = p.packetize(opus(3), out = out)
                        stranger.send(DatagramPacket(out, n, InetSocketAddress("127.0.0.1", ha.udpPort)))
                        val discovery = ByteArray(74).also { it[1] = 1; it[3] = 70; it[7] = 99 }
                        stranger.send(DatagramPacket(discovery, 74, InetSocketAddress("127.0.0.1", ha.udpPort)))
                    }
                    delay(100)
                    b.receiveDatagram(100).shouldBeNull()
                    val stats = server.stats
                    stats.badPackets shouldBe 3 // wrong key, foreign SSRC, discovery for an unknown SSRC
                    stats.unknownSource shouldBe 1
                    stats.rtpIn shouldBe 0
                    server.session("1", "a")!!.stats.badPackets shouldBe 2
                }
            }
            // A client that has run discovery but not Select Protocol has no key yet.
            RawVoiceClient.connect(server).use { c ->
                c.expect(8)
                c.identify(server.grant("1", "2", "c"))
                val ready = c.expect(2).d
                val ssrc = ready["ssrc"].toString().toLong()
                c.discover(ssrc, server.udpPort)
                val p = RtpPacketizer(ssrc, TransportCipher.create(EncryptionMode.AEAD_AES256_GCM_RTPSIZE, ByteArray(32)))
                val out = ByteArray(2048)
                c.sendUdp(out.copyOf(p.packetize(opus(4), out = out)), server.udpPort)
                delay(50)
                server.stats.noKeyDrops shouldBe 1
            }
        }
    }

    test("a client that skips IP discovery is bound by its first RTP packet's SSRC") {
        VoiceTestServer.start().use { server ->
            RawVoiceClient.connect(server).use { a ->
                RawVoiceClient.connect(server).use { b ->
                    b.handshake(server.grant("1", "2", "b"))
                    a.expect(8)
                    a.identify(server.grant("1", "2", "a"))
                    val ssrc = a.expect(2).d["ssrc"].toString().toLong()
                    a.send(1, buildJsonObject {
                        put("protocol", "udp")
                        put("data", buildJsonObject { put("address", "0.0.0.0"); put("port", 0); put("mode", "aead_aes256_gcm_rtpsize") })
                    })
                    a.expect(4)
                    val session = server.session("1", "a")!!
                    session.udpAddress.shouldBeNull()
                    val p = RtpPacketizer(ssrc, TransportCipher.create(session.mode!!, session.secretKey!!))
                    val out = ByteArray(2048)
                    a.sendUdp(out.copyOf(p.packetize(opus(5), out = out)), server.udpPort)
                    session.awaitReceived(1)
                    session.udpAddress shouldBe InetSocketAddress("127.0.0.1", a.udp.localPort)
                }
            }
        }
    }
})
