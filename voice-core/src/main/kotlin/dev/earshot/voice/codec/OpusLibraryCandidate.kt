package dev.earshot.voice.codec

import com.sun.jna.Native
import com.sun.jna.NativeLibrary
import com.sun.jna.Platform

/**
 * One place libopus may be loaded from: [open] returns the library or throws (any [Throwable]: JNA reports a missing
 * library as [UnsatisfiedLinkError], a missing resource as an I/O error). The loader's seam; tests pass failing ones.
 */
internal class OpusLibraryCandidate(val description: String, val open: () -> NativeLibrary) {
    companion object {
        /**
         * The operating system's libopus (JNA's search: `libopus.so` or a versioned `libopus.so.N` on Linux,
         * `libopus.dylib`, `opus.dll`, plus `jna.library.path`). Preferred: the distribution patches it; the one in
         * opus-java-natives 1.1.1 is libopus 1.1.2 (2015), which predates the decoder fixes of RFC 8251 (2017).
         */
        val SYSTEM = OpusLibraryCandidate("system libopus") { NativeLibrary.getInstance("opus") }

        /** The copy bundled in `club.minnced:opus-java-natives` (part of `opus-java`), if that jar is on the class path. */
        val BUNDLED = OpusLibraryCandidate("libopus from opus-java-natives") {
            val ext = when {
                Platform.isWindows() -> "dll"
                Platform.isMac() -> "dylib"
                else -> "so"
            }
            val resource = "/natives/${Platform.RESOURCE_PREFIX}/libopus.$ext"
            val loader = OpusLibraryCandidate::class.java.classLoader
            if (loader.getResource(resource.removePrefix("/")) == null) {
                throw UnsatisfiedLinkError("$resource not on the class path (add club.minnced:opus-java-natives)")
            }
            NativeLibrary.getInstance(Native.extractFromResourcePath(resource, loader).absolutePath)
        }

        /** The order [NativeOpusDecoderFactory.load] tries. */
        val DEFAULT: List<OpusLibraryCandidate> = listOf(SYSTEM, BUNDLED)
    }
}
