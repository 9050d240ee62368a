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
import io.kotest.matchers.longs.shouldBeLessThanOrEqual
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
 * loss with reorder and jitter, a member joining mid-recording, and every reconnect path the connection issue names.
 * DAVE is on end to end (the testkit's default, and Earshot offers version 1): the scripted members are DAVE clients,
 * the SFU relays their DAVE frames, and Earshot decrypts them; one lossless test and the 4017 test run transport-only.
 * Speech is the stored libopus file (6.6 s); frames are matched to what each member sent by RTP sequence number.
 */
class ConnectionE2eSpec : FunSpec({
    val speech = readOggResource("/audio/speech.opus")
    val speechNoFec = readOggResource("/audio/speech-nofec.opus")
    // Members start speaking once their DAVE key is in force (awaitDave), as a user would once connected: only the
    // join test below measures what a member sending from the first moment loses.

    for (dave in listOf(true, false)) test(
        "three members speak; each user's recording is their audio, frame for frame, over TLS (${if (dave) "DAVE" else "transport-only"})",
    ) {
        E2eHarness(TestServerConfig(tls = true, seed = 1, daveProtocolVersion = if (dave) 1 else 0)).use { h ->
            runBlocking {
                val connection = h.connect(this) { receive = ReceiveConfig { playoutDelay = 100.milliseconds; tickQueueCapacity = E2eHarness.RECORDING_QUEUE_TICKS } }
                connection.encryptionMode!!.wireName shouldBe "aead_aes256_gcm_rtpsize"
                connection.dave!!.protocolVersion shouldBe (if (dave) 1 else 0)
                val dir = Files.createTempDirectory("earshot-e2e")
                connection.listen(RecordingSinks.perUserWav(dir))
                val recA = recordFrames(connection, 1)
                val recB = recordFrames(connection, 2)
                val recC = recordFrames(connection, 3)
                val ends = (1L..3L).map { playedOut(connection, it) }
                val a = h.channel.addMember("1", MemberScript { awaitDave(); play(speech, duration = 3.seconds) })
                val b = h.channel.addMember("2", MemberScript { awaitDave(); pause(500.milliseconds); play(speechNoFec, from = 3.seconds, duration = 2.seconds) })
                val c = h.channel.addMember("3", MemberScript { awaitDave(); tone(440.0, 1.seconds) })
                listOf(a, b, c).forEach { it.awaitFinished() }
                ends.forEach { it.await() }
                val stats = connection.receiver.stats()
                val daveStats = connection.dave!!.stats()
                if (dave) {
                    val code = connection.awaitSameDaveGroup(listOf(a, b, c))
                    h.channel.daveProtocolVersion shouldBe 1
                    h.channel.daveMembers.toSet() shouldBe setOf("999", "1", "2", "3")
                    println("e2e lossless DAVE: privacy code $code, epoch ${connection.dave!!.epoch}; Earshot $daveStats")
                    // Every audio frame went out as a DAVE frame (the members' keys were in force before they spoke),
                    // and Earshot decrypted them all: none failed.
                    listOf(a, b, c).forEach { daveShare(it) shouldBe 1.0 }
                    daveStats.decrypted shouldBeGreaterThanOrEqual 300L
                    daveStats.decryptFailures shouldBe 0L
                } else {
                    h.channel.daveProtocolVersion shouldBe 0
                    listOf(a, b, c).forEach { it.daveSession shouldBe null; daveShare(it) shouldBe 0.0 }
                    daveStats.decrypted shouldBe 0L
                }
                connection.disconnect()
                val results = listOf(a to recA, b to recB, c to recC).map { (member, rec) -> member to compare(member.sent, rec.await()) }
                results.forEach { (member, cmp) -> println("e2e lossless ${if (dave) "DAVE" else "transport-only"} user ${member.userId}: $cmp; stalled slots ${stalledSlots(stats, member.sent)}") }
                println("e2e lossless receiver: late=${stats.late} lost=${stats.lost} authFailures=${stats.authFailures} lateTicks=${stats.lateTicks} droppedTicks=${stats.droppedTicks}")
                stats.authFailures shouldBe 0L
                stats.malformed shouldBe 0L
                for ((member, cmp) in results) {
                    // Nothing is lost on loopback; only a stall of this shared machine longer than the play-out delay
                    // can make a slot play before its packet is in, and then the slot is concealed, never dropped.
                    (cmp.receivedIntact + cmp.concealed) shouldBeGreaterThanOrEqual cmp.sentAudio
                    cmp.shouldBeIntactBarStalls(stalledSlots(stats, member.sent))
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
                val a = h.channel.addMember("1", MemberScript { awaitDave(); play(speech) })
                a.awaitFinished()
                playedOut(connection, 1).await()
                connection.awaitSameDaveGroup(listOf(a))
                val daveStats = connection.dave!!.stats()
                val stalled = stalledSlots(connection.receiver.stats(), a.sent)
                connection.disconnect()
                val cmp = compare(a.sent, rec.await())
                println("e2e 10 % loss + reorder + 0-30 ms jitter: $cmp; stalled slots $stalled; Earshot $daveStats")
                connection.dave!!.protocolVersion shouldBe 1
                daveShare(a) shouldBe 1.0
                // Lost and reordered DAVE frames cost nothing more than the loss itself: every one that arrived decrypted.
                daveStats.decryptFailures shouldBe 0L
                daveStats.decrypted shouldBeGreaterThanOrEqual cmp.receivedIntact.toLong()
                // 10 % lost, and a few reordered past the play-out delay: at most a fifth not intact, bar stalls.
                (cmp.sentAudio - cmp.receivedIntact).toLong() shouldBeLessThanOrEqual cmp.sentAudio / 5 + stalled
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
                val a = h.channel.addMember("1", MemberScript { awaitDave(); play(speech, duration = 4.seconds) })
                a.awaitSent(75) // 1.5 s in
                val codeBefore = connection.awaitSameDaveGroup(listOf(a))
                val reinitsBefore = connection.dave!!.stats().reinits
                h.botSession().dropConnection()
                connection.state.first { it is VoiceConnectionState.Reconnecting }.shouldBeInstanceOf<VoiceConnectionState.Reconnecting>().resuming shouldBe true
                connection.state.first { it is VoiceConnectionState.Connected }
                a.awaitFinished()
                playedOut(connection, 1).await()
                connection.isAlive shouldBe true
                // A resume keeps the DAVE session: same group, same epoch, no new key package.
                connection.awaitSameDaveGroup(listOf(a)) shouldBe codeBefore
                connection.dave!!.stats().reinits shouldBe reinitsBefore
                val daveStats = connection.dave!!.stats()
                val stalled = stalledSlots(connection.receiver.stats(), a.sent)
                connection.disconnect()
                val cmp = compare(a.sent, rec.await())
                println("e2e WS drop + resume: $cmp; stalled slots $stalled; Earshot $daveStats")
                daveShare(a) shouldBe 1.0
                daveStats.decryptFailures shouldBe 0L
                // UDP never stopped, so nothing is lost across the resume (a machine stall can only conceal a slot).
                cmp.shouldBeIntactBarStalls(stalled)
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
                val a = h.channel.addMember("1", MemberScript { awaitDave(); play(speech, duration = 4.seconds) })
                a.awaitSent(75)
                val codeBefore = connection.awaitSameDaveGroup(listOf(a))
                val reinitsBefore = connection.dave!!.stats().reinits
                val transitionsBefore = h.channel.daveTransitions
                val outageFrom = System.nanoTime()
                h.botSession().closeConnection(4006, "session no longer valid")
                connection.state.first { it is VoiceConnectionState.Reconnecting }
                connection.state.first { it is VoiceConnectionState.Connected }
                (connection.ssrc != firstSsrc) shouldBe true
                // The server treats the reconnected bot as a new client: a new key package and a new epoch with the member.
                val codeAfter = connection.awaitSameDaveGroup(listOf(a))
                val outageTo = System.nanoTime()
                (codeAfter != codeBefore) shouldBe true
                connection.dave!!.stats().reinits shouldBeGreaterThanOrEqual reinitsBefore + 1
                h.channel.daveMembers.toSet() shouldBe setOf("999", "1")
                a.awaitFinished()
                playedOut(connection, 1).await()
                // Equal codes come with op 29/30; op 22 executes the transition once both sent op 23 (seconds ago now).
                h.channel.daveTransitions shouldBeGreaterThanOrEqual transitionsBefore + 1
                val daveStats = connection.dave!!.stats()
                val stalled = stalledSlots(connection.receiver.stats(), a.sent)
                connection.disconnect()
                val frames = rec.await()
                val cmp = compare(a.sent, frames)
                val outside = outsideOutage(a.sent, frames, outageFrom, outageTo)
                println("e2e 4006 full reconnect: $cmp; outage ${(outageTo - outageFrom) / 1_000_000} ms; $outside; stalled slots $stalled; Earshot $daveStats")
                daveShare(a) shouldBe 1.0
                // Audio during the reconnect (new Identify, IP discovery, new key, new DAVE group) is lost; what was sent
                // before and after arrives intact (75 frames, some of them silence, went out before the close alone).
                outside.sent shouldBeGreaterThanOrEqual 55
                outside.missing.toLong() shouldBeLessThanOrEqual outside.sent / 20 + stalled
                cmp.mismatched shouldBe 0
                // The aligned track has no hole: the reconnect gap is silence, so it spans the member's whole 4 s.
                (Files.size(dir.resolve("user-1.wav")) - 44) shouldBeGreaterThanOrEqual (4 * 192_000 * 95 / 100).toLong()
            }
        }
    }

    test("a second member joins while the first speaks: both recorded, nothing lost beyond 100 ms after the join") {
        E2eHarness().use { h ->
            runBlocking {
                val connection = h.connect(this)
                val recA = recordFrames(connection, 1)
                val recB = recordFrames(connection, 2)
                val a = h.channel.addMember("1", MemberScript { awaitDave(); play(speech) })
                a.awaitSent(100) // 2 s in
                val codeBefore = connection.awaitSameDaveGroup(listOf(a))
                val joinNanos = System.nanoTime()
                // No start delay: the joiner speaks at once, before its DAVE key can be in force.
                val b = h.channel.addMember("2", MemberScript { play(speechNoFec, duration = 3.seconds) }, startDelay = 0.milliseconds)
                val codeAfter = connection.awaitSameDaveGroup(listOf(a, b))
                val joinedAfterMs = (System.nanoTime() - joinNanos) / 1_000_000
                (codeAfter != codeBefore) shouldBe true
                val endA = playedOut(connection, 1)
                b.awaitSent(40) // 800 ms in: speaking at Earshot with its key, until its end
                val endB = playedOut(connection, 2)
                a.awaitFinished()
                b.awaitFinished()
                endA.await()
                endB.await()
                val daveStats = connection.dave!!.stats()
                val receiverStats = connection.receiver.stats()
                connection.disconnect()
                val framesA = recA.await()
                val framesB = recB.await()
                val cmpA = compare(a.sent, framesA)
                val cmpB = compare(b.sent, framesB)
                val audioB = b.sent.filter { !it.isSilence }
                val intactB = intactSequences(framesB)
                // The joiner's first 100 ms after its group formed (on a loaded machine forming it can take longer).
                val (early, late) = audioB.partition { it.sentAtNanos - joinNanos <= (joinedAfterMs + 100) * 1_000_000L }
                val plainB = audioB.count { !it.daveEncrypted }
                println(
                    "e2e member joins mid-recording: group in $joinedAfterMs ms; first member $cmpA; joiner $cmpB; " +
                        "joiner frames sent unencrypted before its key: $plainB of ${audioB.size}; lost in the first 100 ms: " +
                        "${early.count { it.sequence !in intactB }} of ${early.size}, after: ${late.count { it.sequence !in intactB }} of ${late.size}; " +
                        "Earshot $daveStats",
                )
                // The first member's key changes at the transition, and Earshot has the new key before it is used.
                cmpA.shouldBeIntactBarStalls(stalledSlots(receiverStats, a.sent))
                (cmpA.receivedIntact + cmpA.concealed) shouldBeGreaterThanOrEqual cmpA.sentAudio
                cmpA.mismatched shouldBe 0
                daveShare(a) shouldBe 1.0
                // The joiner sends in the clear only until its first transition executes (as discord.js does), and only
                // within 100 ms of the join; every later frame is a DAVE frame Earshot decrypts.
                late.all { it.daveEncrypted } shouldBe true
                late.count { it.sequence !in intactB }.toLong() shouldBeLessThanOrEqual 5 + stalledSlots(receiverStats, b.sent) // a stall only, as above
                cmpB.mismatched shouldBe 0
            }
        }
    }

    test("4014 stops cleanly: a typed cause, files finished, no reconnect") {
        E2eHarness().use { h ->
            runBlocking {
                val connection = h.connect(this)
                val dir = Files.createTempDirectory("earshot-e2e")
                connection.listen(RecordingSinks.perUserOgg(dir))
                val a = h.channel.addMember("1", MemberScript { awaitDave(); play(speech, duration = 2.seconds) })
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
                val a = h.channel.addMember("1", MemberScript { awaitDave(); play(speech) })
                a.awaitSent(75)
                h.botSession().rotateKey()
                a.awaitSent(150)
                val outageFrom = System.nanoTime()
                val grant = h.server.moveEndpoint().single { it.userId == E2eHarness.BOT.toString() }
                connection.updateServer(grant.token, grant.endpoint)
                connection.state.first { it is VoiceConnectionState.Connected && it.endpoint == grant.endpoint }
                connection.awaitSameDaveGroup(listOf(a))
                val outageTo = System.nanoTime()
                a.awaitFinished()
                playedOut(connection, 1).await()
                connection.isAlive shouldBe true
                connection.awaitSameDaveGroup(listOf(a))
                connection.dave!!.protocolVersion shouldBe 1
                val daveStats = connection.dave!!.stats()
                val stalled = stalledSlots(connection.receiver.stats(), a.sent)
                connection.disconnect()
                val frames = rec.await()
                val cmp = compare(a.sent, frames)
                val outside = outsideOutage(a.sent, frames, outageFrom, outageTo)
                println("e2e key rotation + endpoint move: $cmp; move ${(outageTo - outageFrom) / 1_000_000} ms; $outside; stalled slots $stalled; Earshot $daveStats")
                daveShare(a) shouldBe 1.0
                // The rotation costs nothing (the old key stays valid for a grace period); only audio sent while the
                // connection moved to the new endpoint may be lost (150 frames, some of them silence, went out before the move alone).
                outside.sent shouldBeGreaterThanOrEqual 120
                outside.missing.toLong() shouldBeLessThanOrEqual outside.sent / 20 + stalled
                cmp.mismatched shouldBe 0
            }
        }
    }
})
