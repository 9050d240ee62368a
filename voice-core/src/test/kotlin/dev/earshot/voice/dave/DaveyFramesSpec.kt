package dev.earshot.voice.dave

import io.kotest.assertions.withClue
import io.kotest.core.spec.style.FunSpec
import io.kotest.core.test.Enabled
import io.kotest.matchers.ints.shouldBeGreaterThan
import io.kotest.matchers.shouldBe
import kotlinx.serialization.json.Json
import kotlinx.serialization.json.jsonArray
import kotlinx.serialization.json.jsonObject
import kotlinx.serialization.json.jsonPrimitive

/**
 * Known answers for frames encrypted by davey's `encryptOpus`, from `dave/davey-frames.json`:
 * `{ made_by, davey_version, vectors: [ { user_id, base_secret (16 bytes hex), plaintext, frame } ] }`.
 * The file comes from a helper that runs a davey MLS session; until it exists, this spec is skipped.
 */
class DaveyFramesSpec : FunSpec({
    val resource = DaveyFramesSpec::class.java.getResource(RESOURCE)
    val enabled = if (resource != null) Enabled.enabled else Enabled.disabled("skipping davey frame vectors: $RESOURCE is not there yet").also { println(it.reason) }

    test("every davey frame decrypts to its plaintext with a fresh decryptor and ratchet").config(enabledOrReasonIf = { enabled }) {
        val root = Json.parseToJsonElement(resource!!.readText()).jsonObject
        val vectors = root.getValue("vectors").jsonArray
        vectors.size shouldBeGreaterThan 0
        for ((i, v) in vectors.withIndex()) {
            val o = v.jsonObject
            val base = hex(o.getValue("base_secret").jsonPrimitive.content)
            val plain = hex(o.getValue("plaintext").jsonPrimitive.content)
            val frame = hex(o.getValue("frame").jsonPrimitive.content)
            withClue("vector $i (user ${o.getValue("user_id").jsonPrimitive.content})") {
                base.size shouldBe 16
                // An old clock, so that the ratchet-age limit never refuses a later generation.
                val clock = ManualClock()
                val d = DaveDecryptor(clock).apply { transitionToKeyRatchet(DaveKeyRatchet(base)) }
                clock.advanceSeconds(400.0 * 86_400)
                val out = ByteArray(frame.size)
                val n = d.decrypt(frame, 0, frame.size, out, 0)
                withClue(d.stats.toString()) { out.copyOf(maxOf(n, 0)) shouldBe plain }
            }
        }
    }

    test("our encryptor reproduces every davey frame byte for byte at the same nonce").config(enabledOrReasonIf = { enabled }) {
        val root = Json.parseToJsonElement(resource!!.readText()).jsonObject
        for ((i, v) in root.getValue("vectors").jsonArray.withIndex()) {
            val o = v.jsonObject
            val plain = hex(o.getValue("plaintext").jsonPrimitive.content)
            val frame = hex(o.getValue("frame").jsonPrimitive.content)
            val view = DaveFrameView()
            withClue("vector $i") {
                val enc = DaveEncryptor().apply { setKeyRatchet(DaveKeyRatchet(hex(o.getValue("base_secret").jsonPrimitive.content))) }
                // davey passes the Opus silence frame through unencrypted, and so must we.
                val silence = isSilenceFrame(plain, 0, plain.size)
                view.parse(frame, 0, frame.size) shouldBe !silence
                if (!silence) enc.skipToNonce(view.truncatedNonce)
                val out = ByteArray(enc.maxEncryptedSize(plain.size))
                val n = enc.encryptOpus(plain, 0, plain.size, out)
                out.copyOf(maxOf(n, 0)).hex() shouldBe frame.hex()
            }
        }
    }
}) {
    companion object {
        const val RESOURCE: String = "/dave/davey-frames.json"
    }
}
