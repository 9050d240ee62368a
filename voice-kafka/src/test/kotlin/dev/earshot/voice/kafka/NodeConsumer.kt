package dev.earshot.voice.kafka

import kotlinx.serialization.json.Json
import kotlinx.serialization.json.jsonObject
import kotlinx.serialization.json.jsonPrimitive
import org.apache.kafka.clients.consumer.ConsumerRecord
import java.io.File
import java.nio.ByteBuffer
import java.nio.ByteOrder
import java.security.MessageDigest
import java.util.concurrent.TimeUnit

/**
 * The node consumer (`src/test/node/consume.mjs`, kafkajs pinned by its lockfile) and the same per-record summary
 * computed here from the JVM's reading of the records, so the spec can compare the two readings line for line.
 */
object NodeConsumer {
    private val dir = File("src/test/node").absoluteFile
    var why: String = ""
        private set

    /** The directory with node_modules, or null (and [why]) when node or `npm ci` is missing. */
    fun available(): File? {
        val node = runCatching { ProcessBuilder("node", "--version").start().waitFor(10, TimeUnit.SECONDS) }.getOrDefault(false)
        if (!node) {
            why = "no node on the PATH"
            return null
        }
        if (!File(dir, "node_modules/kafkajs").isDirectory) {
            why = "run `npm ci` in voice-kafka/src/test/node"
            return null
        }
        return dir
    }

    fun run(bootstrap: String, topic: String): List<String> {
        val p = ProcessBuilder("node", "consume.mjs", bootstrap, topic).directory(dir)
            .redirectError(ProcessBuilder.Redirect.INHERIT).start()
        val out = p.inputStream.bufferedReader().readLines()
        check(p.waitFor(90, TimeUnit.SECONDS) && p.exitValue() == 0) { "the node consumer failed (exit ${p.exitValue()})" }
        return out
    }

    private fun sha(bytes: ByteArray): String =
        MessageDigest.getInstance("SHA-256").digest(bytes).joinToString("") { "%02x".format(it) }.take(16)

    /** The lines `consume.mjs` prints, computed from [records] with the JVM reader ([VoiceRecords]). */
    fun summarise(records: List<ConsumerRecord<String, ByteArray>>): List<String> = records.map { r ->
        fun text(name: String) = r.headers().lastHeader(name)?.value()?.toString(Charsets.UTF_8) ?: ""
        val type = text(VoiceRecords.H_TYPE)
        val head = listOf(
            r.partition(), r.offset(), r.key(), type, text(VoiceRecords.H_SESSION), text(VoiceRecords.H_SEQ),
            text(VoiceRecords.H_GUILD), text(VoiceRecords.H_CHANNEL), text(VoiceRecords.H_USER), text(VoiceRecords.H_SSRC),
            text(VoiceRecords.H_TICK), text(VoiceRecords.H_WALLCLOCK),
        ).joinToString("|")
        if (type == VoiceRecords.T_AUDIO) {
            val frames = VoiceRecords.readFrames(r.value()).map { d ->
                val f = d.frame
                val packets = listOfNotNull(f.opus) + f.extraOpus
                val pcm = f.pcm ?: ShortArray(0)
                val pcmBytes = ByteBuffer.allocate(pcm.size * 2).order(ByteOrder.LITTLE_ENDIAN).also { b -> pcm.forEach { b.putShort(it) } }.array()
                listOf(
                    f.tick, d.wallclockMs, f.ssrc, f.sequence, f.rtpTimestamp, VoiceRecords.kindCode(f.kind), f.audioLevel,
                    f.speakerFlags, f.userId ?: 0, packets.joinToString("/") { it.size.toString() },
                    sha(packets.fold(ByteArray(0)) { a, b -> a + b }), pcm.size, pcm.firstOrNull() ?: 0, sha(pcmBytes),
                ).joinToString(":")
            }
            "$head|${text(VoiceRecords.H_FORMAT)}|${frames.joinToString(",")}"
        } else {
            val json = Json.parseToJsonElement(r.value().toString(Charsets.UTF_8)).jsonObject
            "$head|" + json.keys.sorted().joinToString(";") { "$it=${json.getValue(it).jsonPrimitive.content}" }
        }
    }
}
