package dev.earshot.voice.e2e

import dev.earshot.voice.ReceiveConfig
import dev.earshot.voice.connection.DaveRequiredException
import dev.earshot.voice.connection.VoiceConnectionState
import dev.earshot.voice.connection.VoiceGatewayClosedException
import dev.earshot.voice.files.OggOpusReader
import dev.earshot.voice.sink.RecordingSinks
import dev.earshot.voice.testing.readOggResource
import dev.earshot.voice.testkit.FaultConfig
import dev.earshot.voice.testkit.MemberScript
import dev.earshot.voice.testkit.TestServerConfig
import io.kotest.assertions.throwables.shouldThrow
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.doubles.shouldBeGreaterThan
import io.kotest.matchers.ints.shouldBeGreaterThanOrEqual
import io.kotest.matchers.ints.shouldBeLessThanOrEqual
import io.kotest.matchers.longs.shouldBeGreaterThanOrEqual
import io.kotest.matchers.shouldBe
import io.kotest.matchers.string.shouldContain
import io.kotest.matchers.types.shouldBeInstanceOf
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.runBlocking
import java.nio.file.Files
import kotlin.time.Duration.Companion.milliseconds
import kotlin.time.Duration.Companion.seconds

/**
 * Earshot's voice connection against the testkit over loopback, in real time: the handshake, three speakers recorded,
 * loss with reorder and jitter, and every reconnect path the connection issue names. Speech is the stored libopus
 * file (6.6 s); frames are matched to what each member sent by RTP sequence number.
 */
