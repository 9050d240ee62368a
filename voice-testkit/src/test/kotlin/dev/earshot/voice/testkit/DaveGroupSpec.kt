package dev.earshot.voice.testkit

import dev.earshot.voice.testkit.internal.DaveGroup
import dev.earshot.voice.testkit.internal.DaveMls
import dev.earshot.voice.testkit.internal.DaveOutput
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.collections.shouldBeEmpty
import io.kotest.matchers.collections.shouldContainExactly
import io.kotest.matchers.shouldBe
import io.kotest.matchers.shouldNotBe
import kotlin.time.Duration
import kotlinx.serialization.json.JsonObject
import kotlinx.serialization.json.int
import kotlinx.serialization.json.jsonPrimitive

/**
 * The gateway's DAVE orchestrator ([DaveGroup]) against members that run real MLS (BouncyCastle, [BcDaveMember]):
 * the members' epoch authenticators must agree after every transition, which only happens when the server sent the
 * right proposals for the right epoch, picked a commit every member could apply and welcomed the joiners.
 */
class DaveGroupSpec : FunSpec({
    test("a first member is alone in its pending group: op 25 and nothing else") {
        val h = Harness()
        val a = h.member(1)
        h.join(a)
        h.received(a) shouldContainExactly listOf(25)
        h.keyPackage(a)
        h.group.memberCount shouldBe 1
        h.group.epoch shouldBe 0
        h.group.busy shouldBe false
        h.received(a) shouldContainExactly listOf(25)
    }

    test("a second member: op 27 to the first, its commit announced (29) and welcomed (30), ready (23), executed (22)") {
        val h = Harness()
        val (a, b) = h.members(1, 2)
        h.join(a); h.keyPackage(a)
        h.join(b); h.keyPackage(b)
        h.received(a) shouldContainExactly listOf(25, 27, 29, 22)
        h.received(b) shouldContainExactly listOf(25, 30, 22)
        h.executedIds(a) shouldBe h.executedIds(b)
        h.executedIds(a).single() shouldNotBe 0
        h.group.epoch shouldBe 1
        a.epoch shouldBe 1
        a.epochAuthenticator() shouldBe b.epochAuthenticator()
        h.group.members() shouldContainExactly listOf(a, b)
        h.group.executed shouldBe 1
        h.rejects.shouldBeEmpty()
    }

    test("a third member: both members commit, the first commit wins, the loser applies the winner's") {
        val h = Harness()
        val (a, b, c) = h.members(1, 2, 3)
        listOf(a, b).forEach { h.join(it); h.keyPackage(it) }
        h.autoCommit = false
        h.join(c); h.keyPackage(c)
        h.heldCommits.map { it.first }.toSet() shouldBe setOf(a, b)
        val fromB = h.heldCommits.single { it.first == b }.second
        val fromA = h.heldCommits.single { it.first == a }.second
        h.heldCommits.clear()
        h.group.commitWelcome(b, fromB)
        h.group.commitWelcome(a, fromA) // lost the race: ignored, not counted as bad
        h.pump()
        h.rejects.shouldBeEmpty()
        h.group.epoch shouldBe 2
        listOf(a, b, c).map { it.epoch } shouldContainExactly listOf(2L, 2L, 2L)
        a.epochAuthenticator() shouldBe b.epochAuthenticator()
        c.epochAuthenticator() shouldBe b.epochAuthenticator()
        h.received(c) shouldContainExactly listOf(25, 30, 22)
        h.group.members() shouldContainExactly listOf(a, b, c)
        listOf(a, b, c).map { h.group.leafOf(it) } shouldContainExactly listOf(a.leafIndex, b.leafIndex, c.leafIndex)
    }

    test("a member leaves: external Remove, commit, op 29 and op 22; the next joiner takes the blank leaf") {
        val h = Harness()
        val (a, b, c) = h.members(1, 2, 3)
        listOf(a, b, c).forEach { h.join(it); h.keyPackage(it) }
        h.clearReceived()
        h.group.leave(b)
        h.pump()
        h.received(a) shouldContainExactly listOf(27, 29, 22)
        h.received(c) shouldContainExactly listOf(27, 29, 22)
        h.group.epoch shouldBe 3
        a.epochAuthenticator() shouldBe c.epochAuthenticator()
        h.group.members() shouldContainExactly listOf(a, c)

        val d = h.member(4)
        h.join(d); h.keyPackage(d)
        h.group.leafOf(d) shouldBe 1
        d.leafIndex shouldBe 1
        d.epochAuthenticator() shouldBe a.epochAuthenticator()
        h.group.members() shouldContainExactly listOf(a, d, c)
    }

    test("op 31: the member is removed and, with its new key package, added again by welcome") {
        val h = Harness()
        val (a, b, c) = h.members(1, 2, 3)
        listOf(a, b, c).forEach { h.join(it); h.keyPackage(it) }
        val before = h.group.epoch
        h.clearReceived()
        h.group.invalid(c, 7)
        h.pump()
        // The Remove round runs with a and b; c sends its new key package meanwhile and is added in the next round.
        h.keyPackage(c)
        h.group.busy shouldBe false
        h.received(c).last() shouldBe 22
        h.received(c) shouldContainExactly listOf(30, 22)
        h.group.epoch shouldBe before + 2
        c.epochAuthenticator() shouldBe a.epochAuthenticator()
        b.epochAuthenticator() shouldBe a.epochAuthenticator()
        h.group.members().toSet() shouldBe setOf(a, b, c)
    }

    test("the last member is reset: op 24 epoch 1 then op 21 transition 0, and its new key package starts a pending group") {
        val h = Harness()
        val (a, b) = h.members(1, 2)
        listOf(a, b).forEach { h.join(it); h.keyPackage(it) }
        h.clearReceived()
        h.autoKeyPackageOnReset = false
        h.group.leave(b)
        h.pump()
        h.received(a) shouldContainExactly listOf(24, 21)
        h.json(a, 24)!!["epoch"]!!.jsonPrimitive.int shouldBe 1
        h.json(a, 24)!!["protocol_version"]!!.jsonPrimitive.int shouldBe 1
        h.json(a, 21)!!["transition_id"]!!.jsonPrimitive.int shouldBe 0
        h.group.memberCount shouldBe 0
        h.keyPackage(a)
        h.group.memberCount shouldBe 1
        h.group.epoch shouldBe 0

        // And the group grows again from there.
        val c = h.member(3)
        h.join(c); h.keyPackage(c)
        c.epochAuthenticator() shouldBe a.epochAuthenticator()
        h.group.epoch shouldBe 1
    }

    test("a member that never sends op 23: the transition is executed when the ready timer fires") {
        val h = Harness()
        val (a, b) = h.members(1, 2)
        h.join(a); h.keyPackage(a)
        h.autoReadyFor = setOf(a)
        h.join(b); h.keyPackage(b)
        h.received(a) shouldContainExactly listOf(25, 27, 29)
        h.group.busy shouldBe true
        h.fireTimers()
        h.received(a).last() shouldBe 22
        h.received(b).last() shouldBe 22
        h.group.busy shouldBe false
    }

    test("bad key packages, commits and reports are counted and dropped; the group carries on") {
        val h = Harness()
        val (a, b) = h.members(1, 2)
        val stranger = h.member(9)
        h.join(a); h.keyPackage(a)
        h.group.keyPackage(a, byteArrayOf(1, 2, 3)) // garbage, and from a member
        h.group.keyPackage(stranger, stranger.newKeyPackage()) // never joined
        h.join(b)
        h.group.keyPackage(b, h.member(5).newKeyPackage()) // someone else's identity
        h.rejects.size shouldBe 3
        h.autoCommit = false
        h.keyPackage(b)
        val commit = h.heldCommits.single().second
        h.heldCommits.clear()
        h.group.commitWelcome(a, byteArrayOf(0, 1, 0, 1, 9, 9))
        h.group.commitWelcome(a, commit.copyOf(commit.size - 1)) // truncated welcome
        val wrongEpoch = commit.copyOf().also { it[4 + 1 + 8 + 7] = (it[4 + 1 + 8 + 7] + 1).toByte() }
        h.group.commitWelcome(a, wrongEpoch)
        h.rejects.size shouldBe 6
        h.group.busy shouldBe true
        h.group.commitWelcome(a, commit)
        h.pump()
        a.epochAuthenticator() shouldBe b.epochAuthenticator()
        h.group.rejected shouldBe 6
    }

    test("no commit at all: every client is reset with op 24 and the group is built again") {
        val h = Harness()
        val (a, b) = h.members(1, 2)
        h.join(a); h.keyPackage(a)
        h.autoCommit = false
        h.join(b); h.keyPackage(b)
        h.heldCommits.clear()
        h.autoCommit = true
        h.clearReceived()
        h.fireTimers()
        h.pump()
        h.received(a).first() shouldBe 24
        h.received(b).first() shouldBe 24
        a.epochAuthenticator() shouldBe b.epochAuthenticator()
        h.group.epoch shouldBe 1
    }

    test("downgrade: op 21 version 0 to everyone, op 22 once all are ready; upgrade: op 24 epoch 1 and op 25") {
        val h = Harness()
        val (a, b) = h.members(1, 2)
        listOf(a, b).forEach { h.join(it); h.keyPackage(it) }
        h.clearReceived()
        h.group.setActive(false)
        h.pump()
        h.received(a) shouldContainExactly listOf(21, 22)
        h.json(a, 21)!!["protocol_version"]!!.jsonPrimitive.int shouldBe 0
        h.group.memberCount shouldBe 0
        h.clearReceived()
        h.group.setActive(true)
        h.pump()
        h.received(a).take(2) shouldContainExactly listOf(24, 25)
        a.epochAuthenticator() shouldBe b.epochAuthenticator()
        h.group.memberCount shouldBe 2
    }
})

