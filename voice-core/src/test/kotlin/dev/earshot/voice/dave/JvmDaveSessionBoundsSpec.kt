package dev.earshot.voice.dave

import dev.earshot.voice.connection.DaveBridge
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.shouldBe
import kotlinx.coroutines.test.runTest

private const val SELF = 1000L

private class CountingCallbacks : DaveCallbacks {
    var readies = 0
    override fun sendKeyPackage(keyPackage: ByteArray) = Unit
    override fun sendReadyForTransition(transitionId: Int) { readies++ }
    override fun sendCommitWelcome(commitWelcome: ByteArray) = Unit
    override fun sendInvalidCommitWelcome(transitionId: Int) = Unit
}

class JvmDaveSessionBoundsSpec : FunSpec({
    test("prepared transitions that never execute are bounded: the oldest are forgotten") {
        val out = CountingCallbacks()
        val dave = JvmDaveSession(SELF, 42L, out)
        dave.onSelectProtocolAck(1)
        for (t in 1..100_000) dave.onPrepareTransition(t, 1)
        out.readies shouldBe 100_000
        dave.onExecuteTransition(1) // long forgotten
        dave.stats().transitions shouldBe 0L
        dave.boundDrops().second shouldBe 100_000L - JvmDaveSession.MAX_PENDING_TRANSITIONS
        dave.onExecuteTransition(100_000 - JvmDaveSession.MAX_PENDING_TRANSITIONS) // just forgotten too
        dave.stats().transitions shouldBe 0L
        dave.onExecuteTransition(100_000 - JvmDaveSession.MAX_PENDING_TRANSITIONS + 1) // the oldest kept
        dave.stats().transitions shouldBe 1L
        dave.close()
    }

    test("200,000 op 11 user ids through DaveBridge keep the recognised set at its bound; members already known stay") {
        runTest {
            val bridge = DaveBridge(JvmDaveSession.FACTORY, SELF, 42L, backgroundScope)
            val dave = bridge.session as JvmDaveSession
            bridge.onMembers(listOf(7L), emptyList())
            // 200 op 11 messages of 1000 ids each: about 4 MB of JSON.
            for (chunk in 0 until 200) bridge.onMembers((1..1000).map { 10_000L + chunk * 1000L + it }, emptyList())
            dave.recognizedUserCount() shouldBe JvmDaveSession.MAX_RECOGNIZED_USERS
            dave.boundDrops().first shouldBe 200_000L + 2 - JvmDaveSession.MAX_RECOGNIZED_USERS // ours and user 7 were in first
            // Op 13 makes room again; user 7 was never pushed out.
            bridge.onMembers(listOf(7L), emptyList())
            dave.boundDrops().first shouldBe 200_000L + 2 - JvmDaveSession.MAX_RECOGNIZED_USERS
            bridge.onMembers(emptyList(), listOf(10_001L))
            bridge.onMembers(listOf(99L), emptyList())
            dave.recognizedUserCount() shouldBe JvmDaveSession.MAX_RECOGNIZED_USERS
            dave.boundDrops().first shouldBe 200_000L + 2 - JvmDaveSession.MAX_RECOGNIZED_USERS
            bridge.close()
        }
    }
})
