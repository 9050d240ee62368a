package dev.earshot.voice.codec

import org.slf4j.LoggerFactory
import java.util.concurrent.atomic.AtomicBoolean

/** Chooses an Opus decoder backend. */
public object OpusDecoders {
    private val log = LoggerFactory.getLogger(OpusDecoders::class.java)
    private val processWarning = FallbackWarning { message -> log.warn(message) }

    /**
     * The native libopus factory if it loads ([NativeOpusDecoderFactory.load]), else [ConcentusDecoderFactory]. A
     * fallback is logged once per process at warn level, with the reason. Never throws.
     */
    @JvmStatic
    public fun nativeOrConcentus(): OpusDecoderFactory = choose(NativeOpusDecoderFactory.load(), processWarning)

    /**
     * The default of `ReceiveConfig.decoderFactory`: [nativeOrConcentus], chosen on the first decoder created (so a
     * receiver that never decodes never loads JNA or libopus). Native libopus decodes 1.9x (48 kHz stereo) to 3.4x
     * (16 kHz mono) as fast as Concentus (BENCHMARKS.md); without it, Concentus with one logged warning.
     */
    internal val automatic: OpusDecoderFactory = object : OpusDecoderFactory {
        private val chosen by lazy { nativeOrConcentus() }

        override fun create(format: PcmFormat): OpusFrameDecoder = chosen.create(format)

        override fun toString(): String = "OpusDecoders.nativeOrConcentus()"
    }

    /** The choice behind [nativeOrConcentus], with the load result and the warning injected for tests. */
    internal fun choose(load: NativeOpusLoad, warning: FallbackWarning): OpusDecoderFactory = when (load) {
        is NativeOpusLoad.Loaded -> load.factory
        is NativeOpusLoad.Unavailable -> {
            warning.once("native libopus unavailable, decoding Opus with Concentus (pure Java, slower): ${load.reason}")
            ConcentusDecoderFactory
        }
    }

    /** Passes the first message to [sink] and drops the rest. */
    internal class FallbackWarning(private val sink: (String) -> Unit) {
        private val done = AtomicBoolean()

        fun once(message: String) {
            if (done.compareAndSet(false, true)) sink(message)
        }
    }
}
