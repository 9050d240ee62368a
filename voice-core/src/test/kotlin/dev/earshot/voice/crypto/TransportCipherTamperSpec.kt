package dev.earshot.voice.crypto

import io.kotest.assertions.withClue
import io.kotest.core.spec.style.FunSpec
import io.kotest.datatest.withTests
import io.kotest.matchers.shouldBe
import java.util.Random

/** Forged, damaged and nonsensical input must yield -1, leave the packet unchanged, and never throw. */
class TransportCipherTamperSpec : FunSpec({
    for (mode in EncryptionMode.entries) {
        val vectors = CryptoVectors.load(mode)
        for ((impl, factory) in cipherFactories(mode)) {
            context("${mode.wireName} via $impl") {
                withTests(nameFn = { "${it.name}: flipping any bit of AAD, ciphertext, tag or nonce suffix fails" }, vectors) { v ->
                    val cipher = factory(v.key)
                    for (i in v.packet.indices) {
                        for (mask in intArrayOf(0x01, 0x80, 0xFF)) {
                            val bad = v.packet.copyOf().also { it[i] = (it[i].toInt() xor mask).toByte() }
                            val before = bad.copyOf()
                            withClue("byte $i ^ $mask") {
                                cipher.decrypt(bad, 0, bad.size, v.aadLength) shouldBe -1
                                bad shouldBe before
                            }
                        }
                    }
                    // The untouched packet still opens with the same instance: failures leave no bad state behind.
                    cipher.decrypt(v.packet.copyOf(), 0, v.packet.size, v.aadLength) shouldBe v.plaintext.size
                }
                withTests(nameFn = { "${it.name}: every truncation fails (0..24, aadLength + 19, all shorter prefixes)" }, vectors) { v ->
                    val cipher = factory(v.key)
                    val lengths = (0..24) + (v.aadLength + 19) + (0 until v.packet.size)
                    for (len in lengths.filter { it < v.packet.size }.distinct()) {
                        val prefix = v.packet.copyOf()
                        withClue("length $len") { cipher.decrypt(prefix, 0, len, v.aadLength) shouldBe -1 }
                        prefix shouldBe v.packet
                        // Dropping bytes from the front (a wrong offset) must fail too.
                        withClue("offset ${v.packet.size - len}") {
                            cipher.decrypt(prefix, v.packet.size - len, len, minOf(v.aadLength, len)) shouldBe -1
                        }
                    }
                }
                withTests(nameFn = { "${it.name}: wrong key, wrong AAD split and the other mode all fail" }, vectors) { v ->
                    val wrongKey = v.key.copyOf().also { it[31] = (it[31].toInt() xor 1).toByte() }
                    factory(wrongKey).decrypt(v.packet.copyOf(), 0, v.packet.size, v.aadLength) shouldBe -1
                    val cipher = factory(v.key)
                    for (aad in listOf(0, v.aadLength - 4, v.aadLength - 1, v.aadLength + 1, v.aadLength + 4)) {
                        if (aad >= 0) withClue("aadLength $aad") { cipher.decrypt(v.packet.copyOf(), 0, v.packet.size, aad) shouldBe -1 }
                    }
                    val other = EncryptionMode.entries.first { it != mode }
                    TransportCipher.create(other, v.key).decrypt(v.packet.copyOf(), 0, v.packet.size, v.aadLength) shouldBe -1
                }
                test("out-of-range arguments return -1 instead of throwing") {
                    val cipher = factory(ByteArray(32))
                    val p = ByteArray(64)
                    val cases = listOf(
                        intArrayOf(-1, 40, 12), intArrayOf(0, -1, 12), intArrayOf(0, 40, -1), intArrayOf(30, 40, 12),
                        intArrayOf(0, 65, 12), intArrayOf(Int.MAX_VALUE, 40, 12), intArrayOf(40, Int.MAX_VALUE, 12),
                        intArrayOf(0, 40, Int.MAX_VALUE), intArrayOf(0, 40, 21), intArrayOf(Int.MIN_VALUE, Int.MIN_VALUE, Int.MIN_VALUE),
                    )
                    for ((offset, length, aad) in cases) {
                        withClue("offset $offset length $length aad $aad") { cipher.decrypt(p, offset, length, aad) shouldBe -1 }
                    }
                    cipher.decrypt(ByteArray(0), 0, 0, 0) shouldBe -1
                }
                test("10k random inputs: always -1, never throws, never writes") {
                    val cipher = factory(ByteArray(32) { it.toByte() })
                    val rnd = Random(0x5EED_0000L + mode.ordinal * 10 + impl.length)
                    repeat(10_000) { i ->
                        val size = rnd.nextInt(300)
                        val buf = ByteArray(size).also { rnd.nextBytes(it) }
                        // Mostly plausible ranges, sometimes arbitrary ones, so both the checks and the AEAD are hit.
                        val offset = if (rnd.nextInt(8) == 0) rnd.nextInt() else rnd.nextInt(size + 1)
                        val length = if (rnd.nextInt(8) == 0) rnd.nextInt() else rnd.nextInt(size + 1 - offset.coerceIn(0, size))
                        val aad = if (rnd.nextInt(8) == 0) rnd.nextInt() else rnd.nextInt(80)
                        val before = buf.copyOf()
                        withClue("iteration $i: size $size offset $offset length $length aad $aad") {
                            cipher.decrypt(buf, offset, length, aad) shouldBe -1
                            buf shouldBe before
                        }
                    }
                }
            }
        }
    }
})
