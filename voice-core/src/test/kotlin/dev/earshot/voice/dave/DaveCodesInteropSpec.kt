package dev.earshot.voice.dave

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.ints.shouldBeGreaterThan
import io.kotest.matchers.shouldBe
import kotlin.time.Duration.Companion.seconds

/** Runs davey (node) now and compares its verification codes with [DaveCodes] and with the stored resource. */
class DaveCodesInteropSpec : FunSpec({
    test("davey's generateDisplayableCode / generateKeyFingerprint / generatePairwiseFingerprint equal DaveCodes")
        .config(enabledOrReasonIf = { DaveyNode.enabledOrReason }, timeout = 90.seconds) {
            val live = DaveyNode.run("dave-codes.mjs")
            checkDaveCodes(live) shouldBeGreaterThan 20
            // The stored vectors are exactly what the pinned davey prints.
            val stored = DaveCodesInteropSpec::class.java.getResource("/dave/davey-codes.json")!!.readText()
            live.trim() shouldBe stored.trim()
        }
})
