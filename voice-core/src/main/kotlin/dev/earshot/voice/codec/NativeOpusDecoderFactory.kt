package dev.earshot.voice.codec

import org.slf4j.LoggerFactory

/**
 * The native decoder factory: libopus through JNA, what `ReceiveConfig`'s default decoder factory uses when libopus
 * loads ([ConcentusDecoderFactory] otherwise).
 *
 * Get one with [load] (or let [OpusDecoders.nativeOrConcentus] fall back for you) to set it explicitly as
 * `ReceiveConfig { decoderFactory = ... }`. Both [PcmFormat]s are decoded by libopus at their own rate
 * ([PcmFormat.MONO_16K] needs no resampler, unlike the Concentus backend). Each decoder holds about 50 KB of native
 * memory (decoder state and buffers), freed when it is closed; the receiver closes a speaker's decoder when the
 * speaker is evicted or the receiver stops.
 *
 * libopus is looked for first in the operating system (JNA's library search), then in
 * `club.minnced:opus-java-natives` (bundled in `club.minnced:opus-java`; Linux x86-64/aarch64/arm/x86, Windows,
 * macOS), a dependency of voice-core: exclude it to rely on the system's libopus alone. The first library that
 * loads is used for the whole process.
 */
public class NativeOpusDecoderFactory private constructor(
    /** The loaded library's version string, e.g. "libopus 1.3.1". */
    public val version: String,
    /** Where the library came from: which candidate, and its file. */
    public val source: String,
) : OpusDecoderFactory {
    override fun create(format: PcmFormat): OpusFrameDecoder = NativeFrameDecoder(format)

    override fun toString(): String = "NativeOpusDecoderFactory($version from $source)"

    public companion object {
        private val log = LoggerFactory.getLogger(NativeOpusDecoderFactory::class.java)
        private val lock = Any()
        @Volatile private var loaded: NativeOpusLoad? = null

        /**
         * Loads libopus once per process and returns the factory, or [NativeOpusLoad.Unavailable] with the reason.
         * Never throws. A failure is remembered too: the search is not repeated.
         */
        @JvmStatic
        public fun load(): NativeOpusLoad = loaded ?: synchronized(lock) {
            loaded ?: load(OpusLibraryCandidate.DEFAULT).also { loaded = it }
        }

        /**
         * Tries [candidates] in order; binds [LibOpus] to the first that opens and exports libopus's decoder API.
         * Not cached, for tests, which pass candidates that fail before binding: a successful one would rebind the
         * calls of every decoder in the process.
         */
        internal fun load(candidates: List<OpusLibraryCandidate>): NativeOpusLoad = synchronized(lock) {
            val reasons = ArrayList<String>()
            var last: Throwable? = null
            for (candidate in candidates) {
                try {
                    val library = candidate.open()
                    LibOpus.bind(library)
                    val version = LibOpus.opus_get_version_string()
                    val factory = NativeOpusDecoderFactory(version, "${candidate.description} (${library.file ?: library.name})")
                    // A probe decoder proves the calls work before anyone relies on them.
                    factory.create(PcmFormat.STEREO_48K).close()
                    log.info("Opus decoding on {}", factory)
                    return NativeOpusLoad.Loaded(factory).also { loaded = it }
                } catch (e: Throwable) {
                    // JNA reports a missing library or symbol as UnsatisfiedLinkError (a LinkageError), I/O as
                    // exceptions; anything else (a VirtualMachineError) is not a load failure.
                    if (e !is Exception && e !is LinkageError) throw e
                    reasons += "${candidate.description}: ${e.javaClass.simpleName}: ${e.message?.lineSequence()?.first()}"
                    last = e
                }
            }
            NativeOpusLoad.Unavailable(reasons.joinToString("; ").ifEmpty { "no candidates" }, last)
        }
    }
}
