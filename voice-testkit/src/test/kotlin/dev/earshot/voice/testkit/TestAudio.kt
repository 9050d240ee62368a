package dev.earshot.voice.testkit

import dev.earshot.voice.files.OggOpusReader
import dev.earshot.voice.files.OggOpusStream
import java.nio.file.Files
import java.nio.file.Path

/** voice-core's speech test files (from its test jar), copied to temp files once so scripts and node can read them. */
object TestAudio {
    private val files = HashMap<String, Path>()

    @Synchronized
    fun file(name: String): Path = files.getOrPut(name) {
        val input = TestAudio::class.java.getResourceAsStream("/audio/$name") ?: error("no test resource /audio/$name")
        val f = Files.createTempFile("earshot-testkit-", "-$name")
        f.toFile().deleteOnExit()
        input.use { Files.copy(it, f, java.nio.file.StandardCopyOption.REPLACE_EXISTING) }
        f
    }

    fun stream(name: String): OggOpusStream = OggOpusReader.read(file(name))
}
