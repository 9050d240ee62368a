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
