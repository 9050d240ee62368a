package dev.earshot.voice.dave.mls

import dev.earshot.voice.dave.DaveyNode
import io.kotest.core.test.Enabled
import java.util.HexFormat
import java.util.concurrent.TimeUnit
import kotlinx.serialization.json.Json
import kotlinx.serialization.json.JsonArray
import kotlinx.serialization.json.JsonElement
import kotlinx.serialization.json.JsonNull
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.JsonPrimitive
import kotlinx.serialization.json.buildJsonObject
import kotlinx.serialization.json.jsonObject
import kotlinx.serialization.json.jsonPrimitive
import kotlinx.serialization.json.put

/**
 * Runs `interop/davey-rpc.mjs` and drives named @snazzah/davey DAVESession instances through it: an independent
 * (Rust/OpenMLS) DAVE implementation to check [DaveMlsGroup] against. One request at a time.
 */
class DaveyPeer private constructor(private val process: Process) : AutoCloseable {
    private val writer = process.outputStream.bufferedWriter()
    private val reader = process.inputStream.bufferedReader()
    private val stderr = StringBuffer()
    private var nextId = 1

    init {
        Thread({ process.errorStream.bufferedReader().forEachLine { stderr.append(it).append('\n') } }, "davey-stderr")
            .apply { isDaemon = true; start() }
    }

    /** A failed davey call (davey threw); [message] is davey's error text. */
    class DaveyError(message: String) : Exception(message)

    /** Sends one command and returns davey's reply; throws [DaveyError] when davey refused it. */
    @Synchronized
    fun call(cmd: String, session: String? = null, fields: Map<String, Any?> = emptyMap()): JsonObject {
        val id = nextId++
        val request = buildJsonObject {
            put("id", id)
            put("cmd", cmd)
            if (session != null) put("session", session)
            for ((k, v) in fields) put(k, toJson(v))
        }
        writer.write(request.toString())
        writer.newLine()
        writer.flush()
        val line = reader.readLine() ?: throw AssertionError("davey-rpc exited; stderr:\n$stderr")
        val reply = Json.parseToJsonElement(line).jsonObject
        check(reply["id"]?.jsonPrimitive?.content == id.toString()) { "reply out of order: $line" }
        if (reply["ok"]?.jsonPrimitive?.content != "true") throw DaveyError(reply["error"]?.jsonPrimitive?.content ?: line)
        return reply
    }

    /** davey's package version. */
    val version: String get() = call("ready").str("version")!!

    /** Creates davey session [name] for [userId] in [channelId] (protocol version 1). */
    fun session(name: String, userId: Long, channelId: Long): Session {
        call("new", name, mapOf("userId" to userId.toString(), "channelId" to channelId.toString()))
        return Session(name, userId)
    }

    /** What davey reports about a session. */
    data class Status(
        val status: Int, val ready: Boolean, val epoch: Long?, val privacyCode: String,
        val epochAuthenticator: ByteArray?, val userIds: Set<Long>, val ownLeafIndex: Int?,
    )

    /** One davey DAVESession. */
    inner class Session(val name: String, val userId: Long) {
        fun setExternalSender(payload: ByteArray) { call("setExternalSender", name, mapOf("hex" to payload)) }
        fun keyPackage(): ByteArray = call("getSerializedKeyPackage", name).bytes("hex")!!

        /** davey's processProposals: [opType] apart, [vector] including its varint length. Returns (commit, welcome). */
        fun processProposals(opType: Int, vector: ByteArray, recognized: Collection<Long>?): Pair<ByteArray?, ByteArray?> {
            val r = call("processProposals", name, mapOf("opType" to opType, "hex" to vector, "recognized" to recognized?.map { it.toString() }))
            return r.bytes("commit") to r.bytes("welcome")
        }

        fun processCommit(commit: ByteArray) { call("processCommit", name, mapOf("hex" to commit)) }
        fun processWelcome(welcome: ByteArray) { call("processWelcome", name, mapOf("hex" to welcome)) }
        fun encryptOpus(plaintext: ByteArray): ByteArray = call("encryptOpus", name, mapOf("hex" to plaintext)).bytes("hex")!!
        fun decrypt(fromUser: Long, frame: ByteArray): ByteArray =
            call("decrypt", name, mapOf("userId" to fromUser.toString(), "hex" to frame)).bytes("hex")!!
        fun verificationCode(otherUser: Long): String =
            call("getVerificationCode", name, mapOf("userId" to otherUser.toString())).str("code")!!

        fun status(): Status {
            val r = call("status", name)
            return Status(
                status = r.str("status")!!.toInt(),
                ready = r.str("ready") == "true",
                epoch = r.str("epoch")?.toLong(),
                privacyCode = r.str("voicePrivacyCode").orEmpty(),
                epochAuthenticator = r.bytes("epochAuthenticator"),
                userIds = (r["userIds"] as JsonArray).map { it.jsonPrimitive.content.toLong() }.toSet(),
                ownLeafIndex = r.str("ownLeafIndex")?.toInt(),
            )
        }

        fun close() { call("close", name) }
    }

    override fun close() {
        runCatching { writer.close() }
        if (!process.waitFor(5, TimeUnit.SECONDS)) process.destroyForcibly()
    }

    companion object {
        private val HEX = HexFormat.of()

        /** Whether davey interop tests run (node and the pinned packages found; see [DaveyNode]). */
        val enabledOrReason: Enabled get() = DaveyNode.enabledOrReason

        /** Starts the RPC process. */
        fun start(): DaveyPeer {
            DaveyNode.unavailableReason?.let { throw AssertionError("cannot run davey: $it") }
            val pb = ProcessBuilder("node", "davey-rpc.mjs").directory(DaveyNode.interopDir)
            pb.environment()["NODE_NO_WARNINGS"] = "1"
            return DaveyPeer(pb.start())
        }

        private fun toJson(v: Any?): JsonElement = when (v) {
            null -> JsonNull
            is ByteArray -> JsonPrimitive(HEX.formatHex(v))
            is Number -> JsonPrimitive(v)
            is Boolean -> JsonPrimitive(v)
            is String -> JsonPrimitive(v)
            is Collection<*> -> JsonArray(v.map(::toJson))
            else -> error("cannot send $v")
        }

        private fun JsonObject.str(key: String): String? = (this[key] as? JsonPrimitive)?.takeUnless { it is JsonNull }?.content
        private fun JsonObject.bytes(key: String): ByteArray? = str(key)?.let(HEX::parseHex)
    }
}
