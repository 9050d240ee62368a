package dev.earshot.voice.codec

/** The outcome of [NativeOpusDecoderFactory.load]: a factory, or the reason libopus is unavailable. */
public sealed class NativeOpusLoad {
    /** libopus loaded; [factory] creates decoders on it. */
    public class Loaded internal constructor(
        /** The native decoder factory. */
        public val factory: NativeOpusDecoderFactory,
    ) : NativeOpusLoad() {
        override fun toString(): String = "Loaded(${factory.version} from ${factory.source})"
    }

    /** No usable libopus: [reason] says what each place tried gave, [cause] is the last error (if any). */
    public class Unavailable internal constructor(
        /** One line per place tried, for logs. */
        public val reason: String,
        /** The last error thrown while loading, or null. */
        public val cause: Throwable?,
    ) : NativeOpusLoad() {
        override fun toString(): String = "Unavailable($reason)"
    }

    /** The factory if libopus loaded, else null. */
    public fun factoryOrNull(): NativeOpusDecoderFactory? = (this as? Loaded)?.factory
}
