package dev.earshot.voice.codec

import com.sun.jna.NativeLibrary
import com.sun.jna.Platform
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.collections.shouldHaveSize
import io.kotest.matchers.shouldBe
import io.kotest.matchers.string.shouldContain
import io.kotest.matchers.types.shouldBeInstanceOf
import io.kotest.matchers.types.shouldBeSameInstanceAs

/** Loading libopus, and falling back to Concentus when it cannot load. */
class NativeFallbackSpec : FunSpec({
    test("the public load finds libopus once per process and returns the same factory") {
        val first = NativeOpusDecoderFactory.load()
        first.shouldBeInstanceOf<NativeOpusLoad.Loaded>()
        NativeOpusDecoderFactory.load().factoryOrNull() shouldBeSameInstanceAs first.factory
        first.factory.version shouldContain "libopus"
        OpusDecoders.nativeOrConcentus() shouldBeSameInstanceAs first.factory
    }

    test("a failed load gives every candidate's reason and never throws") {
        val missing = OpusLibraryCandidate("nowhere") { NativeLibrary.getInstance("earshot-no-such-opus-library") }
        val broken = OpusLibraryCandidate("broken jar") { throw java.io.IOException("resource unreadable") }
        val load = NativeOpusDecoderFactory.load(listOf(missing, broken))
        load.shouldBeInstanceOf<NativeOpusLoad.Unavailable>()
        load.factoryOrNull() shouldBe null
        println("forced failure: ${load.reason}")
        load.reason shouldContain "nowhere: UnsatisfiedLinkError"
        load.reason shouldContain "earshot-no-such-opus-library"
        load.reason shouldContain "broken jar: IOException: resource unreadable"
        load.cause.shouldBeInstanceOf<java.io.IOException>()
    }

    test("a library that loads but is not libopus is refused before it is bound, naming the missing symbol") {
        // The maths library loads everywhere and exports no opus_ symbol. (JNA maps "c" to the process itself.)
        val name = when {
            Platform.isWindows() -> "msvcrt"
            Platform.isMac() -> "libSystem.dylib"
            else -> "libm.so.6"
        }
        val libc = OpusLibraryCandidate("libm") { NativeLibrary.getInstance(name) }
        val load = NativeOpusDecoderFactory.load(listOf(libc))
        load.shouldBeInstanceOf<NativeOpusLoad.Unavailable>()
        load.reason shouldContain "opus_decoder_get_size"
        // The refused library was never bound: decoders of the real one still work.
        val d = NativeCodec.factory.create(PcmFormat.STEREO_48K)
        val p = SpeechFixtures.speech.packets[40]
        d.decode(p, 0, p.size, ShortArray(PcmFormat.STEREO_48K.maxBufferSize)) shouldBe 960
        d.close()
    }

    test("nativeOrConcentus falls back to Concentus with the reason, warning once") {
        val warnings = ArrayList<String>()
        val warning = OpusDecoders.FallbackWarning { warnings += it }
        val failed = NativeOpusDecoderFactory.load(listOf(OpusLibraryCandidate("nowhere") { throw UnsatisfiedLinkError("gone") }))
        OpusDecoders.choose(failed, warning) shouldBeSameInstanceAs ConcentusDecoderFactory
        OpusDecoders.choose(failed, warning) shouldBeSameInstanceAs ConcentusDecoderFactory
        warnings shouldHaveSize 1
        warnings[0] shouldContain "Concentus"
        warnings[0] shouldContain "nowhere: UnsatisfiedLinkError: gone"
        // The fallback decodes: the caller gets a working factory either way.
        val d = OpusDecoders.choose(failed, warning).create(PcmFormat.MONO_16K)
        val p = SpeechFixtures.speech.packets[40]
        d.decode(p, 0, p.size, ShortArray(PcmFormat.MONO_16K.maxBufferSize)) shouldBe 320
        // A successful load is used as is, and warns nothing.
        OpusDecoders.choose(NativeOpusLoad.Loaded(NativeCodec.factory), OpusDecoders.FallbackWarning { warnings += it }) shouldBeSameInstanceAs NativeCodec.factory
        warnings shouldHaveSize 1
    }
})
