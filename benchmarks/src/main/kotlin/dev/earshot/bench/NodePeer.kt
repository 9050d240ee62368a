package dev.earshot.bench

import java.io.BufferedReader
import java.io.File
import java.io.Writer
import java.util.concurrent.TimeUnit

/**
 * One discord.js-side scenario of `interop/bench-peer.mjs`, running in a node child process for the whole group so
 * that its rounds alternate with the JVM's (node idles between rounds, so the two never compete for a core).
 * [round] asks for one measured round and returns its rate.
 */
internal class NodePeer private constructor(private val process: Process, private val label: String) : AutoCloseable {
    private val input: Writer = process.outputStream.bufferedWriter()
    private val output: BufferedReader = process.inputStream.bufferedReader()

    init {
        val first = output.readLine()
        check(first == "ready") { "$label: node did not start (said: $first)" }
    }

    fun round(): Double {
        input.write("run\n")
        input.flush()
        val line = output.readLine() ?: error("$label: node exited")
        check(line.startsWith("rate ")) { "$label: unexpected answer $line" }
        return line.split(' ')[1].toDouble()
    }

    override fun close() {
        input.close()
        if (!process.waitFor(10, TimeUnit.SECONDS)) process.destroy()
    }

    companion object {
        /** The repository's `interop/` folder, found from the working directory as the testkit does. */
        val interopDir: File? = File(System.getProperty("user.dir")).let { cwd ->
            listOf(File(cwd, "../interop"), File(cwd, "interop")).firstOrNull { File(it, "bench-peer.mjs").isFile }
        }

        /** Null when node and the npm packages are there, else why the discord.js rows are left out. */
        val unavailable: String? by lazy {
            val nodeOk = runCatching { ProcessBuilder("node", "--version").start().waitFor(10, TimeUnit.SECONDS) }.getOrDefault(false)
            when {
                !nodeOk -> "node is not installed"
                interopDir == null -> "interop/bench-peer.mjs not found from ${System.getProperty("user.dir")}"
                !File(interopDir, "node_modules/opusscript").isDirectory || !File(interopDir, "node_modules/@discordjs/voice").isDirectory ->
                    "$interopDir/node_modules is missing (run npm ci in interop/)"
                else -> null
            }
        }

        fun start(label: String, vararg args: String): NodePeer {
            val dir = checkNotNull(interopDir) { unavailable ?: "no interop dir" }
            val process = ProcessBuilder(listOf("node", "bench-peer.mjs") + args)
                .directory(dir)
                .redirectError(ProcessBuilder.Redirect.INHERIT)
                .start()
            return NodePeer(process, label)
        }

        /** Writes [records] as 32-bit big-endian length + bytes each, the format bench-peer.mjs reads. */
        fun writeRecords(records: List<ByteArray>): File {
            val file = File.createTempFile("earshot-bench", ".bin").apply { deleteOnExit() }
            java.io.DataOutputStream(file.outputStream().buffered()).use { out ->
                for (r in records) { out.writeInt(r.size); out.write(r) }
            }
            return file
        }
    }
}
