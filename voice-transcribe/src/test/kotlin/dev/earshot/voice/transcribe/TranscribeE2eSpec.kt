package dev.earshot.voice.transcribe

import dev.earshot.voice.ReceiveConfig
import dev.earshot.voice.codec.PcmFormat
import dev.earshot.voice.connection.VoiceConnection
import dev.earshot.voice.connection.VoiceConnectionConfig
import dev.earshot.voice.connection.VoiceSessionInfo
import dev.earshot.voice.testkit.MemberScript
import dev.earshot.voice.testkit.SentFrame
import dev.earshot.voice.testkit.StallProbe
import dev.earshot.voice.testkit.TestServerConfig
import dev.earshot.voice.testkit.VoiceTestServer
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.collections.shouldHaveSize
import io.kotest.matchers.doubles.shouldBeLessThanOrEqual
import io.kotest.matchers.longs.shouldBeGreaterThan
import io.kotest.matchers.longs.shouldBeLessThanOrEqual
import io.kotest.matchers.shouldBe
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.delay
import kotlinx.coroutines.future.await
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import kotlinx.serialization.json.Json
import kotlinx.serialization.json.jsonObject
import kotlinx.serialization.json.jsonPrimitive
import kotlinx.serialization.json.long
import java.nio.file.Files
import java.nio.file.Path
import java.util.concurrent.CopyOnWriteArrayList
import java.util.concurrent.CountDownLatch
import kotlin.io.path.listDirectoryEntries
import kotlin.io.path.name
import kotlin.io.path.readLines
import kotlin.io.path.readText
import kotlin.math.abs
import kotlin.time.Duration.Companion.milliseconds
import kotlin.time.Duration.Companion.seconds

/**
 * Earshot transcribing a channel end to end: scripted members of the testkit say known sentences (espeak-ng speech,
 * made at test time, resampled to 48 kHz and encoded with the project's Opus encoder), Earshot's real connection
 * receives them over loopback with DAVE on, and [TranscriptionSink] transcribes each user's utterances with
 * PocketSphinx into time-ordered transcript files.
 */
