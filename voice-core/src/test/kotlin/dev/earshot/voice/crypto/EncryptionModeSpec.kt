package dev.earshot.voice.crypto

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe

class EncryptionModeSpec : FunSpec({
    val aes = "aead_aes256_gcm_rtpsize"
    val xchacha = "aead_xchacha20_poly1305_rtpsize"
    val legacy = listOf("xsalsa20_poly1305_lite_rtpsize", "aead_aes256_gcm", "xsalsa20_poly1305", "xsalsa20_poly1305_suffix", "xsalsa20_poly1305_lite")

    test("wire names are Discord's mode strings") {
        EncryptionMode.AEAD_AES256_GCM_RTPSIZE.wireName shouldBe aes
        EncryptionMode.AEAD_XCHACHA20_POLY1305_RTPSIZE.wireName shouldBe xchacha
    }

    test("fromWireName knows the live modes only, matched exactly") {
        EncryptionMode.fromWireName(aes) shouldBe EncryptionMode.AEAD_AES256_GCM_RTPSIZE
        EncryptionMode.fromWireName(xchacha) shouldBe EncryptionMode.AEAD_XCHACHA20_POLY1305_RTPSIZE
        for (name in legacy + listOf("", "AEAD_AES256_GCM_RTPSIZE", " $aes")) EncryptionMode.fromWireName(name) shouldBe null
    }

    test("both modes are usable in this build environment") {
        EncryptionMode.AEAD_AES256_GCM_RTPSIZE.isAvailable shouldBe true
        EncryptionMode.AEAD_XCHACHA20_POLY1305_RTPSIZE.isAvailable shouldBe true
    }

    test("choose prefers AES-GCM regardless of the order offered") {
        EncryptionMode.choose(listOf(aes, xchacha)) shouldBe EncryptionMode.AEAD_AES256_GCM_RTPSIZE
        EncryptionMode.choose(legacy + listOf(xchacha, aes)) shouldBe EncryptionMode.AEAD_AES256_GCM_RTPSIZE
    }

    test("choose falls back to XChaCha20 when AES-GCM is not offered") {
        EncryptionMode.choose(listOf(xchacha)) shouldBe EncryptionMode.AEAD_XCHACHA20_POLY1305_RTPSIZE
        EncryptionMode.choose(legacy + xchacha) shouldBe EncryptionMode.AEAD_XCHACHA20_POLY1305_RTPSIZE
    }

    test("choose returns null when neither live mode is offered") {
        EncryptionMode.choose(emptyList()) shouldBe null
        EncryptionMode.choose(legacy) shouldBe null
        EncryptionMode.choose(setOf("AEAD_AES256_GCM_RTPSIZE")) shouldBe null
    }
})
