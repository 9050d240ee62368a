package dev.earshot.voice.transcribe

import io.kotest.assertions.throwables.shouldThrow
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.collections.shouldBeEmpty
import io.kotest.matchers.doubles.shouldBeLessThanOrEqual
import io.kotest.matchers.shouldBe
import io.kotest.matchers.string.shouldContain
import io.kotest.matchers.types.shouldBeInstanceOf
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.async
import kotlinx.coroutines.flow.take
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.future.await
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.yield
import kotlinx.serialization.json.Json
import kotlinx.serialization.json.JsonNull
import kotlinx.serialization.json.jsonArray
import kotlinx.serialization.json.jsonObject
import kotlinx.serialization.json.jsonPrimitive
import java.nio.file.Files
import java.nio.file.Path
import java.time.Duration
import java.time.Instant
import java.util.concurrent.CompletionException
import java.util.concurrent.CountDownLatch
import java.util.concurrent.ExecutionException
import java.util.concurrent.Executors
import java.util.concurrent.TimeUnit
import kotlin.io.path.readLines
import kotlin.io.path.readText

val T0: Instant = Instant.parse("2026-12-06T10:00:00Z")

fun clip(user: Long, startTick: Long, ticks: Int = 50, pcm: ShortArray = ShortArray(ticks * 320)): SpeechClip =
    SpeechClip(user, 1000 + user, startTick, startTick + ticks - 1, T0.plusMillis(startTick * 20), T0.plusMillis((startTick + ticks) * 20), 12345, pcm)

