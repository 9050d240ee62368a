package dev.earshot.voice.crypto

import com.goterl.lazysodium.SodiumJava
import com.goterl.lazysodium.utils.LibraryLoader
import com.sun.jna.Pointer
import org.slf4j.LoggerFactory
import java.util.concurrent.atomic.AtomicBoolean

/**
 * JNA direct-mapped libsodium functions, registered through lazysodium's [LibraryLoader] (system libsodium first,
 * lazysodium's bundled copy as fallback).
 *
 * We bind these few functions ourselves instead of calling lazysodium's `Sodium` methods because those take
 * `byte[]`: JNA copies whole arrays in and out around every call, and an array cannot start mid-packet.
 * Taking [Pointer]s into reusable native buffers lets each call copy only the bytes in use and allocate nothing.
 * Names and parameter order are libsodium's C API (`unsigned long long` maps to Long).
 */
@Suppress("FunctionName")
internal class SodiumBindings {
    external fun sodium_init(): Int

    external fun crypto_aead_aes256gcm_is_available(): Int

    external fun crypto_aead_aes256gcm_beforenm(state: Pointer, k: Pointer): Int

    external fun crypto_aead_aes256gcm_encrypt_detached_afternm(
        c: Pointer, mac: Pointer, macLenP: Pointer?, m: Pointer, mlen: Long,
        ad: Pointer, adlen: Long, nsec: Pointer?, npub: Pointer, state: Pointer,
    ): Int

    external fun crypto_aead_aes256gcm_decrypt_detached_afternm(
        m: Pointer, nsec: Pointer?, c: Pointer, clen: Long, mac: Pointer,
        ad: Pointer, adlen: Long, npub: Pointer, state: Pointer,
    ): Int

    external fun crypto_aead_xchacha20poly1305_ietf_encrypt_detached(
        c: Pointer, mac: Pointer, macLenP: Pointer?, m: Pointer, mlen: Long,
        ad: Pointer, adlen: Long, nsec: Pointer?, npub: Pointer, k: Pointer,
    ): Int

    external fun crypto_aead_xchacha20poly1305_ietf_decrypt_detached(
        m: Pointer, nsec: Pointer?, c: Pointer, clen: Long, mac: Pointer,
        ad: Pointer, adlen: Long, npub: Pointer, k: Pointer,
    ): Int
}

/**
 * Loads libsodium once per JVM, on first use: only XChaCha20 (or AES-GCM with the libsodium provider) touches this
 * object, so an AES-GCM connection never loads JNA or the native library. A failure is kept (not thrown), and a
 * missing lazysodium or JNA jar (excluded by the user) counts as a failure too.
 */
internal object Sodium {
    /** The bound library, or null if libsodium could not be loaded or initialised. */
    val bindings: SodiumBindings?

    /** Why [bindings] is null; null when loading succeeded. */
    val loadFailure: Throwable?

    /** True if libsodium's AES-256-GCM works here (it needs AES-NI and CLMUL on x86-64 in libsodium 1.0.18). */
    val aesGcmAvailable: Boolean

    init {
        var loaded: SodiumBindings? = null
        var failure: Throwable? = null
        try {
            // resource-loader looks for the bundled library in the jar of the *first* class listed, so lazysodium's
            // own classes must lead; registering them too is exactly what `SodiumJava()` does anyway.
            val classes: List<Class<*>> = SodiumJava.getClassesToRegister() + SodiumBindings::class.java
            LibraryLoader(classes).loadLibrary(LibraryLoader.Mode.PREFER_SYSTEM, "sodium")
            val candidate = SodiumBindings()
            // 0 = initialised now, 1 = already initialised by someone else; -1 = failure.
            if (candidate.sodium_init() >= 0) loaded = candidate else failure = IllegalStateException("sodium_init failed")
        } catch (e: Exception) {
            failure = e
        } catch (e: LinkageError) {
            // UnsatisfiedLinkError and friends: no usable native library on this platform.
            failure = e
        }
        bindings = loaded
        loadFailure = failure
        aesGcmAvailable = loaded != null && loaded.crypto_aead_aes256gcm_is_available() == 1
    }

    private val fallbackWarned = AtomicBoolean()

    /**
     * Logs once per JVM, at warn level, that the provider [property] asked for libsodium but the JVM implementation
     * serves instead, and why (missing lazysodium-java or JNA, or the native library's load failure).
     */
    fun warnFallbackOnce(property: String) {
        if (!fallbackWarned.compareAndSet(false, true)) return
        val failure = loadFailure
        val why = if (failure is NoClassDefFoundError || failure?.cause is ClassNotFoundException) {
            "com.goterl:lazysodium-java and net.java.dev.jna:jna are not on the classpath (missing: ${failure.message})"
        } else if (failure != null) {
            "libsodium could not be loaded: $failure"
        } else {
            "libsodium lacks AES-GCM on this CPU"
        }
        LoggerFactory.getLogger(Sodium::class.java).warn("-D{}=libsodium asked for libsodium, but {}; using the JVM implementation", property, why)
    }
}
