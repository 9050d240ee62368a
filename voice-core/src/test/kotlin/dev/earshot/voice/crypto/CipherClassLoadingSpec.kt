package dev.earshot.voice.crypto

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe
import io.kotest.matchers.string.shouldContain
import java.io.File
import java.net.URLClassLoader

/**
 * Which classes a connection's transport cipher loads, seen from a class loader of its own (the test JVM has long
 * loaded libsodium for other specs): by default neither mode loads JNA or lazysodium, the provider properties bring
 * libsodium in, and with both jars absent both modes still work on the JVM.
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

    fun <T> withProperty(name: String, value: String, body: () -> T): T {
        System.getProperty(name) shouldBe null
        System.setProperty(name, value)
        try {
            return body()
        } finally {
            System.clearProperty(name)
        }
    }

    fun IsolatedLoader.loadedSodium(): Boolean = loaded("com.sun.jna.Native") || loaded("com.goterl.lazysodium.SodiumJava")

    test("by default both modes run on the JVM and load neither JNA nor lazysodium; asked for, libsodium serves them") {
        System.getProperty(TransportCipher.AES_GCM_PROVIDER_PROPERTY) shouldBe null
        System.getProperty(TransportCipher.XCHACHA_PROVIDER_PROPERTY) shouldBe null
        IsolatedLoader(emptyList()).use { loader ->
            roundTrip(loader, "AEAD_AES256_GCM_RTPSIZE") shouldContain "JDK"
            roundTrip(loader, "AEAD_XCHACHA20_POLY1305_RTPSIZE") shouldContain "JVM"
            loader.loaded("dev.earshot.voice.crypto.Sodium") shouldBe false
            loader.loadedSodium() shouldBe false
        }
        // The same checks see libsodium once a property asks for it, so the ones above can fail.
        withProperty(TransportCipher.XCHACHA_PROVIDER_PROPERTY, "libsodium") {
            IsolatedLoader(emptyList()).use { loader ->
                roundTrip(loader, "AEAD_XCHACHA20_POLY1305_RTPSIZE") shouldContain "libsodium"
                loader.loadedSodium() shouldBe true
            }
        }
        withProperty(TransportCipher.AES_GCM_PROVIDER_PROPERTY, "libsodium") {
            IsolatedLoader(emptyList()).use { loader ->
                roundTrip(loader, "AEAD_AES256_GCM_RTPSIZE") shouldContain (if (Sodium.aesGcmAvailable) "libsodium" else "JDK")
                loader.loadedSodium() shouldBe true
            }
        }
    }

    test("`jdk` and `jvm`, or any value but libsodium, keep the JVM implementations") {
        withProperty(TransportCipher.AES_GCM_PROVIDER_PROPERTY, "jdk") {
            withProperty(TransportCipher.XCHACHA_PROVIDER_PROPERTY, "jvm") {
                IsolatedLoader(emptyList()).use { loader ->
                    roundTrip(loader, "AEAD_AES256_GCM_RTPSIZE") shouldContain "JDK"
                    roundTrip(loader, "AEAD_XCHACHA20_POLY1305_RTPSIZE") shouldContain "JVM"
                    loader.loadedSodium() shouldBe false
                }
            }
        }
    }

    test("without lazysodium and JNA both modes are available and work, even when libsodium is asked for") {
        withProperty(TransportCipher.XCHACHA_PROVIDER_PROPERTY, "libsodium") {
            IsolatedLoader(listOf("com.goterl.", "com.sun.jna.")).use { loader ->
                val modeClass = Class.forName("dev.earshot.voice.crypto.EncryptionMode", true, loader)
                for (mode in modeClass.enumConstants) modeClass.getMethod("isAvailable").invoke(mode) shouldBe true
                roundTrip(loader, "AEAD_AES256_GCM_RTPSIZE") shouldContain "JDK"
                roundTrip(loader, "AEAD_XCHACHA20_POLY1305_RTPSIZE") shouldContain "JVM"
            }
        }
    }
})
