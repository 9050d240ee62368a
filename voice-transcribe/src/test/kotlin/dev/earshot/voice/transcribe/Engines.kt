package dev.earshot.voice.transcribe

import dev.earshot.voice.codec.ConcentusEncoderFactory
import dev.earshot.voice.codec.PcmFormat
import io.kotest.core.test.Enabled
import java.nio.ByteBuffer
import java.nio.ByteOrder
import java.nio.file.Files
import java.util.concurrent.TimeUnit
import kotlin.io.path.deleteIfExists
import kotlin.io.path.readBytes

/**
 * The external tools the engine tests need: PocketSphinx (Debian `pocketsphinx`, `pocketsphinx-en-us`) and espeak-ng
 * for the speech. Without them the tests are skipped with the reason, unless EARSHOT_REQUIRE_TRANSCRIBE=1 (CI), in
 * which case they run and fail saying what is missing.
 */
object Engines {
    private const val REQUIRE_ENV = "EARSHOT_REQUIRE_TRANSCRIBE"

    val unavailableReason: String? by lazy {
        PocketSphinxTranscriber.missing()
            ?: if (runCatching { run(listOf("espeak-ng", "--version")).first == 0 }.getOrDefault(false)) null
            else "espeak-ng is not installed (apt-get install espeak-ng)"
    }

    val enabledOrReason: Enabled by lazy {
        val reason = unavailableReason
        when {
            reason == null -> Enabled.enabled
            System.getenv(REQUIRE_ENV) == "1" -> Enabled.enabled.also { println("transcription tests are required ($REQUIRE_ENV=1) but: $reason") }
            else -> Enabled.disabled("skipping speech-engine tests: $reason").also { println(it.reason) }
        }
    }

    /** Runs [command] for at most 60 s (killed by PID after that); returns its exit code and output. */
    fun run(command: List<String>): Pair<Int, String> {
        val p = ProcessBuilder(command).redirectErrorStream(true).start()
        val out = p.inputStream.readAllBytes()
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.toHandle().destroyForcibly()
            error("$command did not finish in 60 s")
        }
        return p.exitValue() to String(out)
    }

    /** [text] spoken by espeak-ng (US English, Klatt voice, 160 words a minute) as mono PCM at its own rate. */
    fun espeak(text: String): Pair<ShortArray, Int> {
        val wav = Files.createTempFile("earshot-espeak-", ".wav")
        try {
            val (exit, out) = run(listOf("espeak-ng", "-v", "en-us+klatt", "-s", "160", "-w", wav.toString(), text))
            check(exit == 0) { "espeak-ng failed ($exit): $out" }
            return readWav(wav.readBytes())
        } finally {
            wav.deleteIfExists()
        }
    }

    /** The samples and rate of a mono 16-bit PCM WAV. */
    fun readWav(bytes: ByteArray): Pair<ShortArray, Int> {
        val b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN)
        check(String(bytes, 0, 4) == "RIFF" && String(bytes, 8, 4) == "WAVE") { "not a WAV file" }
        var pos = 12
        var rate = -1
        while (pos + 8 <= bytes.size) {
            val id = String(bytes, pos, 4)
            val size = b.getInt(pos + 4)
            if (id == "fmt ") {
                check(b.getShort(pos + 8).toInt() == 1 && b.getShort(pos + 10).toInt() == 1 && b.getShort(pos + 22).toInt() == 16) { "not mono s16 PCM" }
                rate = b.getInt(pos + 12)
            }
            if (id == "data") {
                // espeak-ng writing to a file leaves the sizes right; to a pipe it would not, so read to the end if needed.
                val n = (if (size in 1..(bytes.size - pos - 8)) size else bytes.size - pos - 8) / 2
                return ShortArray(n) { b.getShort(pos + 8 + 2 * it) } to rate
            }
            pos += 8 + size + (size and 1)
        }
        error("no data chunk")
    }

    /** [pcm] at [rate] resampled to 48 kHz by linear interpolation (the receiver's 16 kHz path low-passes the images away). */
    fun to48k(pcm: ShortArray, rate: Int): ShortArray {
        val n = (pcm.size.toLong() * 48_000 / rate).toInt()
        return ShortArray(n) { i ->
            val x = i.toDouble() * rate / 48_000
            val k = x.toInt()
            val f = x - k
            val a = pcm[minOf(k, pcm.size - 1)].toDouble()
            val c = pcm[minOf(k + 1, pcm.size - 1)].toDouble()
            (a + (c - a) * f).toInt().toShort()
        }
    }

    /** 48 kHz mono PCM as 20 ms Opus packets of 48 kHz stereo (the project's encoder), the last frame padded. */
    fun opus(pcm48k: ShortArray): List<ByteArray> {
        val encoder = ConcentusEncoderFactory.create(PcmFormat.STEREO_48K)
        val frames = (pcm48k.size + 959) / 960
        val stereo = ShortArray(960 * 2)
        val out = ByteArray(1276)
        return List(frames) { f ->
            stereo.fill(0)
            for (i in 0 until 960) {
                val s = pcm48k.getOrElse(f * 960 + i) { 0 }
                stereo[2 * i] = s
                stereo[2 * i + 1] = s
            }
            out.copyOf(encoder.encode(stereo, 0, 960, out))
        }
    }

    /** [text] said by espeak-ng as Opus packets, ready for a scripted member. */
    fun sentence(text: String): List<ByteArray> {
        val (pcm, rate) = espeak(text)
        return opus(to48k(pcm, rate))
    }
}

/** Word error rate: word-level edit distance (substitutions, insertions, deletions) over the reference's length. */
fun wordErrors(reference: List<String>, hypothesis: List<String>): Int {
    val d = IntArray(hypothesis.size + 1) { it }
    for (i in 1..reference.size) {
        var diag = d[0]
        d[0] = i
        for (j in 1..hypothesis.size) {
            val up = d[j]
            d[j] = minOf(d[j] + 1, d[j - 1] + 1, diag + if (reference[i - 1] == hypothesis[j - 1]) 0 else 1)
            diag = up
        }
    }
    return d[hypothesis.size]
}

fun words(text: String): List<String> = text.lowercase().split(Regex("[^a-z']+")).filter { it.isNotEmpty() }
