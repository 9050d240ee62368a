package dev.earshot.voice.dave

import io.kotest.assertions.throwables.shouldThrow
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.ints.shouldBeGreaterThan
import io.kotest.matchers.shouldBe

class DaveCodesSpec : FunSpec({
    test("known answers made by davey 0.1.12 (resource dave/davey-codes.json, from interop/dave-codes.mjs)") {
        val json = DaveCodesSpec::class.java.getResource("/dave/davey-codes.json")!!.readText()
        checkDaveCodes(json) shouldBeGreaterThan 20
    }

    test("displayable: groups are big-endian bytes modulo 10^groupSize, zero-padded") {
        // 00 00 00 00 01 -> 00001; 00 00 01 86 a0 (100000) -> 00000; ff x5 = 1099511627775 -> 27775.
        DaveCodes.displayable(hex("0000000001" + "00000186a0" + "ffffffffff"), 15) shouldBe "00001" + "00000" + "27775"
        DaveCodes.displayable(hex("0102"), 2, 1) shouldBe "12"
    }

    test("privacy code is 30 digits of the epoch authenticator") {
        val ea = ByteArray(32) { it.toByte() }
        DaveCodes.privacyCode(ea) shouldBe DaveCodes.displayable(ea, 30)
        DaveCodes.privacyCode(ea).length shouldBe 30
    }

    test("pairwise fingerprint is symmetric and depends on both keys and ids") {
        val ka = ByteArray(65) { 4 }
        val kb = ByteArray(65) { 5 }
        val ab = DaveCodes.pairwiseFingerprint(1L, ka, 2L, kb)
        DaveCodes.pairwiseFingerprint(2L, kb, 1L, ka) shouldBe ab
        (DaveCodes.pairwiseFingerprint(1L, ka, 3L, kb).contentEquals(ab)) shouldBe false
        DaveCodes.pairwiseCode(1L, ka, 2L, kb).length shouldBe 45
    }

    test("bad arguments are refused") {
        shouldThrow<IllegalArgumentException> { DaveCodes.displayable(ByteArray(10), 15) }
        shouldThrow<IllegalArgumentException> { DaveCodes.displayable(ByteArray(30), 31) }
        shouldThrow<IllegalArgumentException> { DaveCodes.displayable(ByteArray(30), 27, 9) }
        shouldThrow<IllegalArgumentException> { DaveCodes.displayable(ByteArray(30), 0) }
        shouldThrow<IllegalArgumentException> { DaveCodes.keyFingerprint(1L, ByteArray(0)) }
    }
})
