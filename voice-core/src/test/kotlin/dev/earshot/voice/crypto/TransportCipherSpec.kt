package dev.earshot.voice.crypto

import io.kotest.assertions.throwables.shouldThrow
import io.kotest.assertions.withClue
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe
import io.kotest.matchers.string.shouldContain
import io.kotest.matchers.string.shouldNotContain
import java.util.Random

class TransportCipherSpec : FunSpec({
    val allImplementations = EncryptionMode.entries.flatMap { mode -> cipherFactories(mode).map { (impl, f) -> Triple(mode, impl, f) } }

    test("create rejects keys that are not 32 bytes") {
        for (mode in EncryptionMode.entries) {
            for (size in listOf(0, 16, 24, 31, 33, 64)) {
                shouldThrow<IllegalArgumentException> { TransportCipher.create(mode, ByteArray(size)) }
            }
        }
    }

    test("createPair: the JDK AES-GCM pair shares one GHASH table; one side sealing on one thread while the other opens on another, both match unshared ciphers") {
        val key = ByteArray(32) { (it * 7 + 1).toByte() }
        val (receive, send) = TransportCipher.createPair(EncryptionMode.AEAD_AES256_GCM_RTPSIZE, key)
        val tableOf = { c: TransportCipher ->
            val f = JdkAesGcmCipher::class.java.getDeclaredField("gcm").apply { isAccessible = true }
            (f.get(c) as GcmCore).ghashTable
        }
        (tableOf(receive) === tableOf(send)) shouldBe true
        val aad = ByteArray(12).also { it[0] = 0x80.toByte() }
        val random = Random(5)
        val plains = List(20_000) { ByteArray(1 + random.nextInt(300)).also(random::nextBytes) }
        // Sealed beforehand by a cipher of its own, for the receiving side to open.
        val independent = TransportCipher.create(EncryptionMode.AEAD_AES256_GCM_RTPSIZE, key)
        val sealed = plains.mapIndexed { i, p ->
            ByteArray(aad.size + p.size + RtpsizeLayout.OVERHEAD).also { independent.encrypt(aad, 0, aad.size, p, 0, p.size, i, it, 0) }
        }
        val failures = java.util.concurrent.atomic.AtomicInteger()
        // Each cipher on its own thread, as a connection uses them (the receive loop and the sender), at the same time.
        val sender = Thread {
            val reference = TransportCipher.create(EncryptionMode.AEAD_AES256_GCM_RTPSIZE, key)
            plains.forEachIndexed { i, p ->
                val out = ByteArray(aad.size + p.size + RtpsizeLayout.OVERHEAD)
                val expected = out.copyOf()
                send.encrypt(aad, 0, aad.size, p, 0, p.size, i + 1_000_000, out, 0)
                reference.encrypt(aad, 0, aad.size, p, 0, p.size, i + 1_000_000, expected, 0)
                if (!out.contentEquals(expected)) failures.incrementAndGet()
            }
        }
        val receiver = Thread {
            sealed.forEachIndexed { i, d ->
                val packet = d.copyOf()
                val n = receive.decrypt(packet, 0, packet.size, aad.size)
                if (n != plains[i].size || !packet.copyOfRange(aad.size, aad.size + n).contentEquals(plains[i])) failures.incrementAndGet()
            }
        }
        listOf(sender, receiver).forEach { it.start() }
        listOf(sender, receiver).forEach { it.join() }
        failures.get() shouldBe 0
        // XChaCha20 pairs are two independent ciphers.
        val (x, y) = TransportCipher.createPair(EncryptionMode.AEAD_XCHACHA20_POLY1305_RTPSIZE, key)
        (x === y) shouldBe false
    }

    test("create uses the JDK for AES-GCM by default, libsodium when the provider property asks for it and has AES-GCM") {
        val property = TransportCipher.AES_GCM_PROVIDER_PROPERTY
        val before = System.getProperty(property)
        try {
            System.clearProperty(property)
            TransportCipher.create(EncryptionMode.AEAD_AES256_GCM_RTPSIZE, ByteArray(32)).toString() shouldContain "JDK"
            System.setProperty(property, " LibSodium ")
            val asked = if (Sodium.aesGcmAvailable) "libsodium" else "JDK"
            TransportCipher.create(EncryptionMode.AEAD_AES256_GCM_RTPSIZE, ByteArray(32)).toString() shouldContain asked
            System.setProperty(property, "jdk")
            TransportCipher.create(EncryptionMode.AEAD_AES256_GCM_RTPSIZE, ByteArray(32)).toString() shouldContain "JDK"
            System.setProperty(property, "something-else")
            TransportCipher.create(EncryptionMode.AEAD_AES256_GCM_RTPSIZE, ByteArray(32)).toString() shouldContain "JDK"
        } finally {
            if (before == null) System.clearProperty(property) else System.setProperty(property, before)
        }
    }

    test("create runs XChaCha20 on the JVM by default, on libsodium when the provider property asks for it") {
        val property = TransportCipher.XCHACHA_PROVIDER_PROPERTY
        val before = System.getProperty(property)
        fun created() = TransportCipher.create(EncryptionMode.AEAD_XCHACHA20_POLY1305_RTPSIZE, ByteArray(32)).toString()
        try {
            System.clearProperty(property)
            created() shouldContain "JVM"
            System.setProperty(property, " LibSodium ")
            created() shouldContain (if (Sodium.bindings != null) "libsodium" else "JVM")
            System.setProperty(property, "jvm")
            created() shouldContain "JVM"
            System.setProperty(property, "something-else")
            created() shouldContain "JVM"
        } finally {
            if (before == null) System.clearProperty(property) else System.setProperty(property, before)
        }
    }

    test("every implementation reports its mode, and toString never reveals the key") {
        val key = ByteArray(32) { (0xA0 + it).toByte() }
        for ((mode, impl, factory) in allImplementations) {
            val cipher = factory(key)
            cipher.mode shouldBe mode
            val text = cipher.toString()
            text shouldContain mode.wireName
            text.lowercase() shouldNotContain key.joinToString("") { "%02x".format(it) }.substring(0, 8)
            text shouldNotContain key.joinToString(", ").substring(0, 12)
            withClue(impl) { text shouldNotContain "@" }
        }
    }

    test("the cipher keeps its own copy of the key") {
        for (mode in EncryptionMode.entries) {
            val vector = CryptoVectors.load(mode).first()
            for ((impl, factory) in cipherFactories(mode)) {
                val key = vector.key.copyOf()
                val cipher = factory(key)
                key.fill(0)
                withClue("$mode $impl") {
                    cipher.decrypt(vector.packet.copyOf(), 0, vector.packet.size, vector.aadLength) shouldBe vector.plaintext.size
                }
            }
        }
    }

    test("encrypt rejects bad ranges and a too-small output as caller bugs") {
        for ((_, _, factory) in allImplementations) {
            val cipher = factory(ByteArray(32))
            val aad = ByteArray(12)
            val plain = ByteArray(10)
            shouldThrow<IllegalArgumentException> { cipher.encrypt(aad, 0, 12, plain, 0, 10, 0, ByteArray(41), 0) }
            shouldThrow<IllegalArgumentException> { cipher.encrypt(aad, 0, 12, plain, 0, 10, 0, ByteArray(42), 1) }
            shouldThrow<IllegalArgumentException> { cipher.encrypt(aad, 1, 12, plain, 0, 10, 0, ByteArray(64), 0) }
            shouldThrow<IllegalArgumentException> { cipher.encrypt(aad, 0, 12, plain, -1, 10, 0, ByteArray(64), 0) }
            shouldThrow<IllegalArgumentException> { cipher.encrypt(aad, 0, 12, plain, 0, Int.MAX_VALUE, 0, ByteArray(64), 0) }
            cipher.encrypt(aad, 0, 12, plain, 0, 10, 0, ByteArray(42), 0) shouldBe 42
        }
    }

    test("random round trips agree across every implementation of a mode (incl. oversized packets)") {
        val rnd = Random(20261121L)
        for (mode in EncryptionMode.entries) {
            val impls = cipherFactories(mode)
            repeat(500) { i ->
                val key = ByteArray(32).also { rnd.nextBytes(it) }
                // Occasionally longer than any RTP header, to exercise growth of the AAD buffer too.
                val aad = ByteArray(if (i % 50 == 1) 129 + rnd.nextInt(200) else rnd.nextInt(90)).also { rnd.nextBytes(it) }
                // Mostly datagram-sized, occasionally beyond the 2048-byte scratch buffers to exercise growth.
                val plain = ByteArray(if (i % 50 == 0) 2048 + rnd.nextInt(3000) else rnd.nextInt(1500)).also { rnd.nextBytes(it) }
                val nonce = rnd.nextInt()
                val packets = impls.map { (_, f) ->
                    val out = ByteArray(aad.size + plain.size + RtpsizeLayout.OVERHEAD)
                    f(key).encrypt(aad, 0, aad.size, plain, 0, plain.size, nonce, out, 0) shouldBe out.size
                    out
                }
                for (p in packets) p shouldBe packets.first()
                for ((impl, f) in impls) {
                    val copy = packets.first().copyOf()
                    withClue("$mode via $impl, iteration $i") {
                        f(key).decrypt(copy, 0, copy.size, aad.size) shouldBe plain.size
                        copy.copyOfRange(aad.size, aad.size + plain.size) shouldBe plain
                    }
                }
            }
        }
    }
})