/** Drives a [DaveGroup] with [BcDaveMember]s, delivering what the group sends like a client's gateway loop would. */
private class Harness : DaveOutput<BcDaveMember> {
    class Message(val op: Int, val json: JsonObject?, val binary: ByteArray?)

    val group = DaveGroup(GROUP, this, readyTimeout = Duration.ZERO, commitTimeout = Duration.ZERO)
    private val inbox = LinkedHashMap<BcDaveMember, ArrayDeque<Message>>()
    private val delivered = LinkedHashMap<BcDaveMember, MutableList<Message>>()
    private val timers = ArrayList<Long>()
    val rejects = ArrayList<String>()
    val heldCommits = ArrayList<Pair<BcDaveMember, ByteArray>>()
    var autoCommit = true
    var autoReadyFor: Set<BcDaveMember>? = null
    var autoKeyPackageOnReset = true

    fun member(id: Long) = BcDaveMember(id, GROUP)
    fun members(vararg ids: Long) = ids.map(::member)

    fun join(m: BcDaveMember) {
        group.join(m, m.userId.toString())
        pump()
    }

    fun keyPackage(m: BcDaveMember) {
        group.keyPackage(m, m.newKeyPackage())
        pump()
    }

    fun received(m: BcDaveMember): List<Int> = delivered[m].orEmpty().map { it.op }
    fun json(m: BcDaveMember, op: Int): JsonObject? = delivered[m].orEmpty().lastOrNull { it.op == op }?.json
    fun executedIds(m: BcDaveMember): List<Int> =
        delivered[m].orEmpty().filter { it.op == 22 }.map { it.json!!["transition_id"]!!.jsonPrimitive.int }

