package dev.earshot.voice.e2e

import dev.earshot.voice.crypto.EncryptionMode
import dev.earshot.voice.send.AudioSources
import dev.earshot.voice.testkit.DiscordJsMember
import dev.earshot.voice.testkit.TestAudio
import dev.earshot.voice.testkit.TestServerConfig
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.collections.shouldContainExactly
import io.kotest.matchers.doubles.shouldBeGreaterThan
import io.kotest.matchers.ints.shouldBeGreaterThanOrEqual
import io.kotest.matchers.ints.shouldBeLessThanOrEqual
import io.kotest.matchers.shouldBe
import kotlinx.coroutines.runBlocking
import kotlin.time.Duration.Companion.seconds

/**
 * Earshot and a real @discordjs/voice 0.19.2 client (interop/) in one channel of the testkit: Earshot records what
 * discord.js plays and discord.js records what Earshot plays, in each transport mode, without DAVE (a transport-only
 * server, like a stage channel); DiscordJsDaveE2eSpec covers the same with DAVE on.
 */
class DiscordJsE2eSpec : FunSpec({
    for (mode in EncryptionMode.entries) {
        test("Earshot records a discord.js member and discord.js hears Earshot, byte for byte, in ${mode.wireName}")
            .config(enabledOrReasonIf = { DiscordJsMember.enabledOrReason }, timeout = 90.seconds) {
                E2eHarness(TestServerConfig(tls = true, modes = listOf(mode), seed = 5, daveProtocolVersion = 0)).use { h ->
                    runBlocking {
                        val connection = h.connect(this)
                        connection.encryptionMode shouldBe mode
                        val djsUser = 4004L
                        val grant = h.server.grant(E2eHarness.GUILD.toString(), E2eHarness.CHANNEL.toString(), djsUser.toString())
                        val recording = recordFrames(connection, djsUser)
                        val djsDone = playedOut(connection, djsUser)
                        DiscordJsMember.start(grant, play = TestAudio.file("speech-nofec.opus"), subscribe = listOf(E2eHarness.BOT.toString())).use { djs ->
                            djs.awaitConnection("ready")
                            val djsSession = checkNotNull(h.server.session(E2eHarness.GUILD.toString(), djsUser.toString()))
                            val playback = connection.play(AudioSources.oggOpus(TestAudio.file("speech.opus")))
                            playback.await()
                            djs.awaitEvent(20.seconds) { it["event"].toString() == "\"player\"" && it["to"].toString() == "\"idle\"" }
                            djsDone.await() // discord.js's last audio played out at Earshot
                            djs.leave() shouldBe 0

                            // What Earshot recorded of discord.js: every frame discord.js sent, as the testkit captured it.
                            val sentByDjs = djsSession.received.filter { !it.isSilence }.map { it.sequence to it.opus }
                            sentByDjs.map { it.second.toList() } shouldContainExactly TestAudio.stream("speech-nofec.opus").packets.map { it.toList() }
                            val stats = connection.receiver.stats()
                            val botStats = h.botSession().stats
                            connection.disconnect()
                            val cmp = compareFrames(sentByDjs, recording.await())
                            println("e2e discord.js -> Earshot (${mode.wireName}): $cmp; late=${stats.late} authFailures=${stats.authFailures} lost=${stats.lost} held=${stats.heldUnknownSsrc} droppedUnknown=${stats.droppedUnknownSsrc} droppedDatagrams=${stats.droppedDatagrams} dup=${stats.duplicates} resyncs=${stats.resyncs} lateTicks=${stats.lateTicks} bot=$botStats")
                            stats.authFailures shouldBe 0L
                            cmp.shouldBeIntactBarStalls(stalledSlots(stats, djsSession.received.map { it.timestamp to it.receivedAtNanos }))
                            // Nothing is lost on loopback; only a stall of this shared machine can make a slot play before
                            // its packet is in, and then the slot is concealed, never silently dropped.
                            (cmp.receivedIntact + cmp.concealed) shouldBeGreaterThanOrEqual cmp.sentAudio
                            cmp.mismatched shouldBe 0

                            // What discord.js heard of Earshot: speech.opus, byte for byte, in order (see assertHeardInOrder).
                            val heardCount = assertHeardInOrder(djs.received(E2eHarness.BOT.toString()), TestAudio.stream("speech.opus").packets)
                            println("e2e discord.js heard $heardCount of ${TestAudio.stream("speech.opus").packets.size} Earshot frames")
                        }
                    }
                }
            }
    }
})
