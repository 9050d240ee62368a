package dev.earshot.voice.connection

import dev.earshot.voice.dave.DaveCallbacks
import dev.earshot.voice.dave.DaveSession
import dev.earshot.voice.dave.DaveStats
import dev.earshot.voice.gateway.DaveGatewaySender
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.collections.shouldContainExactly
import io.kotest.matchers.shouldBe
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.test.runCurrent
import kotlinx.coroutines.test.runTest
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.buildJsonObject
import kotlinx.serialization.json.int
import kotlinx.serialization.json.jsonPrimitive
import kotlinx.serialization.json.put

/** Records the calls a [DaveBridge] makes into its session, and lets a test fire the session's callbacks. */
private class RecordingSession : DaveSession {
    val calls = mutableListOf<String>()
    lateinit var callbacks: DaveCallbacks
    override val maxProtocolVersion: Int = 1
    override val protocolVersion: Int = 1
    override val epoch: Long? = null
    override val privacyCode: String? = null
    override fun epochAuthenticator(): ByteArray? = null
    override fun onSelectProtocolAck(protocolVersion: Int) { calls += "ack $protocolVersion" }
    override fun onPrepareTransition(transitionId: Int, protocolVersion: Int) { calls += "prepare $transitionId v$protocolVersion" }
    override fun onExecuteTransition(transitionId: Int) { calls += "execute $transitionId" }
    override fun onPrepareEpoch(epoch: Long, protocolVersion: Int) { calls += "epoch $epoch v$protocolVersion" }
    override fun onExternalSenderPackage(payload: ByteArray) { calls += "sender ${payload.toList()}" }
    override fun onProposals(payload: ByteArray) { calls += "proposals ${payload.toList()}" }
    override fun onAnnounceCommit(transitionId: Int, commit: ByteArray) { calls += "commit $transitionId ${commit.toList()}" }
    override fun onWelcome(transitionId: Int, welcome: ByteArray) { calls += "welcome $transitionId ${welcome.toList()}" }
    override fun addUser(userId: Long) { calls += "add $userId" }
    override fun removeUser(userId: Long) { calls += "remove $userId" }
    override fun decrypt(userId: Long, frame: ByteArray, offset: Int, length: Int): Int = length
    override val requiresUser: Boolean = true
    override fun maxEncryptedSize(length: Int): Int = length
    override fun encrypt(frame: ByteArray, offset: Int, length: Int, out: ByteArray): Int = length
    override fun stats(): DaveStats = DaveStats(0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    override fun close() { calls += "close" }
}

private class RecordingSender : DaveGatewaySender {
    val sent = mutableListOf<String>()
    override suspend fun sendJson(op: Int, d: JsonObject) { sent += "json $op $d" }
    override suspend fun sendBinary(op: Int, payload: ByteArray) { sent += "binary $op ${payload.toList()}" }
}

class DaveBridgeSpec : FunSpec({
    fun bridge(scope: kotlinx.coroutines.CoroutineScope): Pair<DaveBridge, RecordingSession> {
        val session = RecordingSession()
        val bridge = DaveBridge({ _, _, cb -> session.also { it.callbacks = cb } }, 7L, 42L, scope)
        return bridge to session
    }

    test("gateway opcodes become session calls; transition ids are read big-endian") {
        runTest {
            val (b, s) = bridge(backgroundScope)
            val sender = RecordingSender()
            b.onSessionDescription(1, sender)
            b.onJson(21, buildJsonObject { put("transition_id", 5); put("protocol_version", 0) }, sender)
            b.onJson(22, buildJsonObject { put("transition_id", 5) }, sender)
            b.onJson(24, buildJsonObject { put("epoch", 1); put("protocol_version", 1) }, sender)
            b.onBinary(25, byteArrayOf(1, 2), sender)
            b.onBinary(27, byteArrayOf(0, 9), sender)
            b.onBinary(29, byteArrayOf(0x01, 0x02, 7), sender)
            b.onBinary(30, byteArrayOf(0, 3, 8, 9), sender)
            b.onMembers(listOf(10L, 11L), listOf(12L))
            s.calls shouldContainExactly listOf(
                "ack 1", "prepare 5 v0", "execute 5", "epoch 1 v1", "sender [1, 2]", "proposals [0, 9]",
                "commit 258 [7]", "welcome 3 [8, 9]", "add 10", "add 11", "remove 12",
            )
        }
    }

    test("malformed DAVE messages are counted and never reach the session") {
        runTest {
            val (b, s) = bridge(backgroundScope)
            val sender = RecordingSender()
            b.onJson(21, buildJsonObject { put("transition_id", 5) }, sender) // no protocol_version
            b.onJson(22, buildJsonObject { put("transition_id", "x") }, sender)
            b.onJson(24, buildJsonObject { }, sender)
            b.onBinary(29, byteArrayOf(1), sender)
            b.onBinary(30, byteArrayOf(), sender)
            b.onBinary(99, byteArrayOf(1, 2, 3), sender) // unknown binary opcode: ignored, not malformed
            // Out of range: transition ids are 16-bit (op 29/30 carry them in two bytes), versions 0..255, epochs from 1.
            b.onJson(21, buildJsonObject { put("transition_id", 65_536); put("protocol_version", 1) }, sender)
            b.onJson(21, buildJsonObject { put("transition_id", 5); put("protocol_version", 256) }, sender)
            b.onJson(21, buildJsonObject { put("transition_id", 5); put("protocol_version", -1) }, sender)
            b.onJson(22, buildJsonObject { put("transition_id", -1) }, sender)
            b.onJson(24, buildJsonObject { put("epoch", 0); put("protocol_version", 1) }, sender)
            b.onJson(24, buildJsonObject { put("epoch", -7); put("protocol_version", 1) }, sender)
            b.onJson(24, buildJsonObject { put("epoch", 2); put("protocol_version", 1000) }, sender)
            s.calls shouldBe emptyList()
            b.malformed.get() shouldBe 12L
        }
    }

    test("what the session sends goes out on the latest socket in call order, JSON and binary") {
        runTest {
            val (b, s) = bridge(backgroundScope)
            val first = RecordingSender()
            s.callbacks.sendKeyPackage(byteArrayOf(1)) // before any socket: dropped
            runCurrent()
            b.onSessionDescription(1, first)
            s.callbacks.sendKeyPackage(byteArrayOf(0, 1))
            s.callbacks.sendCommitWelcome(byteArrayOf(2))
            s.callbacks.sendReadyForTransition(3)
            s.callbacks.sendInvalidCommitWelcome(4)
            runCurrent()
            first.sent shouldContainExactly listOf(
                "binary 26 [0, 1]", "binary 28 [2]", "json 23 {\"transition_id\":3}", "json 31 {\"transition_id\":4}",
            )
            val second = RecordingSender()
            b.onJson(22, buildJsonObject { put("transition_id", 1) }, second)
            s.callbacks.sendReadyForTransition(9)
            runCurrent()
            second.sent shouldContainExactly listOf("json 23 {\"transition_id\":9}")
            b.close()
            s.calls.last() shouldBe "close"
        }
    }

    test("a server that stops reading cannot grow the outbox without limit: the oldest messages are dropped") {
        runTest {
            val (b, s) = bridge(backgroundScope)
            val gate = CompletableDeferred<Unit>()
            val sent = mutableListOf<Int>()
            val sender = object : DaveGatewaySender {
                override suspend fun sendJson(op: Int, d: JsonObject) {
                    gate.await()
                    sent += d["transition_id"]!!.jsonPrimitive.int
                }
                override suspend fun sendBinary(op: Int, payload: ByteArray) = Unit
            }
            b.onSessionDescription(1, sender)
            s.callbacks.sendReadyForTransition(0)
            runCurrent() // the first message is being sent, and blocks
            val flood = 100_000
            for (t in 1 until flood) s.callbacks.sendReadyForTransition(t)
            runCurrent()
            gate.complete(Unit)
            runCurrent()
            val limit = DaveBridge.MAX_OUTBOX_MESSAGES
            sent.size shouldBe 1 + limit
            sent.drop(1) shouldContainExactly (flood - limit until flood).toList()
            b.outboxDropped.get() shouldBe (flood - 1 - limit).toLong()
        }
    }

    test("the outbox is bounded in bytes as well: large messages beyond 4 MiB push out the oldest") {
        runTest {
            val (b, s) = bridge(backgroundScope)
            val gate = CompletableDeferred<Unit>()
            val sent = mutableListOf<Int>()
            val sender = object : DaveGatewaySender {
                override suspend fun sendJson(op: Int, d: JsonObject) = Unit
                override suspend fun sendBinary(op: Int, payload: ByteArray) {
                    gate.await()
                    sent += payload[0].toInt()
                }
            }
            b.onSessionDescription(1, sender)
            s.callbacks.sendCommitWelcome(ByteArray(1))
            runCurrent()
            for (i in 1..100) s.callbacks.sendCommitWelcome(ByteArray(200_000) { i.toByte() })
            runCurrent()
            gate.complete(Unit)
            runCurrent()
            val fit = (DaveBridge.MAX_OUTBOX_BYTES / 200_000).toInt()
            sent.size shouldBe 1 + fit
            sent.drop(1) shouldContainExactly (101 - fit..100).toList()
            b.outboxDropped.get() shouldBe (100 - fit).toLong()
        }
    }

    test("a channel switch makes a session for the new channel's group, closes the old one and mutes its callbacks") {
        runTest {
            val made = mutableListOf<Pair<Long, RecordingSession>>()
            val b = DaveBridge({ _, channel, cb -> RecordingSession().also { it.callbacks = cb; made += channel to it } }, 7L, 42L, backgroundScope)
            val sender = RecordingSender()
            b.onSessionDescription(1, sender)
            b.switchChannel(43L)
            made.map { it.first } shouldContainExactly listOf(42L, 43L)
            val (old, new) = made[0].second to made[1].second
            old.calls.last() shouldBe "close"
            (b.session === new) shouldBe true
            old.callbacks.sendKeyPackage(byteArrayOf(1)) // late, from the replaced session: never sent
            new.callbacks.sendKeyPackage(byteArrayOf(2))
            runCurrent()
            sender.sent shouldContainExactly listOf("binary 26 [2]")
            b.onBinary(25, byteArrayOf(5), sender)
            new.calls shouldContainExactly listOf("sender [5]")
            b.frameEncryptor.maxEncryptedSize(10) shouldBe 10
            b.close()
            new.calls.last() shouldBe "close"
        }
    }

    test("with an MLS context, every session event runs there, one at a time and in the order the messages came") {
        // A session that notes the thread of each event and whether another event was running at the same time.
        val threads = java.util.Collections.synchronizedList(ArrayList<String>())
        val inside = java.util.concurrent.atomic.AtomicInteger()
        var overlapped = false
        val session = object : DaveSession by RecordingSession() {
            val calls = java.util.Collections.synchronizedList(ArrayList<String>())
            fun note(call: String) {
                if (inside.incrementAndGet() > 1) overlapped = true
                threads += Thread.currentThread().name
                calls += call
                inside.decrementAndGet()
            }
            override fun onSelectProtocolAck(protocolVersion: Int) = note("ack")
            override fun onPrepareTransition(transitionId: Int, protocolVersion: Int) = note("prepare $transitionId")
            override fun onExecuteTransition(transitionId: Int) = note("execute $transitionId")
            override fun onPrepareEpoch(epoch: Long, protocolVersion: Int) = note("epoch $epoch")
            override fun onExternalSenderPackage(payload: ByteArray) = note("sender")
            override fun onProposals(payload: ByteArray) = note("proposals")
            override fun onAnnounceCommit(transitionId: Int, commit: ByteArray) = note("commit $transitionId")
            override fun onWelcome(transitionId: Int, welcome: ByteArray) = note("welcome $transitionId")
        }
        val scope = kotlinx.coroutines.CoroutineScope(kotlinx.coroutines.SupervisorJob())
        try {
            val b = DaveBridge({ _, _, _ -> session }, 7L, 42L, scope, DaveWorker.dispatcher)
            val sender = RecordingSender()
            kotlinx.coroutines.runBlocking(kotlinx.coroutines.Dispatchers.Default) {
                b.onSessionDescription(1, sender)
                b.onJson(24, buildJsonObject { put("epoch", 1); put("protocol_version", 1) }, sender)
                b.onBinary(25, byteArrayOf(1), sender)
                b.onBinary(27, byteArrayOf(2), sender)
                b.onBinary(29, byteArrayOf(0, 4, 7), sender)
                b.onJson(21, buildJsonObject { put("transition_id", 4); put("protocol_version", 1) }, sender)
                b.onJson(22, buildJsonObject { put("transition_id", 4) }, sender)
                b.onBinary(30, byteArrayOf(0, 5, 8), sender)
            }
            session.calls shouldContainExactly listOf("ack", "epoch 1", "sender", "proposals", "commit 4", "prepare 4", "execute 4", "welcome 5")
            // (Coroutine debug mode appends " @coroutine#n" to the thread name.)
            threads.map { it.substringBefore(" @") }.toSet() shouldBe setOf("earshot-dave")
            overlapped shouldBe false
        } finally {
            scope.coroutineContext[kotlinx.coroutines.Job]!!.cancel()
        }
    }
})
