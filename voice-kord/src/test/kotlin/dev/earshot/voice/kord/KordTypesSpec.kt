package dev.earshot.voice.kord

import dev.earshot.voice.model.AudioFrame
import dev.earshot.voice.model.FrameKind
import dev.earshot.voice.model.VoiceEvent
import dev.kord.common.entity.Snowflake
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe

/** voice-core's Long ids seen through Kord's types. */
class KordTypesSpec : FunSpec({
    test("ids map to Snowflakes and back unchanged, up to the largest snowflake") {
        123L.toSnowflake() shouldBe Snowflake(123u)
        val big = 1_234_567_890_123_456_789L
        big.toSnowflake().value shouldBe big.toULong()
        big.toSnowflake().value.toLong() shouldBe big // and back, as frames(Snowflake) does for voice-core
        Long.MAX_VALUE.toSnowflake().value.toLong() shouldBe Long.MAX_VALUE
    }

    test("frames and events name their user as a Snowflake, or null where voice-core has no user") {
        fun frame(user: Long?) = AudioFrame(1L, user, 0L, 0, 0L, null, null, FrameKind.DECODED)
        frame(42L).userSnowflake shouldBe Snowflake(42u)
        frame(null).userSnowflake shouldBe null
        VoiceEvent.SpeakingStarted(7L, 1L, 0L).userSnowflake shouldBe Snowflake(7u)
        VoiceEvent.SpeakingStopped(null, 1L, 0L).userSnowflake shouldBe null
        VoiceEvent.MemberConnected(8L).userSnowflake shouldBe Snowflake(8u)
        VoiceEvent.MemberDisconnected(9L).userSnowflake shouldBe Snowflake(9u)
        VoiceEvent.MemberFlags(10L, 0).userSnowflake shouldBe Snowflake(10u)
        VoiceEvent.MemberPlatform(11L, 0).userSnowflake shouldBe Snowflake(11u)
    }
})
