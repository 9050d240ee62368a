package dev.earshot.samples

import dev.earshot.samples.java.JavaRecorder
import dev.earshot.voice.files.OggOpusReader
import dev.earshot.voice.connection.VoiceConnectionConfig
import dev.earshot.voice.connection.VoiceSessionInfo
import dev.earshot.voice.testkit.MemberScript
import dev.earshot.voice.testkit.TestServerConfig
import dev.earshot.voice.testkit.VoiceTestServer
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.doubles.plusOrMinus
import io.kotest.matchers.ints.shouldBeGreaterThan
import io.kotest.matchers.shouldBe
import java.nio.ByteBuffer
import java.nio.ByteOrder
import java.nio.file.Files
import kotlin.time.Duration.Companion.milliseconds
import kotlin.time.Duration.Companion.seconds

/** The Java sample, run against the embedded voice server with one speaking member (DAVE on). */
class JavaRecorderSpec : FunSpec({
    test("the Java program records a speaker to per-user WAV, the mix and Ogg Opus, and finishes the files") {
        val dir = Files.createTempDirectory("java-recorder")
        VoiceTestServer.start(TestServerConfig()).use { server ->
            val grant = server.grant("100", "200", "999")
            server.channel("100", "200").addMember("1001", MemberScript {
                awaitDave()
                tone(440.0, 1500.milliseconds)
                pause(300.milliseconds)
                tone(660.0, 1000.milliseconds)
            })
            val session = VoiceSessionInfo(100, 200L, 999, grant.sessionId, grant.token, grant.endpoint)
            val cause = JavaRecorder.record(session, VoiceConnectionConfig.builder().secure(false).build(), dir, java.time.Duration.ofSeconds(4))
            cause shouldBe null
        }
        val wav = Files.readAllBytes(dir.resolve("user-1001.wav"))
        val b = ByteBuffer.wrap(wav).order(ByteOrder.LITTLE_ENDIAN)
        val dataSize = b.getInt(40).toLong()
        dataSize shouldBe wav.size - 44L // the header was finished on close
        (dataSize / (48_000.0 * 4)) shouldBe (4.0 plusOrMinus 1.0) // the whole recording, silence filled
        // 2.5 s of tones: a quarter of a second of samples well away from zero at the very least.
        val loud = (44 until wav.size step 2).count { Math.abs(b.getShort(it).toInt()) > 1000 }
        loud shouldBeGreaterThan 48_000 / 2
        Files.size(dir.resolve("mixed.wav")) shouldBe wav.size.toLong()
        OggOpusReader.read(dir.resolve("user-1001.opus")).packets.size shouldBeGreaterThan 100 // 2.5 s = 125 packets
    }
})
