package dev.earshot.voice.crypto

import io.kotest.assertions.throwables.shouldThrow
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe
import io.kotest.matchers.string.shouldContain
import java.io.File
import java.lang.reflect.InvocationTargetException
import java.net.URLClassLoader

/**
 * Which classes an AES-GCM connection loads, seen from a class loader of its own (the test JVM has long loaded
 * libsodium for other specs): the JDK-based AES-GCM cipher (the default, or `earshot.crypto.aesgcm=jdk`) must not
 * load JNA or lazysodium, and with both jars absent AES-GCM still works (on the JDK) while XChaCha20 fails with a message naming
 * the missing dependency.
 */
class CipherClassLoadingSpec : FunSpec({
    val classPath = System.getProperty("java.class.path").split(File.pathSeparator).map { File(it).toURI().toURL() }

    /** Loads everything itself (parent: the platform loader); [hidden] packages cannot be found at all. */
    class IsolatedLoader(private val hidden: List<String>) :
        URLClassLoader(classPath.toTypedArray(), ClassLoader.getPlatformClassLoader()) {
        fun loaded(name: String): Boolean = findLoadedClass(name) != null

        override fun loadClass(name: String, resolve: Boolean): Class<*> {
            if (hidden.any { name.startsWith(it) }) throw ClassNotFoundException(name)
            return super.loadClass(name, resolve)
        }
    }

    /** Encrypts and decrypts one packet with [modeName] through [loader]'s own copy of TransportCipher. */
    fun roundTrip(loader: ClassLoader, modeName: String): String {
        val modeClass = Class.forName("dev.earshot.voice.crypto.EncryptionMode", true, loader)
        val mode = modeClass.enumConstants.single { (it as Enum<*>).name == modeName }
        val companion = Class.forName("dev.earshot.voice.crypto.TransportCipher", true, loader).getField("Companion").get(null)
        val create = companion.javaClass.getMethod("create", modeClass, ByteArray::class.java)
        val cipher = create.invoke(companion, mode, ByteArray(32) { it.toByte() })
        val aad = ByteArray(12) { 0x80.toByte() }
        val plain = ByteArray(40) { (it * 3).toByte() }
        val packet = ByteArray(aad.size + plain.size + RtpsizeLayout.OVERHEAD)
        val encrypt = cipher.javaClass.getMethod(
            "encrypt", ByteArray::class.java, Int::class.java, Int::class.java, ByteArray::class.java, Int::class.java,
            Int::class.java, Int::class.java, ByteArray::class.java, Int::class.java,
        )
        encrypt.invoke(cipher, aad, 0, aad.size, plain, 0, plain.size, 5, packet, 0)
        val decrypt = cipher.javaClass.getMethod("decrypt", ByteArray::class.java, Int::class.java, Int::class.java, Int::class.java)
        decrypt.invoke(cipher, packet, 0, packet.size, aad.size) shouldBe plain.size
        packet.copyOfRange(aad.size, aad.size + plain.size) shouldBe plain
        return cipher.toString()
    }

    test("the JDK AES-GCM cipher loads neither JNA nor lazysodium") {
        System.getProperty(TransportCipher.AES_GCM_PROVIDER_PROPERTY) shouldBe null
        System.setProperty(TransportCipher.AES_GCM_PROVIDER_PROPERTY, "jdk")
        try {
            IsolatedLoader(emptyList()).use { loader ->
                roundTrip(loader, "AEAD_AES256_GCM_RTPSIZE") shouldContain "JDK"
                loader.loaded("dev.earshot.voice.crypto.Sodium") shouldBe false
                loader.loaded("com.sun.jna.Native") shouldBe false
                loader.loaded("com.goterl.lazysodium.SodiumJava") shouldBe false
                // The same loader does load them once XChaCha20 is asked for, so the checks above can fail.
                roundTrip(loader, "AEAD_XCHACHA20_POLY1305_RTPSIZE") shouldContain "libsodium"
                loader.loaded("com.sun.jna.Native") shouldBe true
            }
        } finally {
            System.clearProperty(TransportCipher.AES_GCM_PROVIDER_PROPERTY)
        }
    }

    test("by default AES-GCM runs on the JDK and loads neither JNA nor lazysodium; asked for, libsodium serves it") {
        System.getProperty(TransportCipher.AES_GCM_PROVIDER_PROPERTY) shouldBe null
        IsolatedLoader(emptyList()).use { loader ->
            roundTrip(loader, "AEAD_AES256_GCM_RTPSIZE") shouldContain "JDK"
            loader.loaded("com.sun.jna.Native") shouldBe false
            loader.loaded("com.goterl.lazysodium.SodiumJava") shouldBe false
        }
        System.setProperty(TransportCipher.AES_GCM_PROVIDER_PROPERTY, "libsodium")
        try {
            IsolatedLoader(emptyList()).use { loader -> roundTrip(loader, "AEAD_AES256_GCM_RTPSIZE") shouldContain (if (Sodium.aesGcmAvailable) "libsodium" else "JDK") }
        } finally {
            System.clearProperty(TransportCipher.AES_GCM_PROVIDER_PROPERTY)
        }
    }

    test("without lazysodium and JNA, AES-GCM works and XChaCha20 fails naming the missing dependency") {
        IsolatedLoader(listOf("com.goterl.", "com.sun.jna.")).use { loader ->
            roundTrip(loader, "AEAD_AES256_GCM_RTPSIZE") shouldContain "JDK"
            val modeClass = Class.forName("dev.earshot.voice.crypto.EncryptionMode", true, loader)
            val xchacha = modeClass.enumConstants.single { (it as Enum<*>).name == "AEAD_XCHACHA20_POLY1305_RTPSIZE" }
            modeClass.getMethod("isAvailable").invoke(xchacha) shouldBe false
            val failure = shouldThrow<InvocationTargetException> { roundTrip(loader, "AEAD_XCHACHA20_POLY1305_RTPSIZE") }
            failure.cause!!.javaClass.name shouldBe IllegalStateException::class.java.name
            failure.cause!!.message shouldContain "lazysodium-java"
        }
    }
})