class ConnectionE2eSpec : FunSpec({
    val speech = readOggResource("/audio/speech.opus")
    val speechNoFec = readOggResource("/audio/speech-nofec.opus")

    test("three members speak; each user's recording is their audio, frame for frame, over TLS") {
        E2eHarness(TestServerConfig(tls = true, seed = 1)).use { h ->
            runBlocking {
                val connection = h.connect(this) { receive = ReceiveConfig { playoutDelay = 100.milliseconds; tickQueueCapacity = E2eHarness.RECORDING_QUEUE_TICKS } }
                connection.encryptionMode!!.wireName shouldBe "aead_aes256_gcm_rtpsize"
                val dir = Files.createTempDirectory("earshot-e2e")
                connection.listen(RecordingSinks.perUserWav(dir))
                val recA = recordFrames(connection, 1)
                val recB = recordFrames(connection, 2)
                val recC = recordFrames(connection, 3)
                val ends = (1L..3L).map { playedOut(connection, it) }
                val a = h.channel.addMember("1", MemberScript { play(speech, duration = 3.seconds) })
                val b = h.channel.addMember("2", MemberScript { pause(500.milliseconds); play(speechNoFec, from = 3.seconds, duration = 2.seconds) })
                val c = h.channel.addMember("3", MemberScript { tone(440.0, 1.seconds) })
                listOf(a, b, c).forEach { it.awaitFinished() }
                ends.forEach { it.await() }
                val stats = connection.receiver.stats()
                connection.disconnect()
                val results = listOf(a to recA, b to recB, c to recC).map { (member, rec) -> member.userId to compare(member.sent, rec.await()) }
                results.forEach { (user, cmp) -> println("e2e lossless user $user: $cmp") }
                println("e2e lossless receiver: late=${stats.late} lost=${stats.lost} authFailures=${stats.authFailures} lateTicks=${stats.lateTicks} droppedTicks=${stats.droppedTicks}")
                stats.authFailures shouldBe 0L
                stats.malformed shouldBe 0L
                for ((_, cmp) in results) {
                    // Nothing is lost on loopback; only a stall of this shared machine longer than the play-out delay
                    // can make a slot play before its packet is in, and then the slot is concealed, never dropped.
                    (cmp.receivedIntact + cmp.concealed) shouldBeGreaterThanOrEqual cmp.sentAudio
                    (cmp.sentAudio - cmp.receivedIntact) shouldBeLessThanOrEqual 5 // at most 100 ms, and only after a stall
                    // Every sample is exactly what a decoder makes of the packets sent, given the receiver's decisions
                    // (without a stall: a clean decode of everything sent).
                    cmp.mismatched shouldBe 0
                    if (cmp.concealed == 0) cmp.snrDecodedDb shouldBe Double.POSITIVE_INFINITY
                }
                // The per-user WAV tracks all start at the recording's first tick and run to its end.
                val sizes = (1..3).map { Files.size(dir.resolve("user-$it.wav")) }
                sizes.max() - sizes.min() shouldBe 0L
            }
        }
    }

    test("10 % loss with reorder and jitter: most frames intact, the rest concealed or rebuilt by FEC") {
        E2eHarness().use { h ->
            runBlocking {
                val connection = h.connect(this)
                h.botSession().faults = FaultConfig(lossPercent = 10.0, reorderPercent = 10.0, reorderDepth = 2, jitterMillis = 30, seed = 7)
                val rec = recordFrames(connection, 1)
                val a = h.channel.addMember("1", MemberScript { play(speech) })
                a.awaitFinished()
                playedOut(connection, 1).await()
                connection.disconnect()
                val cmp = compare(a.sent, rec.await())
                println("e2e 10 % loss + reorder + 0-30 ms jitter: $cmp")
                cmp.intactShare shouldBeGreaterThan 0.80
                (cmp.receivedIntact + cmp.concealed + cmp.fecRecovered) shouldBeGreaterThanOrEqual cmp.sentAudio - 2
                cmp.fecRecovered shouldBeGreaterThanOrEqual 1
                cmp.snrDecodedDb shouldBeGreaterThan 10.0
                cmp.mismatched shouldBe 0
            }
        }
    }

    test("a dropped WebSocket mid-recording resumes and the recording continues without losing audio") {
        E2eHarness().use { h ->
            runBlocking {
                val connection = h.connect(this)
                val rec = recordFrames(connection, 1)
                val a = h.channel.addMember("1", MemberScript { play(speech, duration = 4.seconds) })
                a.awaitSent(75) // 1.5 s in
                h.botSession().dropConnection()
                connection.state.first { it is VoiceConnectionState.Reconnecting }.shouldBeInstanceOf<VoiceConnectionState.Reconnecting>().resuming shouldBe true
                connection.state.first { it is VoiceConnectionState.Connected }
                a.awaitFinished()
                playedOut(connection, 1).await()
                connection.isAlive shouldBe true
                connection.disconnect()
                val cmp = compare(a.sent, rec.await())
                println("e2e WS drop + resume: $cmp")
                // UDP never stopped, so nothing is lost across the resume (a machine stall can only conceal a slot).
                (cmp.sentAudio - cmp.receivedIntact) shouldBeLessThanOrEqual 5 // at most 100 ms, and only after a stall
                (cmp.receivedIntact + cmp.concealed) shouldBeGreaterThanOrEqual cmp.sentAudio
                cmp.mismatched shouldBe 0
            }
        }
    }

    test("4006 reconnects in full (new SSRC, new key, new socket) and the recording carries on") {
        E2eHarness().use { h ->
            runBlocking {
                val connection = h.connect(this)
                val firstSsrc = connection.ssrc
                val dir = Files.createTempDirectory("earshot-e2e")
                connection.listen(RecordingSinks.perUserWav(dir))
                val rec = recordFrames(connection, 1)
                val a = h.channel.addMember("1", MemberScript { play(speech, duration = 4.seconds) })
                a.awaitSent(75)
                h.botSession().closeConnection(4006, "session no longer valid")
                connection.state.first { it is VoiceConnectionState.Reconnecting }
                connection.state.first { it is VoiceConnectionState.Connected }
                (connection.ssrc != firstSsrc) shouldBe true
                a.awaitFinished()
                playedOut(connection, 1).await()
                connection.disconnect()
                val frames = rec.await()
                val cmp = compare(a.sent, frames)
                println("e2e 4006 full reconnect: $cmp")
                // Audio during the reconnect (new Identify, IP discovery, new key) is lost; the rest arrives intact.
                cmp.intactShare shouldBeGreaterThan 0.8
                cmp.mismatched shouldBe 0
                // The aligned track has no hole: the reconnect gap is silence, so it spans the member's whole 4 s.
                (Files.size(dir.resolve("user-1.wav")) - 44) shouldBeGreaterThanOrEqual (4 * 192_000 * 95 / 100).toLong()
            }
        }
    }

    test("4014 stops cleanly: a typed cause, files finished, no reconnect") {
        E2eHarness().use { h ->
            runBlocking {
                val connection = h.connect(this)
                val dir = Files.createTempDirectory("earshot-e2e")
                connection.listen(RecordingSinks.perUserOgg(dir))
                val a = h.channel.addMember("1", MemberScript { play(speech, duration = 2.seconds) })
                a.awaitSent(50)
                h.botSession().closeConnection(4014, "disconnected")
                val cause = connection.closed.await()
                cause.shouldBeInstanceOf<VoiceGatewayClosedException>().code shouldBe 4014
                connection.isAlive shouldBe false
                a.awaitFinished()
                // The Ogg file was finished by the sink's cleanup and reads back.
                OggOpusReader.read(dir.resolve("user-1.opus")).packets.size shouldBeGreaterThanOrEqual 40
                h.server.stats.wsConnections shouldBe 1L
            }
        }
    }

    test("4017 (DAVE required) for a connection that offers no DAVE fails connect with the configuration error, never retried") {
        E2eHarness(TestServerConfig(requireDave = true, seed = 3)).use { h ->
            runBlocking {
                val e = shouldThrow<DaveRequiredException> { h.connect(this) { maxDaveProtocolVersion = 0 } }
                e.message shouldContain "requires DAVE"
                delay(1000) // a retry would come within 1 s; this checks that none does
                h.server.stats.wsConnections shouldBe 1L
            }
        }
    }

    test("key rotation and an endpoint move keep the recording going") {
        E2eHarness().use { h ->
            runBlocking {
                val connection = h.connect(this)
                val rec = recordFrames(connection, 1)
                val a = h.channel.addMember("1", MemberScript { play(speech) })
                a.awaitSent(75)
                h.botSession().rotateKey()
                a.awaitSent(150)
                val grant = h.server.moveEndpoint().single { it.userId == E2eHarness.BOT.toString() }
                connection.updateServer(grant.token, grant.endpoint)
                connection.state.first { it is VoiceConnectionState.Connected && it.endpoint == grant.endpoint }
                a.awaitFinished()
                playedOut(connection, 1).await()
                connection.isAlive shouldBe true
                connection.disconnect()
                val cmp = compare(a.sent, rec.await())
                println("e2e key rotation + endpoint move: $cmp")
                cmp.intactShare shouldBeGreaterThan 0.85
                cmp.mismatched shouldBe 0
            }
        }
    }
})
