package dev.earshot.voice.testkit

import io.kotest.core.test.Enabled
import java.io.File
import java.nio.file.Files
import java.nio.file.Path
import java.util.Base64
import java.util.Collections
import java.util.concurrent.TimeUnit
import kotlin.time.Duration
import kotlin.time.Duration.Companion.seconds
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.delay
import kotlinx.coroutines.withContext
import kotlinx.coroutines.withTimeout
import kotlinx.serialization.json.Json
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.jsonObject
import kotlinx.serialization.json.jsonPrimitive

/**
 * Runs `interop/discordjs-member.mjs`: a real @discordjs/voice 0.19.2 client joining a [VoiceTestServer] through
 * a fake gateway adapter. Its stdout events are collected in [events]; the Opus packets it received are in the
 * output file, read by [received].
 */
class DiscordJsMember private constructor(private val process: Process, private val outFile: Path) : AutoCloseable {
    private val eventList = Collections.synchronizedList(ArrayList<JsonObject>())
    private val stderr = StringBuffer()

    /** The JSON events printed so far. */
    val events: List<JsonObject> get() = synchronized(eventList) { eventList.toList() }

    init {
        Thread({
            process.inputStream.bufferedReader().forEachLine { line ->
                runCatching { Json.parseToJsonElement(line).jsonObject }.onSuccess { eventList += it }
                    .onFailure { stderr.append("stdout: ").append(line).append('\n') }
            }
        }, "discordjs-stdout").apply { isDaemon = true; start() }
        Thread({ process.errorStream.bufferedReader().forEachLine { stderr.append(it).append('\n') } }, "discordjs-stderr")
            .apply { isDaemon = true; start() }
    }

    /** Waits for an event matching [predicate]; fails with the events and stderr so far on [timeout]. */
    suspend fun awaitEvent(timeout: Duration = 20.seconds, predicate: (JsonObject) -> Boolean): JsonObject {
        return try {
            withTimeout(timeout) {
                var found = events.firstOrNull(predicate)
                while (found == null) {
                    check(process.isAlive) { "discord.js exited early" }
                    delay(20)
                    found = events.firstOrNull(predicate)
                }
                found
            }
        } catch (e: Exception) {
            throw AssertionError("no matching discord.js event: ${e.message}\nevents:\n${events.joinToString("\n")}\nstderr:\n$stderr", e)
        }
    }

    /** Waits for a connection state change to [status] ("ready", "disconnected", ...). */
    suspend fun awaitConnection(status: String, timeout: Duration = 20.seconds): JsonObject =
        awaitEvent(timeout) { it.str("event") == "connection" && it.str("to") == status }

    /** Writes [line] to the client's stdin ("play" starts a `--play-on-stdin` player). */
    suspend fun sendLine(line: String) = withContext(Dispatchers.IO) {
        process.outputStream.apply { write("$line\n".toByteArray()); flush() }
    }

    /** Tells the client to leave (connection.destroy()) and waits for it to exit; returns its exit code. */
    suspend fun leave(timeout: Duration = 10.seconds): Int = withContext(Dispatchers.IO) {
        runCatching { process.outputStream.apply { write("leave\n".toByteArray()); flush() } }
        check(process.waitFor(timeout.inWholeMilliseconds, TimeUnit.MILLISECONDS)) { "discord.js did not exit; stderr:\n$stderr" }
        process.exitValue()
    }

    /** The Opus packets received from [userId], in arrival order. */
    fun received(userId: String): List<ByteArray> =
        Files.readAllLines(outFile).filter { it.isNotBlank() }.map { Json.parseToJsonElement(it).jsonObject }
            .filter { it.str("user") == userId }.map { Base64.getDecoder().decode(it.str("opus")) }

    /** The Opus packets received from [userId] with their arrival time (`Date.now()`, ms), in arrival order. */
    fun receivedTimed(userId: String): List<Pair<Long, ByteArray>> =
        Files.readAllLines(outFile).filter { it.isNotBlank() }.map { Json.parseToJsonElement(it).jsonObject }
            .filter { it.str("user") == userId }.map { (it.str("t")?.toLong() ?: 0L) to Base64.getDecoder().decode(it.str("opus")) }

    /** What the process wrote to stderr. */
    val errors: String get() = stderr.toString()

    override fun close() {
        if (process.isAlive) process.destroyForcibly()
        runCatching { Files.deleteIfExists(outFile) }
    }

    companion object {
        private const val REQUIRE_ENV = "EARSHOT_REQUIRE_INTEROP"

        /** The repository's `interop/` folder (tests run in `voice-testkit/`). */
        val interopDir: File = File(System.getProperty("user.dir")).let { cwd ->
            listOf(File(cwd, "../interop"), File(cwd, "interop")).firstOrNull { File(it, "discordjs-member.mjs").isFile }
                ?: File(cwd, "../interop")
        }.canonicalFile

        /** Null when node and the installed npm packages are there, else why not. */
        val unavailableReason: String? by lazy {
            val nodeOk = runCatching { ProcessBuilder("node", "--version").start().waitFor(10, TimeUnit.SECONDS) }.getOrDefault(false)
            when {
                !nodeOk -> "node is not installed"
                !File(interopDir, "node_modules/@discordjs/voice").isDirectory ->
                    "$interopDir/node_modules is missing (run npm ci in interop/)"
                else -> null
            }
        }

        /**
         * Whether interop tests run. They are skipped, with a printed reason, when node or the npm packages are
         * missing, unless EARSHOT_REQUIRE_INTEROP=1, in which case they run (and fail saying why).
         */
        val enabledOrReason: Enabled by lazy {
            val reason = unavailableReason
            when {
                reason == null -> Enabled.enabled
                System.getenv(REQUIRE_ENV) == "1" -> Enabled.enabled.also { println("interop tests are required ($REQUIRE_ENV=1) but: $reason") }
                else -> Enabled.disabled("skipping discord.js interop tests: $reason").also { println(it.reason) }
            }
        }

        /** Starts a discord.js member with [grant], playing [play] and subscribed to [subscribe]. */
        fun start(
            grant: VoiceGrant,
            play: Path?,
            subscribe: List<String>,
            debug: Boolean = false,
            extraArgs: List<String> = emptyList(),
        ): DiscordJsMember {
            unavailableReason?.let { throw AssertionError("cannot run discord.js: $it") }
            val out = Files.createTempFile("discordjs-received-", ".jsonl")
            val command = mutableListOf(
                "node", "discordjs-member.mjs",
                "--endpoint", grant.endpoint, "--token", grant.token, "--session-id", grant.sessionId,
                "--user-id", grant.userId, "--guild-id", grant.guildId, "--channel-id", grant.channelId,
                "--subscribe", subscribe.joinToString(","), "--out", out.toString(),
            )
            if (play != null) command += listOf("--play", play.toString())
            if (debug) command += "--debug"
            command += extraArgs
            val pb = ProcessBuilder(command).directory(interopDir)
            // The testkit's certificate is self-signed.
            pb.environment()["NODE_TLS_REJECT_UNAUTHORIZED"] = "0"
            pb.environment()["NODE_NO_WARNINGS"] = "1"
            return DiscordJsMember(pb.start(), out)
        }
    }
}

private fun JsonObject.str(key: String): String? = (this[key] as? kotlinx.serialization.json.JsonPrimitive)?.content
