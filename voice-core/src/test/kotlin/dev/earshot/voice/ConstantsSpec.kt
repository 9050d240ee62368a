package dev.earshot.voice

import dev.earshot.voice.base.VoiceConstants
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe

class ConstantsSpec : FunSpec({
    test("a 20 ms frame at 48 kHz is 960 samples per channel") {
        VoiceConstants.SAMPLE_RATE * VoiceConstants.FRAME_MS / 1000 shouldBe VoiceConstants.SAMPLES_PER_FRAME
    }
})
