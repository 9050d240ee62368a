package dev.earshot.voice.crypto

import io.kotest.core.spec.style.FunSpec
import io.kotest.datatest.withTests
import io.kotest.matchers.collections.shouldContainExactly
import io.kotest.matchers.shouldBe
import io.kotest.matchers.shouldNotBe

/** Known-answer tests against packets made by node:crypto, @noble/ciphers and libsodium-wrappers (tools/vectors). */
class TransportCipherVectorsSpec : FunSpec({
    val expectedCases = listOf("rtp-ext1", "rtp-ext2", "rtp-noext", "rtp-padding", "rtp-csrc", "rtp-empty", "rtp-large", "rtcp-rr")

    test("libsodium loads here (system library or lazysodium's bundled copy)") {
        Sodium.loadFailure shouldBe null
        Sodium.bindings shouldNotBe null
    }

    for (mode in EncryptionMode.entries) {
        val vectors = CryptoVectors.load(mode)

        context("${mode.wireName} vector file") {
            test("holds every layout case") {
                vectors.map { it.name } shouldContainExactly expectedCases
            }
            withTests(nameFn = { "${it.name}: layout is AAD | ciphertext | tag | BE nonce, AAD as the header says" }, vectors) { v ->
                v.packet.size shouldBe v.aadLength + v.plaintext.size + RtpsizeLayout.OVERHEAD
                val n = v.packet.size
                val suffix = (v.packet[n - 4].toInt() and 0xFF shl 24) or (v.packet[n - 3].toInt() and 0xFF shl 16) or
                    (v.packet[n - 2].toInt() and 0xFF shl 8) or (v.packet[n - 1].toInt() and 0xFF)
                suffix shouldBe v.nonce
                val expectedAad = if (v.name.startsWith("rtcp")) RtpsizeLayout.RTCP_AAD_LENGTH
                else RtpsizeLayout.rtpAadLength(v.packet, 0, n)
                v.aadLength shouldBe expectedAad
            }
        }

        for ((impl, factory) in cipherFactories(mode)) {
            context("${mode.wireName} via $impl") {
                withTests(nameFn = { "decrypts ${it.name} to the stored plaintext" }, vectors) { v ->
                    val cipher = factory(v.key)
                    // Embed the packet at an odd offset between sentinel bytes to prove offsets are honoured.
                    val at = 7
                    val buf = ByteArray(at + v.packet.size + 5) { 0x5A }
                    v.packet.copyInto(buf, at)
                    cipher.decrypt(buf, at, v.packet.size, v.aadLength) shouldBe v.plaintext.size
                    buf.copyOfRange(at + v.aadLength, at + v.aadLength + v.plaintext.size) shouldBe v.plaintext
                    buf.copyOfRange(at, at + v.aadLength) shouldBe v.packet.copyOfRange(0, v.aadLength)
                    buf.copyOfRange(0, at).all { it == 0x5A.toByte() } shouldBe true
                    buf.copyOfRange(at + v.packet.size, buf.size).all { it == 0x5A.toByte() } shouldBe true
                }
                withTests(nameFn = { "encrypts ${it.name} with its nonce to the stored packet" }, vectors) { v ->
                    val cipher = factory(v.key)
                    val at = 3
                    val out = ByteArray(at + v.packet.size + 9) { 0x33 }
                    val plainAt = 2
                    val plain = ByteArray(plainAt + v.plaintext.size + 1).also { v.plaintext.copyInto(it, plainAt) }
                    cipher.encrypt(v.packet, 0, v.aadLength, plain, plainAt, v.plaintext.size, v.nonce, out, at) shouldBe v.packet.size
                    out.copyOfRange(at, at + v.packet.size) shouldBe v.packet
                    out.copyOfRange(0, at).all { it == 0x33.toByte() } shouldBe true
                    out.copyOfRange(at + v.packet.size, out.size).all { it == 0x33.toByte() } shouldBe true
                }
                withTests(nameFn = { "encrypts ${it.name} in place (out aliases aad and plain)" }, vectors) { v ->
                    val cipher = factory(v.key)
                    // Sender's natural layout: header and plaintext already sit where the packet goes.
                    val buf = ByteArray(v.packet.size)
                    v.packet.copyInto(buf, 0, 0, v.aadLength)
                    v.plaintext.copyInto(buf, v.aadLength)
                    cipher.encrypt(buf, 0, v.aadLength, buf, v.aadLength, v.plaintext.size, v.nonce, buf, 0) shouldBe v.packet.size
                    buf shouldBe v.packet
                }
            }
        }
    }
})