class TranscribeE2eSpec : FunSpec({
    val said = mapOf(
        1L to listOf("hello world this is a test of the speech recognition system", "we will meet again tomorrow"),
        2L to listOf("the weather is nice today", "i would like a cup of coffee"),
        3L to listOf("thank you very much", "this meeting is now over"),
    )

    test("members say known sentences; each user's utterances are transcribed with a measured word error rate and true times")
        .config(enabledOrReasonIf = { Engines.enabledOrReason }, timeout = 240.seconds) {
            val speech = said.mapValues { (_, sentences) -> sentences.map { Engines.sentence(it) } }
            val dir = Files.createTempDirectory("earshot-transcribe-e2e")
            VoiceTestServer.start(TestServerConfig(seed = 19)).use { server ->
                runBlocking {
                    val connection = connect(server, this)
                    val ordered = CopyOnWriteArrayList<Transcript>()
                    Transcription(PocketSphinxTranscriber.create(), workers = 2).use { transcription ->
                        val sink = TranscriptionSink(transcription, dir, { "speaker-$it" }, onTranscript = { ordered += it })
                        connection.listen(sink)
                        val channel = server.channel(GUILD.toString(), CHANNEL.toString())
                        val probe = StallProbe.start()
                        // The members overlap in time: member n starts n x 700 ms after its DAVE key, then says its
                        // sentences with 1.5 s between them (more than the segmenter's 600 ms utterance end).
                        val members = said.keys.map { id ->
                            channel.addMember(id.toString(), MemberScript {
                                awaitDave()
                                pause((id * 700).milliseconds)
                                speech.getValue(id).forEachIndexed { i, packets ->
                                    if (i > 0) pause(1500.milliseconds)
                                    playPackets(packets)
                                }
                            })
                        }
                        members.forEach { it.awaitFinished() }
                        val expected = said.values.sumOf { it.size }
                        withTimeout(120.seconds) { while (ordered.size < expected) delay(20) }
                        probe.close()
                        connection.stopListening()
                        connection.receiver.awaitSinks()
                        println("transcription e2e: ${transcription.stats()}; machine stalls: $probe")
                        transcription.stats().dropped shouldBe 0L

                        var errors = 0
                        var referenceWords = 0
                        var worstMs = 0L
                        for (member in members) {
                            val id = member.userId.toLong()
                            val mine = ordered.filter { it.userId == id }
                            val spoken = sentenceTimes(member.sent)
                            mine shouldHaveSize said.getValue(id).size
                            spoken shouldHaveSize said.getValue(id).size
                            val reference = said.getValue(id).flatMap(::words)
                            val hypothesis = mine.flatMap { words(it.text) }
                            val e = wordErrors(reference, hypothesis)
                            errors += e
                            referenceWords += reference.size
                            for ((t, s) in mine.zip(spoken)) {
                                // The engine's word times lie inside the utterance.
                                t.words.forEach { w -> (w.start >= t.start && w.end <= t.end && w.start <= w.end) shouldBe true }
                                val startOff = t.start.toEpochMilli() - s.first
                                val endOff = t.end.toEpochMilli() - s.second
                                println("  user $id: \"${t.text}\" start ${startOff} ms, end ${endOff} ms from when it was sent; latency ${t.latency.toMillis()} ms")
                                worstMs = maxOf(worstMs, abs(startOff), abs(endOff))
                            }
                            println("  user $id WER ${"%.3f".format(e.toDouble() / reference.size)} ($e errors / ${reference.size} words)")
                        }
                        val wer = errors.toDouble() / referenceWords
                        println("transcription e2e: WER ${"%.3f".format(wer)} ($errors / $referenceWords words), worst time offset $worstMs ms")
                        wer shouldBeLessThanOrEqual MAX_WER
                        // A stall of this machine delays the packets read during it by up to its length (a send
                        // stalled instead moves both times alike), so the bound is 100 ms plus the longest stall measured.
                        worstMs shouldBeLessThanOrEqual 100L + probe.longestStallMillis()

                        // The files: well formed, in time order, one cue per utterance, the same text as the events.
                        val merged = parseVtt(dir.resolve(TranscriptFiles.MERGED_VTT).readText())
                        merged.map { it.text } shouldBe ordered.filter { it.text.isNotEmpty() }.map { "<v speaker-${it.userId}>${it.text}" }
                        parseSrt(dir.resolve(TranscriptFiles.MERGED_SRT).readText()).map { it.startMs } shouldBe merged.map { it.startMs }
                        for (id in said.keys) {
                            val cues = parseVtt(dir.resolve("user-$id.vtt").readText())
                            cues.map { it.text } shouldBe ordered.filter { it.userId == id && it.text.isNotEmpty() }.map { it.text }
                            parseSrt(dir.resolve("user-$id.srt").readText()) shouldBe cues
                        }
                        val lines = dir.resolve(TranscriptFiles.JSONL).readLines().map { Json.parseToJsonElement(it).jsonObject }
                        lines.map { it.getValue("user").jsonPrimitive.content.toLong() } shouldBe ordered.filter { it.text.isNotEmpty() }.map { it.userId }
                        lines.map { it.getValue("startMs").jsonPrimitive.long } shouldBe merged.map { it.startMs }
                        dir.listDirectoryEntries().map { it.name }.toSet() shouldBe
                            (listOf(TranscriptFiles.MERGED_VTT, TranscriptFiles.MERGED_SRT, TranscriptFiles.JSONL) + said.keys.flatMap { listOf("user-$it.vtt", "user-$it.srt") }).toSet()
                    }
                    connection.disconnect()
                }
            }
            dir.toFile().deleteRecursively()
        }

    test("receive keeps its schedule while the engine is saturated; the clips it cannot take are dropped and counted") {
        val release = CountDownLatch(1)
        val started = CountDownLatch(1)
        // An engine that never finishes until released: one clip in progress, two waiting, the rest must drop.
        val stuck = Transcriber { started.countDown(); release.await(); Recognition.EMPTY }
        VoiceTestServer.start(TestServerConfig(seed = 20)).use { server ->
            runBlocking {
                val connection = connect(server, this)
                Transcription(stuck, workers = 1, queueCapacity = 2).use { transcription ->
                    val sink = TranscriptionSink(transcription, drainTimeout = 5.seconds)
                    val listening = connection.listen(sink)
                    val probe = StallProbe.start()
                    val before = connection.receiver.stats()
                    val channel = server.channel(GUILD.toString(), CHANNEL.toString())
                    val utterancesEach = 5
                    val members = (1..3).map { id ->
                        channel.addMember(id.toString(), MemberScript {
                            awaitDave()
                            repeat(utterancesEach) { pause(800.milliseconds); tone(300.0 + 100 * id, 400.milliseconds) }
                        })
                    }
                    members.forEach { it.awaitFinished() }
                    val total = 3L * utterancesEach
                    withTimeout(30.seconds) { while (transcription.stats().submitted < total) delay(20) }
                    val during = transcription.stats()
                    val after = connection.receiver.stats()
                    probe.close()
                    println("saturated engine: $during; receive ticks ${after.ticks - before.ticks}, late ticks ${after.lateTicks - before.lateTicks}, " +
                        "machine stalls: $probe, sink dropped ${listening.dropped}")
                    started.count shouldBe 0L
                    during.submitted shouldBe total
                    during.inProgress shouldBe 1
                    during.queued shouldBe 2
                    during.dropped shouldBe total - 3
                    during.completed shouldBe 0L
                    // Receive did not wait for the engine: no tick dropped on the way to the sink, and no late tick but
                    // those this shared machine's stalls caused, as measured beside it.
                    (after.lateTicks - before.lateTicks) shouldBeLessThanOrEqual probe.stalledTicks()
                    (after.droppedTicks - before.droppedTicks) shouldBe 0L
                    listening.dropped shouldBe 0L
                    (after.ticks - before.ticks) shouldBeGreaterThan 200L
                    release.countDown()
                    transcription.idle().await()
                    transcription.stats().completed shouldBe 3L
                    connection.stopListening()
                }
                connection.disconnect()
            }
        }
    }
}) {
    companion object {
        const val GUILD = 111L
        const val CHANNEL = 222L
        const val BOT = 999L

        /**
         * Measured on a loaded 2-core build machine: 0.135 (5 errors in 37 words: "is" for "this", "a" for "the", "to date"
         * for "today", "was" for "would"). The bound leaves room for a few words lost to a stall's concealment.
         */
        const val MAX_WER = 0.30

        /**
         * An utterance's times are its playout times (the recording's timeline, as voice-core's utterances), which lag
         * the speech by the playout delay. The adaptive default grows with the jitter a loaded machine adds (offsets of
         * 22-97 ms were seen with it), so the test fixes it at 40 ms: what is checked is where the receiver places
         * the speech, beyond a delay the bot chose.
         */
        val PLAYOUT_DELAY = 40.milliseconds

        suspend fun connect(server: VoiceTestServer, scope: CoroutineScope): VoiceConnection {
            val grant = server.grant(GUILD.toString(), CHANNEL.toString(), BOT.toString())
            val info = VoiceSessionInfo(GUILD, CHANNEL, BOT, grant.sessionId, grant.token, grant.endpoint)
            val config = VoiceConnectionConfig {
                secure = server.config.tls
                trustManager = server.tls?.trustManager
                receive = ReceiveConfig { decode = PcmFormat.MONO_16K; playoutDelay = PLAYOUT_DELAY }
            }
            return VoiceConnection.connect(info, config, scope)
        }

        /**
         * When each sentence was sent, as (first frame's send time, last frame's send time + 20 ms) in epoch
         * milliseconds: a sentence is a run of audio frames with no silence frame and no gap over 200 ms.
         */
        fun sentenceTimes(sent: List<SentFrame>): List<Pair<Long, Long>> {
            val out = ArrayList<Pair<Long, Long>>()
            var first = -1L
            var last = -1L
            for (f in sent) {
                if (f.isSilence || (last >= 0 && f.sentAtEpochMillis - last > 200)) {
                    if (first >= 0) out += first to last + 20
                    first = -1
                    last = -1
                }
                if (f.isSilence) continue
                if (first < 0) first = f.sentAtEpochMillis
                last = f.sentAtEpochMillis
            }
            if (first >= 0) out += first to last + 20
            return out
        }
    }
}