class TranscriptionSpec : FunSpec({
    test("a full queue drops its oldest waiting clip, counts it and fails its future; the rest are transcribed in turn") {
        val release = CountDownLatch(1)
        val first = CountDownLatch(1)
        val dropped = mutableListOf<SpeechClip>()
        Transcription({ c -> if (c.startTick == 0L) { first.countDown(); release.await() }; Recognition("tick ${c.startTick}") }, workers = 1, queueCapacity = 2).use { t ->
            t.addListener(object : TranscriptListener {
                override fun onTranscript(transcript: Transcript) {}
                override fun onDropped(clip: SpeechClip) { synchronized(dropped) { dropped += clip } }
            }, Runnable::run)
            val futures = (0L..4L).map { i -> t.submit(clip(1, i * 100)).also { if (i == 0L) first.await(10, TimeUnit.SECONDS) shouldBe true } }
            // Clip 0 is being transcribed; 1 and 2 waited; 3 pushed out 1, 4 pushed out 2.
            t.stats().let { it.submitted shouldBe 5L; it.dropped shouldBe 2L; it.queued shouldBe 2; it.inProgress shouldBe 1 }
            for (i in listOf(1, 2)) {
                val e = shouldThrow<ExecutionException> { futures[i].get(5, TimeUnit.SECONDS) }
                e.cause.shouldBeInstanceOf<TranscriptionDroppedException>().clip.startTick shouldBe i * 100L
            }
            synchronized(dropped) { dropped.map { it.startTick } shouldBe listOf(100L, 200L) }
            release.countDown()
            listOf(0, 3, 4).map { futures[it].get(10, TimeUnit.SECONDS).text } shouldBe listOf("tick 0", "tick 300", "tick 400")
            t.idle().get(10, TimeUnit.SECONDS)
            t.stats().let { it.completed shouldBe 3L; it.failed shouldBe 0L; it.queued shouldBe 0; it.inProgress shouldBe 0 }
        }
    }

    test("a transcriber that throws fails only that clip; results reach the Flow and listeners on their executor") {
        val executor = Executors.newSingleThreadExecutor { Thread(it, "listener-thread") }
        try {
            Transcription({ c -> if (c.userId == 2L) error("engine broke") else Recognition("user ${c.userId}") }, workers = 2).use { t ->
                val threads = mutableListOf<String>()
                val failures = mutableListOf<Throwable>()
                t.addListener(object : TranscriptListener {
                    override fun onTranscript(transcript: Transcript) { synchronized(threads) { threads += Thread.currentThread().name } }
                    override fun onFailed(clip: SpeechClip, cause: Throwable) { synchronized(failures) { failures += cause } }
                }, executor)
                runBlocking {
                    val flow = async(start = CoroutineStart.UNDISPATCHED) { t.results.take(2).toList() }
                    // The Flow subscribes in its producer coroutine, queued on this thread: let it run before submitting.
                    yield()
                    val futures = listOf(1L, 2L, 3L).map { t.submit(clip(it, 0)) }
                    flow.await().map { it.text }.toSet() shouldBe setOf("user 1", "user 3")
                    shouldThrow<CompletionException> { futures[1].join() }.cause!!.message shouldBe "engine broke"
                    futures[0].await().userId shouldBe 1L
                }
                t.idle().get(10, TimeUnit.SECONDS)
                t.stats().failed shouldBe 1L
                executor.submit {}.get(5, TimeUnit.SECONDS) // the listener's calls ran before this task
                synchronized(threads) { threads shouldBe listOf("listener-thread", "listener-thread") }
                synchronized(failures) { failures.single().message shouldBe "engine broke" }
            }
        } finally {
            executor.shutdownNow()
        }
    }

    test("close fails what waits, interrupts the engine and closes it; later submissions fail at once") {
        val inside = CountDownLatch(1)
        var closed = false
        var interrupted = false
        val engine = object : Transcriber, AutoCloseable {
            override fun transcribe(clip: SpeechClip): Recognition {
                inside.countDown()
                try { CountDownLatch(1).await() } catch (e: InterruptedException) { interrupted = true; throw e }
                return Recognition.EMPTY
            }
            override fun close() { closed = true }
        }
        val t = Transcription(engine, workers = 1, queueCapacity = 4)
        val running = t.submit(clip(1, 0))
        inside.await(10, TimeUnit.SECONDS) shouldBe true
        val waiting = t.submit(clip(1, 100))
        t.close()
        shouldThrow<ExecutionException> { waiting.get(1, TimeUnit.SECONDS) }.cause.shouldBeInstanceOf<TranscriptionClosedException>()
        shouldThrow<ExecutionException> { running.get(1, TimeUnit.SECONDS) }.cause.shouldBeInstanceOf<InterruptedException>()
        interrupted shouldBe true
        closed shouldBe true
        shouldThrow<ExecutionException> { t.submit(clip(1, 200)).get(1, TimeUnit.SECONDS) }.cause.shouldBeInstanceOf<TranscriptionClosedException>()
        t.idle().isDone shouldBe true
    }

    test("a transcript places the engine's words on the wall clock from its clip's start") {
        val c = clip(7, 50)
        val r = Recognition.ofWords(listOf(RecognizedWord("hi", Duration.ofMillis(30), Duration.ofMillis(310), 0.5)))
        val t = Transcript.of(3, c, r, Duration.ofMillis(9))
        t.text shouldBe "hi"
        t.start shouldBe T0.plusSeconds(1)
        t.words.single().start shouldBe T0.plusMillis(1030)
        t.words.single().end shouldBe T0.plusMillis(1310)
        t.sequence shouldBe 3L
        t.rtpTimestamp shouldBe 12345L
    }

    test("PocketSphinx output: word lines kept with times and posteriors, fillers and pronunciation markers removed") {
        val out = """
            hello well this is
            <s> 0.000 0.020 0.999800
            hello 0.030 0.310 0.176965
            when(4) 0.320 0.640 0.680965
            <sil> 0.650 0.700 0.5
            [NOISE] 0.700 0.750 0.5
            is 0.920 1.030 0.980491
            </s> 1.570 1.990 1.000000
            second segment here now
            <s> 3.790 3.870 0.999600
            the 3.880 4.020 0.935749
        """.trimIndent()
        val r = PocketSphinxTranscriber.parse(out)
        r.text shouldBe "hello when is the"
        r.words.map { it.start.toMillis() to it.end.toMillis() } shouldBe listOf(30L to 310L, 320L to 640L, 920L to 1030L, 3880L to 4020L)
        r.words[2].confidence shouldBe 0.980491
        PocketSphinxTranscriber.parse("").text shouldBe ""
        PocketSphinxTranscriber.parse("garbage line\nx y z w\n1 2 3\n").words.shouldBeEmpty()
    }

    test("PocketSphinx missing parts are typed errors naming the Debian package") {
        val e = shouldThrow<PocketSphinxNotInstalledException> { PocketSphinxTranscriber.create(Path.of("/nonexistent-model"), Duration.ofSeconds(1)) }
        val executablePresent = System.getenv("PATH").orEmpty().split(':').any { Files.isExecutable(Path.of(it, "pocketsphinx_continuous")) }
        e.debianPackage shouldBe if (executablePresent) "pocketsphinx-en-us" else "pocketsphinx"
        e.message!! shouldContain "apt-get install ${e.debianPackage}"
    }

    test("PocketSphinx recognises espeak-ng speech directly, with word times inside the clip")
        .config(enabledOrReasonIf = { Engines.enabledOrReason }) {
            val (pcm, rate) = Engines.espeak("we will meet again tomorrow")
            // To 16 kHz through 48 kHz and the receiver's decimator's rate, by picking every third sample of a linear upsample.
            val at48 = Engines.to48k(pcm, rate)
            val at16 = ShortArray(at48.size / 3) { at48[3 * it] }
            val r = PocketSphinxTranscriber.create().transcribe(clip(1, 0, ticks = at16.size / 320 + 1, pcm = at16.copyOf((at16.size / 320 + 1) * 320)))
            println("pocketsphinx direct: \"${r.text}\" ${r.words}")
            (wordErrors(words("we will meet again tomorrow"), words(r.text)).toDouble() / 5) shouldBeLessThanOrEqual 0.2
            r.words.forEach { (it.end.toMillis() <= at16.size / 16 + 20) shouldBe true; (it.confidence in 0.0..1.0) shouldBe true }
        }

    test("a PocketSphinx process past its time limit is killed by PID and fails the clip with a typed error")
        .config(enabledOrReasonIf = { Engines.enabledOrReason }) {
            val engine = PocketSphinxTranscriber.create(PocketSphinxTranscriber.DEBIAN_MODEL_DIR, Duration.ofMillis(1))
            val e = shouldThrow<PocketSphinxFailedException> { engine.transcribe(clip(1, 0, ticks = 1)) }
            e.message!! shouldContain "killed"
            ProcessHandle.current().children().filter { it.info().command().orElse("").endsWith("pocketsphinx_continuous") }.count() shouldBe 0L
        }

    test("transcript files: WebVTT, SRT and JSON lines, merged with speaker labels and per user, escaped, empty texts skipped") {
        val dir = Files.createTempDirectory("earshot-transcript-files")
        TranscriptFiles(dir, T0) { "name<$it>" }.use { files ->
            val words = listOf(TimedWord("a", T0.plusMillis(1030), T0.plusMillis(1100), 0.25), TimedWord("b", T0.plusMillis(1100), T0.plusMillis(1200), Double.NaN))
            files.write(Transcript(0, 1, 11, 50, 99, T0.plusSeconds(1), T0.plusSeconds(2), 5, "a b", words, Duration.ZERO))
            files.write(Transcript(1, 2, 12, 60, 70, T0.plusMillis(1200), T0.plusMillis(1420), 5, "x < y & \"z\" --> w\nnext", emptyList(), Duration.ZERO))
            files.write(Transcript(2, 1, 11, 80, 90, T0.plusMillis(1600), T0.plusMillis(1800), 5, "  ", emptyList(), Duration.ZERO))
            files.write(Transcript(3, -1, 13, 3600 * 50L, 3600 * 50L + 9, T0.plusSeconds(3600), T0.plusMillis(3600_200), 5, "late", emptyList(), Duration.ZERO))
            files.cues shouldBe 3
        }
        val vtt = parseVtt(dir.resolve("transcript.vtt").readText())
        vtt shouldBe listOf(
            Cue(1000, 2000, "<v name&lt;1&gt;>a b"),
            Cue(1200, 1420, "<v name&lt;2&gt;>x &lt; y &amp; \"z\" -&gt; w next"),
            Cue(3_600_000, 3_600_200, "<v ssrc-13>late"),
        )
        parseSrt(dir.resolve("transcript.srt").readText()).map { it.text } shouldBe listOf("name<1>: a b", "name<2>: x < y & \"z\" -> w next", "ssrc-13: late")
        parseVtt(dir.resolve("user-1.vtt").readText()) shouldBe listOf(Cue(1000, 2000, "a b"))
        parseSrt(dir.resolve("ssrc-13.srt").readText()) shouldBe listOf(Cue(3_600_000, 3_600_200, "late"))
        val lines = dir.resolve("transcript.jsonl").readLines().map { Json.parseToJsonElement(it).jsonObject }
        lines.size shouldBe 3
        lines[0].getValue("user").jsonPrimitive.content shouldBe "1"
        lines[0].getValue("start").jsonPrimitive.content shouldBe "2026-12-06T10:00:01Z"
        lines[0].getValue("words").jsonArray[1].jsonObject.getValue("confidence") shouldBe JsonNull
        lines[1].getValue("text").jsonPrimitive.content shouldBe "x < y & \"z\" --> w\nnext"
        lines[2].getValue("user") shouldBe JsonNull
        dir.toFile().deleteRecursively()
    }
})
