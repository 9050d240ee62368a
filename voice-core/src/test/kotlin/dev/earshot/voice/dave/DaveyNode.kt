package dev.earshot.voice.dave

import io.kotest.core.test.Enabled
import java.io.File
import java.util.concurrent.TimeUnit

/**
 * Runs scripts in the repository's `interop/` folder with node and the pinned `@snazzah/davey`, found the same way
 * as voice-testkit's DiscordJsMember. Interop tests skip, with a printed reason, when node or the npm packages are
 * missing, unless EARSHOT_REQUIRE_INTEROP=1 (CI), in which case they run and fail saying why.
 */
object DaveyNode {
    private const val REQUIRE_ENV = "EARSHOT_REQUIRE_INTEROP"

    /** The repository's `interop/` folder (tests run in `voice-core/`). */
    val interopDir: File = File(System.getProperty("user.dir")).let { cwd ->
        listOf(File(cwd, "../interop"), File(cwd, "interop")).firstOrNull { File(it, "dave-codes.mjs").isFile }
            ?: File(cwd, "../interop")
    }.canonicalFile

    /** Null when node and the installed npm packages are there, else why not. */
    val unavailableReason: String? by lazy {
        val nodeOk = runCatching { ProcessBuilder("node", "--version").start().waitFor(10, TimeUnit.SECONDS) }.getOrDefault(false)
        when {
            !nodeOk -> "node is not installed"
            !File(interopDir, "node_modules/@snazzah/davey").isDirectory ->
                "$interopDir/node_modules is missing (run npm ci in interop/)"
            else -> null
        }
    }

    val enabledOrReason: Enabled by lazy {
        val reason = unavailableReason
        when {
            reason == null -> Enabled.enabled
            System.getenv(REQUIRE_ENV) == "1" -> Enabled.enabled.also { println("interop tests are required ($REQUIRE_ENV=1) but: $reason") }
            else -> Enabled.disabled("skipping davey interop tests: $reason").also { println(it.reason) }
        }
    }

    /** Runs `node <script>` in the interop folder and returns its standard output; fails on a non-zero exit. */
    fun run(script: String, timeoutSeconds: Long = 60): String {
        unavailableReason?.let { throw AssertionError("cannot run davey: $it") }
        val process = ProcessBuilder("node", script).directory(interopDir)
            .redirectError(ProcessBuilder.Redirect.INHERIT).start()
        val out = process.inputStream.bufferedReader().readText()
        check(process.waitFor(timeoutSeconds, TimeUnit.SECONDS)) { "node $script timed out" }
        check(process.exitValue() == 0) { "node $script exited with ${process.exitValue()}" }
        return out
    }
}
