package dev.earshot.voice.dave

import io.kotest.assertions.withClue
import io.kotest.matchers.shouldBe
import kotlinx.serialization.json.Json
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.int
import kotlinx.serialization.json.jsonArray
import kotlinx.serialization.json.jsonObject
import kotlinx.serialization.json.jsonPrimitive

/** Checks [DaveCodes] against known answers in the format `interop/dave-codes.mjs` prints; returns the case count. */
fun checkDaveCodes(json: String): Int {
    val root = Json.parseToJsonElement(json).jsonObject
    fun JsonObject.s(k: String) = getValue(k).jsonPrimitive.content
    var cases = 0
    for (e in root.getValue("displayable").jsonArray) {
        val o = e.jsonObject
        withClue("displayable ${o.s("data")} ${o.s("digits")}/${o.s("group_size")}") {
            DaveCodes.displayable(hex(o.s("data")), o.getValue("digits").jsonPrimitive.int, o.getValue("group_size").jsonPrimitive.int) shouldBe o.s("code")
        }
        cases++
    }
    for (e in root.getValue("key_fingerprints").jsonArray) {
        val o = e.jsonObject
        withClue("key fingerprint of ${o.s("user_id")}") {
            DaveCodes.keyFingerprint(o.s("user_id").toULong().toLong(), hex(o.s("key"))).hex() shouldBe o.s("fingerprint")
        }
        cases++
    }
    for (e in root.getValue("pairwise").jsonArray) {
        val o = e.jsonObject
        val local = o.s("local_user_id").toULong().toLong()
        val remote = o.s("remote_user_id").toULong().toLong()
        withClue("pairwise $local/$remote") {
            DaveCodes.pairwiseFingerprint(local, hex(o.s("local_key")), remote, hex(o.s("remote_key"))).hex() shouldBe o.s("fingerprint")
            DaveCodes.pairwiseCode(local, hex(o.s("local_key")), remote, hex(o.s("remote_key"))) shouldBe o.s("code")
        }
        cases++
    }
    return cases
}
