package dev.earshot.voice.codec

import dev.earshot.voice.testing.Pcm

/** The native factory for tests: they require libopus (bundled for every CI platform), so a failed load fails them. */
object NativeCodec {
    val factory: NativeOpusDecoderFactory by lazy {
        when (val load = NativeOpusDecoderFactory.load()) {
            is NativeOpusLoad.Loaded -> load.factory
            is NativeOpusLoad.Unavailable -> error("native libopus did not load: ${load.reason}")
        }
    }
}

/** Sample-by-sample agreement of two decodes of the same stream. */
class Agreement(a: ShortArray, b: ShortArray, frame: Int) {
    val count = minOf(a.size, b.size)
    val overallDb = Pcm.snrDb(a, 0, b, 0, count)
    val maxDiff = (0 until count).maxOfOrNull { kotlin.math.abs(a[it] - b[it]) } ?: 0
    val identical = (0 until count).count { a[it] == b[it] }

    /** SNR per [frame]-sample block where [a] is louder than -50 dBFS (pauses say nothing about a decoder). */
    val activeFrameDbs: List<Double> = (0 until count / frame)
        .filter { Pcm.rms(a, it * frame, frame) > 100.0 }
        .map { Pcm.snrDb(a, it * frame, b, it * frame, frame) }

    fun minActiveDb(): Double = activeFrameDbs.minOrNull() ?: 200.0

    override fun toString(): String =
        "overall %.1f dB, %d/%d samples identical, max |diff| %d; %d active frames: min %.1f dB, median %.1f dB".format(
            overallDb, identical, count, maxDiff, activeFrameDbs.size, minActiveDb(),
            activeFrameDbs.sorted().getOrElse(activeFrameDbs.size / 2) { 200.0 },
        )
}
