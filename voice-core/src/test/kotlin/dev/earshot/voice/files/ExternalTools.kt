package dev.earshot.voice.files

import io.kotest.core.test.Enabled
import io.kotest.core.test.TestCase
import java.io.File
import java.util.concurrent.TimeUnit

/** Finds command-line tools on PATH and runs them; tests that need one are disabled with a printed reason. */
object ExternalTools {
    fun has(tool: String): Boolean =
        System.getenv("PATH").orEmpty().split(File.pathSeparator).any { File(it, tool).canExecute() }

    /** For kotest `enabledOrReasonIf`: enabled when every tool exists, else disabled with a printed reason. */
    fun require(vararg tools: String): (TestCase) -> Enabled = {
        val missing = tools.filterNot(::has)
        if (missing.isEmpty()) {
            Enabled.enabled
        } else {
            val reason = "skipped: ${missing.joinToString()} not installed (Debian: apt-get install -y ffmpeg sox)"
            println("${it.name.name}: $reason")
            Enabled.disabled(reason)
        }
    }

    /** Runs [command], returning exit status and combined output. */
    fun run(vararg command: String): Pair<Int, String> {
        val p = ProcessBuilder(*command).redirectErrorStream(true).start()
        val out = p.inputStream.bufferedReader().readText()
        check(p.waitFor(60, TimeUnit.SECONDS)) { "${command[0]} did not finish" }
        return p.exitValue() to out
    }
}
