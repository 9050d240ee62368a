package dev.earshot.voice.transcribe

import org.slf4j.LoggerFactory
import java.io.File
import java.io.IOException
import java.io.InputStream
import java.nio.ByteBuffer
import java.nio.ByteOrder
import java.nio.file.Files
import java.nio.file.Path
import java.time.Duration
import java.util.concurrent.TimeUnit
import kotlin.io.path.deleteIfExists

/**
 * CMU PocketSphinx (Debian's `pocketsphinx` 0.8+5prealpha with the `pocketsphinx-en-us` model) as a [Transcriber]:
 * each clip is written to a temporary 16 kHz WAV and recognised by one `pocketsphinx_continuous -infile <wav>
 * -time yes` process, whose word lines give each word's times (10 ms frames) and posterior probability. A process
 * per clip keeps nothing native in the JVM and no state between clips, so workers run in parallel safely; loading
 * the model costs about a second of CPU per clip. A process that runs longer than [timeout] plus the clip's own
 * length is killed by its PID ([PocketSphinxFailedException]). Accuracy is modest (a general US-English model);
 * plug a stronger engine into [Transcriber] for real use.
 *
 * Make one with [create], which checks the installation first.
 */
public class PocketSphinxTranscriber private constructor(
    /** The `pocketsphinx_continuous` executable. */
    public val executable: String,
    /** The acoustic model directory (`-hmm`). */
    public val acousticModel: Path,
    /** The language model (`-lm`). */
    public val languageModel: Path,
    /** The pronunciation dictionary (`-dict`). */
    public val dictionary: Path,
    /** How long a process may run beyond the clip's own length before it is killed. */
    public val timeout: Duration,
) : Transcriber {

    override fun transcribe(clip: SpeechClip): Recognition {
        if (clip.pcm.isEmpty()) return Recognition.EMPTY
        val wav = Files.createTempFile("earshot-sphinx-", ".wav")
        try {
            writeWav(wav, clip.pcm)
            val command = listOf(
                executable, "-infile", wav.toString(), "-time", "yes", "-logfn", "/dev/null",
                "-hmm", acousticModel.toString(), "-lm", languageModel.toString(), "-dict", dictionary.toString(),
            )
            val process = try {
                ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start()
            } catch (e: IOException) {
                throw PocketSphinxNotInstalledException("pocketsphinx", "cannot run $executable: ${e.message}")
            }
            try {
                // The output is a few lines per word: read it whole while the process runs, then wait for the exit.
                val reader = OutputReader(process.inputStream).also { it.start() }
                val limit = timeout.plus(clip.duration)
                if (!process.waitFor(limit.toMillis(), TimeUnit.MILLISECONDS)) {
                    kill(process)
                    throw PocketSphinxFailedException("pocketsphinx_continuous did not finish within $limit; killed (pid ${process.pid()})")
                }
                reader.join(READER_WAIT_MILLIS)
                val exit = process.exitValue()
                if (exit != 0) throw PocketSphinxFailedException("pocketsphinx_continuous exited with $exit")
                return parse(reader.text())
            } catch (e: InterruptedException) {
                kill(process)
                Thread.currentThread().interrupt()
                throw PocketSphinxFailedException("interrupted; pocketsphinx_continuous killed (pid ${process.pid()})", e)
            } finally {
                if (process.isAlive) kill(process)
            }
        } finally {
            wav.deleteIfExists()
        }
    }

    override fun toString(): String = "PocketSphinxTranscriber($executable, $acousticModel)"

    private class OutputReader(private val input: InputStream) : Thread("earshot-sphinx-output") {
        @Volatile private var bytes = ByteArray(0)

        init {
            isDaemon = true
        }

        override fun run() {
            bytes = try {
                // Bounded: a clip's words, never more than a megabyte of text.
                input.readNBytes(MAX_OUTPUT)
            } catch (_: IOException) {
                ByteArray(0)
            }
        }

        fun text(): String = String(bytes, Charsets.UTF_8)
    }

    /** Finders and parsing. */
    public companion object {
        private val log = LoggerFactory.getLogger(PocketSphinxTranscriber::class.java)
        private const val MAX_OUTPUT = 1 shl 20
        private const val READER_WAIT_MILLIS = 5_000L

        /** Where Debian's `pocketsphinx-en-us` puts the US-English model. */
        @JvmField
        public val DEBIAN_MODEL_DIR: Path = Path.of("/usr/share/pocketsphinx/model/en-us")

        /** The default time a process may take beyond its clip's length: 30 s. */
        @JvmField
        public val DEFAULT_TIMEOUT: Duration = Duration.ofSeconds(30)

        /**
         * The engine from Debian's packages: `pocketsphinx_continuous` on the PATH and the model in
         * [DEBIAN_MODEL_DIR], each process bounded by [DEFAULT_TIMEOUT].
         * @throws PocketSphinxNotInstalledException naming the Debian package that is missing.
         */
        @JvmStatic
        public fun create(): PocketSphinxTranscriber = create(DEBIAN_MODEL_DIR, DEFAULT_TIMEOUT)

        /**
         * The engine with the model in [modelDir] (holding `en-us/` (the acoustic model), `en-us.lm.bin` and
         * `cmudict-en-us.dict`, as Debian lays it out) and processes bounded by [timeout] beyond their clip's length.
         * @throws PocketSphinxNotInstalledException naming the Debian package that is missing.
         */
        @JvmStatic
        public fun create(modelDir: Path, timeout: Duration): PocketSphinxTranscriber {
            require(!timeout.isNegative && !timeout.isZero) { "timeout must be positive, was $timeout" }
            val executable = findOnPath("pocketsphinx_continuous")
                ?: throw PocketSphinxNotInstalledException("pocketsphinx", "pocketsphinx_continuous is not on the PATH")
            val hmm = modelDir.resolve("en-us")
            val lm = modelDir.resolve("en-us.lm.bin")
            val dict = modelDir.resolve("cmudict-en-us.dict")
            for (p in listOf(hmm.resolve("mdef"), lm, dict)) {
                if (!Files.isReadable(p)) throw PocketSphinxNotInstalledException("pocketsphinx-en-us", "the model file $p is missing")
            }
            return PocketSphinxTranscriber(executable.toString(), hmm, lm, dict, timeout)
        }

        /** Null when [create] would succeed, else what is missing (a test's skip reason, a startup check). */
        @JvmStatic
        public fun missing(): String? = try {
            create()
            null
        } catch (e: PocketSphinxNotInstalledException) {
            e.message
        }

        private fun findOnPath(name: String): Path? = System.getenv("PATH").orEmpty().split(File.pathSeparatorChar)
            .filter { it.isNotEmpty() }
            .map { Path.of(it, name) }
            .firstOrNull { Files.isRegularFile(it) && Files.isExecutable(it) }

        /**
         * Reads `pocketsphinx_continuous -time yes` output: word lines `word start end posterior` (seconds) between
         * hypothesis lines. Fillers (`<s>`, `</s>`, `<sil>`, `[NOISE]`, `++...++`) are left out and alternative
         * pronunciation markers (`when(4)`) removed. Lines that are not word lines are ignored.
         */
        @JvmStatic
        public fun parse(output: String): Recognition {
            val words = ArrayList<RecognizedWord>()
            for (line in output.lineSequence()) {
                val parts = line.trim().split(' ').filter { it.isNotEmpty() }
                if (parts.size != 4) continue
                val start = parts[1].toDoubleOrNull() ?: continue
                val end = parts[2].toDoubleOrNull() ?: continue
                val confidence = parts[3].toDoubleOrNull() ?: continue
                val word = parts[0]
                if (isFiller(word)) continue
                words += RecognizedWord(word.substringBefore('('), seconds(start), seconds(end), confidence.coerceIn(0.0, 1.0))
            }
            return Recognition.ofWords(words)
        }

        private fun isFiller(word: String): Boolean =
            word.startsWith('<') || word.startsWith('[') || word.startsWith("++")

        private fun seconds(s: Double): Duration = Duration.ofNanos(Math.round(s * 1e9))

        private fun kill(process: Process) {
            process.descendants().forEach { it.destroyForcibly() }
            process.toHandle().destroyForcibly()
            try {
                process.waitFor(5, TimeUnit.SECONDS)
            } catch (_: InterruptedException) {
                Thread.currentThread().interrupt()
            }
            log.debug("killed pocketsphinx_continuous pid {}", process.pid())
        }

        /** A 16 kHz mono s16le WAV of [pcm]. */
        internal fun writeWav(path: Path, pcm: ShortArray) {
            val data = pcm.size * 2
            val buf = ByteBuffer.allocate(44 + data).order(ByteOrder.LITTLE_ENDIAN)
            buf.put("RIFF".toByteArray()).putInt(36 + data).put("WAVE".toByteArray())
            buf.put("fmt ".toByteArray()).putInt(16).putShort(1).putShort(1).putInt(SpeechClip.SAMPLE_RATE)
                .putInt(SpeechClip.SAMPLE_RATE * 2).putShort(2).putShort(16)
            buf.put("data".toByteArray()).putInt(data)
            for (s in pcm) buf.putShort(s)
            Files.write(path, buf.array())
        }
    }
}

/** The speech engine is not installed; [debianPackage] names the Debian package to install. */
public class PocketSphinxNotInstalledException(
    /** The missing Debian package (`pocketsphinx` or `pocketsphinx-en-us`). */
    public val debianPackage: String,
    detail: String,
) : TranscriptionException("PocketSphinx is not installed: $detail (apt-get install $debianPackage)")

/** A `pocketsphinx_continuous` process failed, was interrupted or ran past its time limit and was killed. */
public class PocketSphinxFailedException(message: String, cause: Throwable? = null) : TranscriptionException(message, cause)
