package dev.earshot.voice.dave.mls

import dev.earshot.voice.dave.mls.DaveTestCrypto.hex
import dev.earshot.voice.dave.mls.FakeDaveGateway.Companion.splitCommitWelcome
import io.kotest.core.spec.style.FunSpec
import io.kotest.core.test.Enabled
import io.kotest.matchers.shouldBe
import java.io.File
import kotlinx.serialization.json.Json
import kotlinx.serialization.json.JsonArray
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.JsonPrimitive

/**
 * Writes `src/test/resources/dave/davey-frames.json` (read by [DaveyFramesKatSpec] and the frame layer's tests):
 * Opus frames encrypted by davey 0.1.12 sessions in a group with Earshot, each with the base secret Earshot's MLS
 * exported for the sender. Runs only with EARSHOT_REGENERATE_DAVE_KAT=1 (and node); the file is committed.
 */
class DaveyFramesKatGeneratorSpec : FunSpec({
    val enabled = if (System.getenv("EARSHOT_REGENERATE_DAVE_KAT") == "1") DaveyPeer.enabledOrReason
    else Enabled.disabled("set EARSHOT_REGENERATE_DAVE_KAT=1 to regenerate dave/davey-frames.json")

    test("regenerate davey-frames.json").config(enabledOrReasonIf = { enabled }) {
        DaveyPeer.start().use { davey ->
            val channel = 927310423890473011L
            val gw = FakeDaveGateway(channel)
            val a = davey.session("A", 1000, channel).apply { setExternalSender(gw.externalSender) }
            val c = davey.session("C", 1002, channel).apply { setExternalSender(gw.externalSender) }
            val vectors = ArrayList<JsonObject>()
            DaveMlsGroup(1001, channel).use { e ->
                val kp = e.reset()
                e.setExternalSender(gw.externalSender)
                val (commit1, welcome1) = a.processProposals(0, gw.vector(gw.add(kp, 0)), listOf(1000L, 1001L))
                a.processCommit(commit1!!)
                e.processWelcome(welcome1!!, setOf(1000L))

                fun record(s: DaveyPeer.Session, sizes: List<Int>) {
                    val base = e.exportSenderBaseSecret(s.userId)
                    for (size in sizes) {
                        val plain = if (size == 0) DaveTestCrypto.hex("f8fffe") else DaveyInteropSpec.randomOpus(size)
                        val frame = s.encryptOpus(plain)
                        vectors += JsonObject(mapOf(
                            "user_id" to JsonPrimitive(s.userId.toString()),
                            "base_secret" to JsonPrimitive(hex(base)), "plaintext" to JsonPrimitive(hex(plain)),
                            "frame" to JsonPrimitive(hex(frame)),
                        ))
                    }
                }
                record(a, listOf(3, 0, 10, 40, 64, 80, 120, 160, 200, 7, 33))

                // Earshot's commit adds C: epoch 2, frames from A and C.
                val addC = gw.add(c.keyPackage(), 1)
                a.processProposals(0, gw.vector(addC), listOf(1000L, 1001L, 1002L))
                val (commit2, welcome2) = splitCommitWelcome(e.processProposals(gw.append(addC), setOf(1000L, 1002L))!!)
                e.processCommit(commit2)
                a.processCommit(commit2)
                c.processWelcome(welcome2!!)
                record(c, listOf(3, 0, 20, 57, 99, 150, 200))
                record(a, listOf(12, 88, 190))
            }
            val json = JsonObject(mapOf(
                "made_by" to JsonPrimitive(
                    "DaveyFramesKatGeneratorSpec: @snazzah/davey ${davey.version} sessions (users 1000 and 1002) in an MLS group " +
                        "with Earshot's DaveMlsGroup (user 1001, BouncyCastle bcmls 1.84) and a test gateway; frame = davey " +
                        "encryptOpus(plaintext); vectors 1-11 are user 1000 at epoch 1 (davey made the group, Earshot joined by " +
                        "Welcome), 12-21 are users 1002 then 1000 at epoch 2 (Earshot's commit added 1002); base_secret = MLS-Exporter(\"Discord Secure Frames v0\", LE64(user_id), 16) " +
                        "exported by Earshot. Plaintext f8fffe is the Opus silence frame, which davey passes through unencrypted " +
                        "(frame == plaintext).",
                ),
                "davey_version" to JsonPrimitive(davey.version),
                "vectors" to JsonArray(vectors),
            ))
            davey.version shouldBe "0.1.12"
            val file = File("src/test/resources/dave/davey-frames.json")
            file.parentFile.mkdirs()
            file.writeText(Json { prettyPrint = true }.encodeToString(JsonObject.serializer(), json) + "\n")
            println("wrote ${vectors.size} vectors to ${file.absolutePath}")
        }
    }
})
