package dev.earshot.voice.gateway

import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe
import kotlinx.coroutines.launch
import kotlinx.coroutines.test.runCurrent
import kotlinx.coroutines.test.runTest

class InboundFramesSpec : FunSpec({
    test("the inbound queue is bounded: a flooding reader waits for the consumer, and nothing is dropped or reordered") {
        runTest {
            val frames = InboundFrames(capacity = 8)
            val reader = launch { repeat(1_000) { frames.put(GatewayFrame.Text("$it")) }; frames.close() }
            runCurrent()
            // The reader read what fits plus the one it waits to hand over, and no more.
            frames.framesRead shouldBe 9L
            reader.isActive shouldBe true
            val seen = ArrayList<String>()
            for (frame in frames.incoming) seen += (frame as GatewayFrame.Text).text
            seen shouldBe List(1_000) { "$it" }
            frames.framesRead shouldBe 1_000L
        }
    }
})
