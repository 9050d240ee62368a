package dev.earshot.voice.codec

import com.sun.jna.Library
import com.sun.jna.Native
import com.sun.jna.NativeLibrary
import com.sun.jna.Pointer

/**
 * The libopus decoder calls, bound by JNA direct mapping to one library for the whole process (see [bind]).
 *
 * Direct mapping (static native methods registered with [Native.register]) rather than a JNA interface proxy:
 * a proxy call boxes its arguments into a fresh `Object[]` on every packet; these calls allocate nothing on the
 * Java heap. Buffers are passed as [Pointer]s to native memory the caller owns.
 */
internal object LibOpus {
    /** `OPUS_RESET_STATE` (opus_defines.h): the decoder ctl that forgets all decoding history. */
    const val OPUS_RESET_STATE: Int = 4028

    /** `OPUS_OK`. */
    const val OPUS_OK: Int = 0

    /** The symbols the decoder needs; a library missing any of them is not libopus (or is too old). */
    val REQUIRED_SYMBOLS: List<String> = listOf(
        "opus_decoder_get_size", "opus_decoder_init", "opus_decode", "opus_decoder_ctl", "opus_get_version_string",
    )

    // Names are libopus's own: direct mapping looks symbols up by the method name.

    /** Bytes of decoder state for [channels] (1 or 2). */
    @JvmStatic external fun opus_decoder_get_size(channels: Int): Int

    /** Initialises a decoder in caller-owned memory [st] of [opus_decoder_get_size] bytes; returns [OPUS_OK] or an error. */
    @JvmStatic external fun opus_decoder_init(st: Pointer, fs: Int, channels: Int): Int

    /**
     * Decodes [len] bytes at [data] (null: conceal) into [pcm] (interleaved 16-bit), at most [frameSize] samples per
     * channel; [decodeFec] 1 recovers the frame before [data] from its LBRR. Returns samples per channel or an error (< 0).
     */
    @JvmStatic external fun opus_decode(st: Pointer, data: Pointer?, len: Int, pcm: Pointer, frameSize: Int, decodeFec: Int): Int

    /** The library's version, e.g. "libopus 1.3.1". */
    @JvmStatic external fun opus_get_version_string(): String

    /** `opus_decoder_ctl` is variadic, which direct mapping cannot call; the rare reset goes through a proxy. */
    interface Ctl : Library {
        @Suppress("FunctionName")
        fun opus_decoder_ctl(st: Pointer, request: Int, vararg args: Any?): Int
    }

    @Volatile private var ctl: Ctl? = null

    /** Resets decoder [st] (`OPUS_RESET_STATE`); returns [OPUS_OK] or an error. */
    fun reset(st: Pointer): Int = ctl!!.opus_decoder_ctl(st, OPUS_RESET_STATE)

    /**
     * Binds the calls above to [library]. Checks every [REQUIRED_SYMBOLS] first, so a library that is not libopus is
     * refused before anything is registered. Called once per process, under the loader's lock.
     */
    fun bind(library: NativeLibrary) {
        for (symbol in REQUIRED_SYMBOLS) library.getFunction(symbol) // throws UnsatisfiedLinkError naming the symbol
        Native.register(LibOpus::class.java, library)
        ctl = Native.load(library.file?.absolutePath ?: library.name, Ctl::class.java)
    }
}
