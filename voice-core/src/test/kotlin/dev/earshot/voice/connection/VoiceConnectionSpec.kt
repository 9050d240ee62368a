package dev.earshot.voice.connection

import dev.earshot.voice.gateway.VoiceOp
import dev.earshot.voice.model.VoiceEvent
import dev.earshot.voice.testing.FakeSpeaker
import dev.earshot.voice.testing.Speech
import io.kotest.assertions.throwables.shouldThrow
import io.kotest.core.spec.style.FunSpec
import io.kotest.datatest.withData
import io.kotest.matchers.collections.shouldContainExactly
import io.kotest.matchers.shouldBe
import io.kotest.matchers.string.shouldContain
import io.kotest.matchers.types.shouldBeInstanceOf
import kotlinx.coroutines.launch
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.async
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.flow.take
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.test.advanceTimeBy
import kotlinx.coroutines.test.runCurrent
import kotlinx.coroutines.test.runTest
import kotlinx.serialization.json.int
import kotlinx.serialization.json.jsonObject
import kotlinx.serialization.json.jsonPrimitive
import kotlin.time.Duration.Companion.seconds

class VoiceConnectionSpec : FunSpec({
    test("handshake: Identify with the session's fields, UDP on Ready, AES-GCM chosen, key installed, Speaking sent") {
        runTest {
            val h = ConnectionHarness(this)
            with(h) {
                val pending = connectAsync()
                val socket = sockets.receive()
                urls.single() shouldBe "wss://voice.test:443/?v=8"
                val identify = socket.helloIdentify()
                identify["server_id"]!!.jsonPrimitive.content shouldBe "10"
                identify["user_id"]!!.jsonPrimitive.content shouldBe "30"
                identify["session_id"]!!.jsonPrimitive.content shouldBe "session-1"
                identify["token"]!!.jsonPrimitive.content shouldBe "token-1"
                identify["max_dave_protocol_version"]!!.jsonPrimitive.int shouldBe 1 // DAVE is offered by default
                val select = socket.readyToSession(ssrc = 4242)
                select["protocol"]!!.jsonPrimitive.content shouldBe "udp"
                select["data"]!!.jsonObject.let {
                    it["address"]!!.jsonPrimitive.content shouldBe "203.0.113.7"
                    it["port"]!!.jsonPrimitive.int shouldBe 50_001
                    it["mode"]!!.jsonPrimitive.content shouldBe "aead_aes256_gcm_rtpsize"
                }
                val connection = pending.await()
                connection.state.value.shouldBeInstanceOf<VoiceConnectionState.Connected>().ssrc shouldBe 4242
                connection.ssrc shouldBe 4242
                connection.encryptionMode!!.wireName shouldBe "aead_aes256_gcm_rtpsize"
                connection.isAlive shouldBe true
                connection.disconnect()
                socket.clientClose!!.code shouldBe 1000
                connection.closed.await() shouldBe null
                connection.state.value.shouldBeInstanceOf<VoiceConnectionState.Closed>().cause shouldBe null
                links.single().closed shouldBe true
            }
        }
    }

    test("XChaCha20 when AES-GCM is not offered; no usable mode is a clear, final error") {
        runTest {
            val h = ConnectionHarness(this)
            with(h) {
                val pending = connectAsync()
                val socket = sockets.receive()
                socket.helloIdentify()
                socket.readyToSession(modes = """["aead_xchacha20_poly1305_rtpsize","xsalsa20_poly1305"]""")["data"]!!
                    .jsonObject["mode"]!!.jsonPrimitive.content shouldBe "aead_xchacha20_poly1305_rtpsize"
                pending.await().disconnect()
            }
            val h2 = ConnectionHarness(this)
            with(h2) {
                val pending = connectAsync()
                val socket = sockets.receive()
                socket.helloIdentify()
                socket.serverSends("""{"op":2,"d":{"ssrc":1,"ip":"127.0.0.1","port":1,"modes":["xsalsa20_poly1305","aead_aes256_gcm"]}}""")
                val e = shouldThrow<NoSupportedEncryptionModeException> { pending.await() }
                e.message shouldContain "xsalsa20_poly1305"
                urls.size shouldBe 1 // not retried
            }
        }
    }

    test("member messages become events and fill the SSRC map; a leave forgets the user's SSRCs") {
        runTest {
            val h = ConnectionHarness(this)
            with(h) {
                val (socket, connection) = connected()
                val events = async(start = CoroutineStart.UNDISPATCHED) { connection.events.take(6).toList() }
                socket.serverSends("""{"op":11,"d":{"user_ids":["100","200"]}}""")
                socket.serverSends("""{"op":5,"d":{"user_id":"100","ssrc":5000,"speaking":1}}""")
                socket.serverSends("""{"op":18,"d":{"user_id":"100","flags":2}}""")
                socket.serverSends("""{"op":20,"d":{"user_id":"200","platform":1}}""")
                socket.serverSends("""{"op":13,"d":{"user_id":"100"}}""")
                socket.serverSends("""{"op":15,"d":{"any":100}}""") // ignored, not fatal
                runCurrent()
                events.await().map { it.toString() } shouldContainExactly listOf(
                    "MemberConnected(user=100)", "MemberConnected(user=200)", "SpeakingStateChanged(user=100, ssrc=5000, flags=1)",
                    "MemberFlags(user=100, flags=2)", "MemberPlatform(user=200, platform=1)", "MemberDisconnected(user=100)",
                )
                connection.receiver.ssrcs.userOf(5000) shouldBe -1
                connection.members shouldBe setOf(200L)
                connection.isAlive shouldBe true
                connection.disconnect()
            }
        }
    }

    test("a member's leave (op 13) lets its buffered audio play out before its state goes; nothing is dropped") {
        // Before, op 13 made the receiver forget the SSRC at once: the leaver's last 60 ms (the playout delay's worth,
        // still buffered) were dropped and counted nowhere.
        runTest {
            val h = ConnectionHarness(this)
            with(h) {
                val (socket, connection) = connected()
                val ticks = async(start = CoroutineStart.UNDISPATCHED) { connection.receiver.ticks.toList() }
                socket.serverSends("""{"op":11,"d":{"user_ids":["100"]}}""")
                socket.serverSends("""{"op":5,"d":{"user_id":"100","ssrc":5000,"speaking":1}}""")
                runCurrent()
                val speaker = FakeSpeaker(5000, ByteArray(32) { 1 })
                val packets = Speech.packets.take(50)
                for (p in packets) {
                    links[0].inbound.offer(speaker.datagram(p))
                    advanceTimeBy(20)
                }
                runCurrent()
                socket.serverSends("""{"op":13,"d":{"user_id":"100"}}""")
                advanceTimeBy(3_000)
                runCurrent()
                // Played out, then gone: no playout state, no mapping, no anchor.
                connection.receiver.speakerCount() shouldBe 0
                connection.receiver.ssrcs.userOf(5000) shouldBe -1
                connection.receiver.timeline.rtpAnchor(5000) shouldBe null
                connection.disconnect()
                val played = ticks.await().flatMap { t -> t.speaking.filter { it.ssrc == 5000L && it.opus != null } }
                played.size shouldBe packets.size
                played.map { it.opus!!.toList() } shouldBe packets.map { it.toList() }
                connection.receiver.stats().droppedAtLeave shouldBe 0
            }
        }
    }

    test("a leaver that keeps sending is bounded: after the grace its buffered packets are dropped and counted") {
        runTest {
            val h = ConnectionHarness(this)
            with(h) {
                val (socket, connection) = connected()
                socket.serverSends("""{"op":11,"d":{"user_ids":["100"]}}""")
                socket.serverSends("""{"op":5,"d":{"user_id":"100","ssrc":5000,"speaking":1}}""")
                runCurrent()
                val speaker = FakeSpeaker(5000, ByteArray(32) { 1 })
                var i = 0
                repeat(10) {
                    links[0].inbound.offer(speaker.datagram(Speech.packets[i++]))
                    advanceTimeBy(20)
                }
                socket.serverSends("""{"op":13,"d":{"user_id":"100"}}""")
                // Still sending after its leave, in bursts of two every 40 ms, so something is always buffered.
                repeat(75) {
                    links[0].inbound.offer(speaker.datagram(Speech.packets[i++]))
                    links[0].inbound.offer(speaker.datagram(Speech.packets[i++]))
                    advanceTimeBy(40)
                }
                runCurrent()
                val s = connection.receiver.stats()
                (s.droppedAtLeave > 0) shouldBe true
                connection.receiver.ssrcs.userOf(5000) shouldBe -1
                connection.disconnect()
            }
        }
    }

    test("stateChanges gives every state in order, where a StateFlow collector that was not scheduled sees only the latest") {
        runTest {
            val h = ConnectionHarness(this)
            with(h) {
                val (first, connection) = connected(seqStart = 0)
                // A listener that takes its time: it hands each state over only when the test takes it, so it is
                // still holding the first when the resume below is over.
                val changes = Channel<VoiceConnectionState>()
                backgroundScope.launch { connection.stateChanges.collect { changes.send(it) } }
                runCurrent()
                first.serverCloses(1006)
                val second = sockets.receive()
                second.serverSends("""{"op":8,"d":{"heartbeat_interval":13750}}""")
                second.expect(VoiceOp.RESUME)
                second.serverSends("""{"op":9,"d":null}""")
                runCurrent()
                connection.state.value.shouldBeInstanceOf<VoiceConnectionState.Connected>()
                changes.receive().shouldBeInstanceOf<VoiceConnectionState.Connected>()
                changes.receive().shouldBeInstanceOf<VoiceConnectionState.Reconnecting>().closeCode shouldBe 1006
                changes.receive().shouldBeInstanceOf<VoiceConnectionState.Connected>()
                connection.disconnect()
                changes.receive().shouldBeInstanceOf<VoiceConnectionState.Closed>().cause shouldBe null
                // A late subscriber gets the end at once.
                connection.stateChanges.first().shouldBeInstanceOf<VoiceConnectionState.Closed>()
            }
        }
    }

    test("a dropped socket (1006) resumes with seq_ack on a new socket; UDP, SSRC and key stay") {
        runTest {
            val h = ConnectionHarness(this)
            with(h) {
                val (first, connection) = connected(seqStart = 0)
                first.serverSends("""{"op":5,"seq":7,"d":{"user_id":"100","ssrc":5000,"speaking":1}}""")
                runCurrent()
                first.serverCloses(1006)
                val second = sockets.receive()
                second.serverSends("""{"op":8,"d":{"heartbeat_interval":13750}}""")
                val resume = second.expect(VoiceOp.RESUME)
                resume["seq_ack"]!!.jsonPrimitive.int shouldBe 7
                resume["session_id"]!!.jsonPrimitive.content shouldBe "session-1"
                resume["token"]!!.jsonPrimitive.content shouldBe "token-1"
                connection.state.value.shouldBeInstanceOf<VoiceConnectionState.Reconnecting>().resuming shouldBe true
                second.serverSends("""{"op":9,"d":null}""")
                runCurrent()
                connection.state.value.shouldBeInstanceOf<VoiceConnectionState.Connected>()
                links.size shouldBe 1
                links.single().closed shouldBe false
                connection.receiver.ssrcs.userOf(5000) shouldBe 100
                connection.disconnect()
            }
        }
    }

    withData(4006, 4009) { code ->
        runTest {
            val h = ConnectionHarness(this)
            with(h) {
                val (first, connection) = connected(ssrc = 1)
                first.serverCloses(code, "session gone")
                val second = sockets.receive()
                second.helloIdentify() // a full Identify, not a Resume
                second.readyToSession(ssrc = 2, key = 9)
                runCurrent()
                connection.ssrc shouldBe 2
                links.size shouldBe 2
                links[0].closed shouldBe true
                links[1].closed shouldBe false
                connection.isAlive shouldBe true
                connection.disconnect()
            }
        }
    }

    withData(
        nameFn = { "close $it stops without reconnecting" },
        4014, 4021, 4022, 4004,
    ) { code ->
        runTest {
            val h = ConnectionHarness(this)
            with(h) {
                val (socket, connection) = connected()
                socket.serverCloses(code, "bye")
                val cause = connection.closed.await()
                cause.shouldBeInstanceOf<VoiceGatewayClosedException>().code shouldBe code
                cause.message shouldContain "$code"
                advanceTimeBy(60_000)
                urls.size shouldBe 1
                connection.isAlive shouldBe false
                links.single().closed shouldBe true
            }
        }
    }

    test("a 4014 followed within the grace by the move's voice state and server updates carries on in the new channel") {
        runTest {
            val h = ConnectionHarness(this)
            with(h) {
                val (socket, connection) = connected()
                // Discord closed the old voice session before the main gateway told us where the bot went.
                socket.serverCloses(4014, "disconnected")
                runCurrent()
                connection.state.value shouldBe VoiceConnectionState.WaitingForServer
                advanceTimeBy(2_000)
                connection.isAlive shouldBe true
                connection.updateVoiceState(21, "session-2")
                connection.updateServer("token-2", "voice.test:443")
                val second = sockets.receive()
                second.helloIdentify()["session_id"]!!.jsonPrimitive.content shouldBe "session-2"
                second.readyToSession(ssrc = 2)
                runCurrent()
                connection.state.value.shouldBeInstanceOf<VoiceConnectionState.Connected>()
                connection.session.channelId shouldBe 21L
                connection.ssrc shouldBe 2
                connection.isAlive shouldBe true
                connection.disconnect()
            }
        }
    }

    test("a 4014 with no voice state update ends the connection when the grace (3 s by default) runs out, not before") {
        runTest {
            val h = ConnectionHarness(this)
            with(h) {
                val (socket, connection) = connected()
                socket.serverCloses(4014, "disconnected")
                advanceTimeBy(2_900)
                connection.isAlive shouldBe true
                advanceTimeBy(200)
                connection.closed.isCompleted shouldBe true
                connection.closed.await().shouldBeInstanceOf<VoiceGatewayClosedException>().code shouldBe 4014
                urls.size shouldBe 1
            }
        }
    }

    test("4017 fails connect with the DAVE error, once, never retried") {
        runTest {
            val h = ConnectionHarness(this)
            with(h) {
                val pending = connectAsync()
                val socket = sockets.receive()
                socket.helloIdentify()
                socket.serverCloses(4017, "E2EE/DAVE protocol required")
                val e = shouldThrow<DaveRequiredException> { pending.await() }
                e.message shouldContain "requires DAVE"
                e.message shouldContain "not retried"
                advanceTimeBy(600_000)
                urls.size shouldBe 1
            }
        }
    }

    test("refused connections back off with growing, bounded delays and give up with the last cause") {
        runTest {
            val h = ConnectionHarness(this) {
                reconnectDelay = 1.seconds
                reconnectDelayMax = 8.seconds
                maxReconnectAttempts = 6
            }
            with(h) {
                refuse = 100
                val start = testScheduler.currentTime
                val pending = connectAsync()
                val e = shouldThrow<VoiceReconnectFailedException> { pending.await() }
                e.attempts shouldBe 6
                e.message shouldContain "connection refused"
                urls.size shouldBe 7 // the first try and 6 retries
                // Retry 1 is immediate, then 1, 2, 4, 8, 8 s, each jittered down to half at most.
                val elapsed = testScheduler.currentTime - start
                (elapsed in 11_500L..23_000L) shouldBe true
            }
        }
    }

    test("a voice server that never finishes the handshake times out and is retried with a fresh Identify") {
        runTest {
            val h = ConnectionHarness(this) { handshakeTimeout = 5.seconds }
            with(h) {
                val pending = connectAsync()
                val first = sockets.receive()
                first.helloIdentify()
                advanceTimeBy(5_001)
                first.isClosed shouldBe true
                val second = sockets.receive()
                second.helloIdentify()
                second.readyToSession()
                pending.await().disconnect()
            }
        }
    }

    test("IP discovery without an answer is retried on a new socket") {
        runTest {
            val h = ConnectionHarness(this)
            with(h) {
                failDiscovery = 1
                val pending = connectAsync()
                val first = sockets.receive()
                first.helloIdentify()
                first.serverSends("""{"op":2,"d":{"ssrc":1,"ip":"127.0.0.1","port":1,"modes":["aead_aes256_gcm_rtpsize"]}}""")
                val second = sockets.receive()
                first.isClosed shouldBe true
                second.helloIdentify()
                second.readyToSession()
                pending.await().disconnect()
            }
        }
    }

    test("a server move identifies afresh at the new endpoint; a null endpoint waits for the next update") {
        runTest {
            val h = ConnectionHarness(this)
            with(h) {
                val (first, connection) = connected(ssrc = 1)
                connection.updateServer("token-2", null)
                runCurrent()
                first.isClosed shouldBe true
                connection.state.value shouldBe VoiceConnectionState.WaitingForServer
                advanceTimeBy(30_000)
                urls.size shouldBe 1
                connection.updateServer("token-3", "moved.test:2048")
                val second = sockets.receive()
                urls.last() shouldBe "wss://moved.test:2048/?v=8"
                second.helloIdentify()["token"]!!.jsonPrimitive.content shouldBe "token-3"
                second.readyToSession(ssrc = 2)
                runCurrent()
                connection.state.value.shouldBeInstanceOf<VoiceConnectionState.Connected>().endpoint shouldBe "moved.test:2048"
                connection.session.token shouldBe "token-3"
                connection.disconnect()
            }
        }
    }

    test("a new Session Description on a live socket (key rotation) installs the new key without reconnecting") {
        runTest {
            val h = ConnectionHarness(this)
            with(h) {
                val (socket, connection) = connected()
                socket.serverSends("""{"op":4,"d":{"mode":"aead_aes256_gcm_rtpsize","secret_key":${List(32) { 7 }}}}""")
                socket.expect(VoiceOp.SPEAKING)
                urls.size shouldBe 1
                links.size shouldBe 1
                connection.isAlive shouldBe true
                connection.disconnect()
            }
        }
    }

    test("DAVE opcodes on a connection without DAVE are harmless, and a binary frame's seq is acknowledged on resume") {
        runTest {
            val h = ConnectionHarness(this)
            with(h) {
                val (first, connection) = connected()
                first.serverSends("""{"op":21,"seq":3,"d":{"protocol_version":1,"transition_id":1}}""")
                first.serverSendsBinary(byteArrayOf(0x01, 0x05, 25, 1, 2, 3)) // seq 261, op 25 external sender
                runCurrent()
                connection.isAlive shouldBe true
                first.serverCloses(1001)
                val second = sockets.receive()
                second.serverSends("""{"op":8,"d":{"heartbeat_interval":13750}}""")
                second.expect(VoiceOp.RESUME)["seq_ack"]!!.jsonPrimitive.int shouldBe 261
                second.serverSends("""{"op":9,"d":null}""")
                runCurrent()
                connection.state.value.shouldBeInstanceOf<VoiceConnectionState.Connected>()
                connection.disconnect()
            }
        }
    }

    test("DAVE: a key package after Session Description; garbage DAVE messages never hurt the connection; a downgrade") {
        runTest {
            val h = ConnectionHarness(this)
            with(h) {
                val pending = connectAsync()
                val socket = sockets.receive()
                socket.helloIdentify()
                socket.readyToSession(daveVersion = 1)
                val connection = pending.await()
                runCurrent()
                // Op 26 as a binary frame: opcode byte, then a bare KeyPackage (mls10 = 0x0001, suite 2 = 0x0002).
                val keyPackage = socket.sentBinary.receive()
                keyPackage[0].toInt() shouldBe 26
                keyPackage.copyOfRange(1, 5).toList() shouldBe listOf<Byte>(0, 1, 0, 2)
                connection.dave!!.protocolVersion shouldBe 1

                val rnd = kotlin.random.Random(5)
                var seq = 10
                for (op in listOf(25, 27, 29, 30, 31, 99)) repeat(20) {
                    socket.serverSendsBinary(byteArrayOf((seq shr 8).toByte(), seq.toByte(), op.toByte()) + rnd.nextBytes(rnd.nextInt(0, 200)))
                    seq++
                }
                socket.serverSends("""{"op":21,"seq":${seq++},"d":{"transition_id":"x"}}""")
                socket.serverSends("""{"op":24,"seq":${seq++},"d":{}}""")
                socket.serverSends("""{"op":22,"seq":${seq++},"d":null}""")
                runCurrent()
                connection.isAlive shouldBe true
                connection.state.value.shouldBeInstanceOf<VoiceConnectionState.Connected>()
                // Every garbage op 25 and 30 is refused and counted; without a group (no valid op 25 yet) ops 27 and 29
                // are ignored, as libdave does, and op 99 is unknown.
                (connection.dave!!.stats().invalidMessages >= 40L) shouldBe true
                // A downgrade: ready at op 21, passthrough after op 22. Before it, at most one op 31 (recovery does not loop).
                socket.serverSends("""{"op":21,"seq":${seq++},"d":{"transition_id":3,"protocol_version":0}}""")
                val json = ArrayList<kotlinx.serialization.json.JsonObject>()
                while (json.lastOrNull()?.get("op")?.jsonPrimitive?.int != VoiceOp.DAVE_TRANSITION_READY) json += socket.sent.receive()
                json.count { it["op"]!!.jsonPrimitive.int == VoiceOp.DAVE_MLS_INVALID_COMMIT_WELCOME } shouldBe 1
                json.last()["op"]!!.jsonPrimitive.int shouldBe VoiceOp.DAVE_TRANSITION_READY
                json.last()["d"]!!.jsonObject["transition_id"]!!.jsonPrimitive.int shouldBe 3
                socket.serverSends("""{"op":22,"seq":${seq++},"d":{"transition_id":3}}""")
                runCurrent()
                connection.dave!!.protocolVersion shouldBe 0
                connection.disconnect()
            }
        }
    }

    test("a channel move leaves at once, waits for the server update, identifies with the new session id and starts DAVE over in the new channel's group; flows carry on") {
        runTest {
            val groups = java.util.concurrent.CopyOnWriteArrayList<Long>()
            val h = ConnectionHarness(this) {
                daveSessionFactory = dev.earshot.voice.dave.DaveSessionFactory { self, channel, callbacks ->
                    groups += channel
                    dev.earshot.voice.dave.JvmDaveSession.FACTORY.create(self, channel, callbacks)
                }
            }
            with(h) {
                val pending = connectAsync()
                val first = sockets.receive()
                first.helloIdentify()
                first.readyToSession(ssrc = 1, daveVersion = 1)
                val connection = pending.await()
                runCurrent()
                first.sentBinary.receive()[0].toInt() shouldBe 26
                val daveBefore = connection.dave
                val speaking = async(start = CoroutineStart.UNDISPATCHED) {
                    connection.events.first { it is VoiceEvent.SpeakingStateChanged }
                }
                connection.updateVoiceState(20, "session-1") // unchanged: nothing happens
                runCurrent()
                first.isClosed shouldBe false
                connection.updateVoiceState(21, "session-2")
                runCurrent()
                first.isClosed shouldBe true
                connection.state.value shouldBe VoiceConnectionState.WaitingForServer
                groups shouldContainExactly listOf(20L, 21L)
                (connection.dave !== daveBefore) shouldBe true
                advanceTimeBy(30_000)
                urls.size shouldBe 1 // no identify before Discord's VOICE_SERVER_UPDATE
                connection.updateServer("token-2", "voice.test:443")
                val second = sockets.receive()
                val identify = second.helloIdentify()
                identify["session_id"]!!.jsonPrimitive.content shouldBe "session-2"
                identify["token"]!!.jsonPrimitive.content shouldBe "token-2"
                second.readyToSession(ssrc = 2, daveVersion = 1)
                runCurrent()
                second.sentBinary.receive()[0].toInt() shouldBe 26 // the new group's key package
                connection.state.value.shouldBeInstanceOf<VoiceConnectionState.Connected>()
                connection.session.channelId shouldBe 21L
                connection.session.sessionId shouldBe "session-2"
                second.serverSends("""{"op":5,"seq":3,"d":{"user_id":"77","ssrc":5005,"speaking":1}}""")
                runCurrent()
                speaking.await().shouldBeInstanceOf<VoiceEvent.SpeakingStateChanged>().userId shouldBe 77L
                connection.isAlive shouldBe true
                connection.disconnect()
            }
        }
    }

    test("a voice state without a channel (kicked) ends the connection with VoiceChannelLeftException; flows complete") {
        runTest {
            val h = ConnectionHarness(this)
            with(h) {
                val (socket, connection) = connected()
                val events = async(start = CoroutineStart.UNDISPATCHED) { connection.events.toList() }
                connection.updateVoiceState(null, "session-1")
                val cause = connection.awaitClosed().shouldBeInstanceOf<VoiceChannelLeftException>()
                cause.channelId shouldBe 20L
                cause.message!! shouldContain "removed from voice channel 20"
                connection.state.value.shouldBeInstanceOf<VoiceConnectionState.Closed>().cause shouldBe cause
                socket.clientClose!!.code shouldBe 1000
                events.await() // completes: the receiver stopped
                connection.isAlive shouldBe false
                connection.updateVoiceState(21, "session-1") // after the end: ignored
                urls.size shouldBe 1
            }
        }
    }

    test("disconnect lets a slow sink work through its queue before it cleans up: nothing queued is lost") {
        runTest {
            val h = ConnectionHarness(this)
            with(h) {
                val (socket, connection) = connected()
                val seen = ArrayList<String>()
                var cleanedUpAfter = -1
                var afterCause: Throwable? = IllegalStateException("after not called")
                connection.listen(object : dev.earshot.voice.sink.AudioSink {
                    override val overflow = dev.earshot.voice.sink.SinkOverflow.Buffer(100)
                    override suspend fun write(user: dev.earshot.voice.sink.VoiceUser?, data: dev.earshot.voice.model.AudioFrame) {}
                    override suspend fun onTick(tick: dev.earshot.voice.model.VoiceTick) {}
                    override suspend fun onEvent(event: VoiceEvent) {
                        if (event is VoiceEvent.MemberConnected) {
                            kotlinx.coroutines.delay(500) // a slow disk: 20 events take 10 s of virtual time
                            seen += event.toString()
                        }
                    }
                    override suspend fun cleanup() { cleanedUpAfter = seen.size }
                }) { afterCause = it }
                repeat(20) { socket.serverSends("""{"op":11,"d":{"user_ids":["${100 + it}"]}}""") }
                runCurrent()
                connection.disconnect()
                seen.size shouldBe 20
                cleanedUpAfter shouldBe 20
                afterCause shouldBe null
            }
        }
    }
})