    fun clearReceived() = delivered.clear()

    fun fireTimers() {
        val due = timers.toList()
        timers.clear()
        due.forEach { group.timeout(it) }
        pump()
    }

    fun pump() {
        while (true) {
            val (m, queue) = inbox.entries.firstOrNull { it.value.isNotEmpty() } ?: return
            handle(m, queue.removeFirst())
        }
    }

    private fun ready(m: BcDaveMember, id: Int) {
        if (autoReadyFor?.contains(m) != false) group.ready(m, id)
    }

    private fun handle(m: BcDaveMember, msg: Message) {
        delivered.getOrPut(m) { ArrayList() } += msg
        when (msg.op) {
            25 -> m.setExternalSender(msg.binary!!)
            27 -> {
                val commit = m.processProposals(msg.binary!!)
                if (autoCommit) group.commitWelcome(m, commit) else heldCommits += m to commit
            }
            29 -> ready(m, m.processCommit(msg.binary!!))
            30 -> ready(m, m.processWelcome(msg.binary!!))
            24 -> if (autoKeyPackageOnReset) group.keyPackage(m, m.newKeyPackage()) else m.newKeyPackage()
            21 -> if (msg.json!!["transition_id"]!!.jsonPrimitive.int != 0) group.ready(m, msg.json["transition_id"]!!.jsonPrimitive.int)
        }
    }

    override fun json(to: BcDaveMember, op: Int, d: JsonObject) {
        inbox.getOrPut(to) { ArrayDeque() } += Message(op, d, null)
    }

    override fun binary(to: BcDaveMember, op: Int, payload: ByteArray) {
        inbox.getOrPut(to) { ArrayDeque() } += Message(op, null, payload)
    }

    override fun schedule(after: Duration, token: Long) {
        timers += token
    }

    override fun rejected(from: BcDaveMember, why: String) {
        rejects += why
    }

    companion object {
        val GROUP: ByteArray = DaveMls.groupId("2002")
    }
}
