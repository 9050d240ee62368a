package dev.earshot.samples

import dev.earshot.voice.model.VoiceEvent
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.collections.shouldHaveSize
import io.kotest.matchers.shouldBe
import io.kotest.matchers.string.shouldContain
import io.kotest.matchers.string.shouldEndWith
import io.kotest.matchers.string.shouldStartWith
import java.io.ByteArrayOutputStream
import java.io.PrintStream
import kotlinx.coroutines.flow.MutableSharedFlow
import kotlinx.coroutines.test.StandardTestDispatcher
import kotlinx.coroutines.test.advanceTimeBy
import kotlinx.coroutines.test.runTest

class SpeakingIndicatorSpec : FunSpec({
    val names = mapOf(1L to "alice", 2L to "bob")

    test("the board follows speaking events and lists users in order, unknown ones as they first speak") {
        val board = SpeakingBoard(listOf(1, 2), names::get)
        board.render() shouldBe "alice [       ]  bob [       ]"
        board.apply(VoiceEvent.SpeakingStarted(2, 22, 10))
        board.apply(VoiceEvent.SpeakingStarted(null, 33, 10)) // no user yet: not shown
        board.apply(VoiceEvent.SpeakingStarted(9, 99, 11))
        board.speakingNow() shouldBe setOf(2L, 9L)
        board.render() shouldBe "alice [       ]  bob [talking]  9 [talking]"
        board.apply(VoiceEvent.SpeakingStopped(2, 22, 40))
        board.apply(VoiceEvent.MemberDisconnected(9)) // other events change nothing
        board.render() shouldBe "alice [       ]  bob [       ]  9 [talking]"
        SpeakingBoard.line(kotlin.time.Duration.parse("3.24s"), "x") shouldBe "[  3.2 s] x"
        SpeakingBoard(emptyList()) { null }.render() shouldContain "nobody"
    }

    test("not a terminal: a line only when who speaks changes") {
        val out = ByteArrayOutputStream()
        runTest(StandardTestDispatcher()) {
            val events = MutableSharedFlow<VoiceEvent>()
            val indicator = SpeakingIndicator(SpeakingBoard(listOf(1, 2), names::get), DemoConsole(PrintStream(out, true), interactive = false))
            indicator.start(this, events)
            advanceTimeBy(1000)
            events.emit(VoiceEvent.SpeakingStarted(2, 22, 50))
            advanceTimeBy(1000)
            events.emit(VoiceEvent.SpeakingStopped(2, 22, 100))
            advanceTimeBy(1000)
            indicator.stop()
        }
        val lines = out.toString().lines().filter { it.isNotEmpty() }
        lines shouldHaveSize 3
        lines[0] shouldEndWith "alice [       ]  bob [       ]"
        lines[1] shouldEndWith "alice [       ]  bob [talking]"
        lines[2] shouldEndWith "alice [       ]  bob [       ]"
        out.toString() shouldBe out.toString().replace("\r", "") // no carriage returns in logs
    }

    test("a terminal: the line is redrawn in place every 200 ms and ended with a newline") {
        val out = ByteArrayOutputStream()
        runTest(StandardTestDispatcher()) {
            val events = MutableSharedFlow<VoiceEvent>()
            val indicator = SpeakingIndicator(SpeakingBoard(listOf(1, 2), names::get), DemoConsole(PrintStream(out, true), interactive = true))
            indicator.start(this, events)
            advanceTimeBy(1001)
            indicator.stop()
        }
        val text = out.toString()
        text.count { it == '\r' } shouldBe 6 // at 0, 200, 400, 600, 800 and 1000 ms
        text.count { it == '\n' } shouldBe 1
        text shouldStartWith "\r["
    }
})
