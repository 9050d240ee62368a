package dev.earshot.voice.fuzz

import dev.earshot.voice.dave.DaveCallbacks
import dev.earshot.voice.dave.JvmDaveSession
import dev.earshot.voice.dave.mls.DaveMlsException
import dev.earshot.voice.dave.mls.DaveMlsGroup
import dev.earshot.voice.dave.mls.FakeDaveGateway
import dev.earshot.voice.dave.mls.FakeDaveGateway.Companion.splitCommitWelcome
import dev.earshot.voice.dave.mls.MlsBounds
import dev.earshot.voice.dave.mls.MlsVectors
import io.kotest.assertions.throwables.shouldThrow
import io.kotest.assertions.withClue
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.longs.shouldBeLessThan
import io.kotest.matchers.shouldBe
import io.kotest.matchers.string.shouldContain
import org.bouncycastle.mls.codec.KeyPackage
import org.bouncycastle.mls.codec.MLSInputStream
import org.bouncycastle.mls.codec.MLSOutputStream
import kotlin.random.Random
import kotlin.time.Duration.Companion.hours

private const val CHANNEL = 4242L
private const val B = 1000L
private const val E = 1001L
private const val C = 1002L

/**
 * A group at epoch 1 (members [B] and [E], made by Earshot's own [DaveMlsGroup]s through the gateway's external
 * proposals) about to add [C]: the gateway's op 27 [proposals], [B]'s [commit] (op 29) and the [welcome] for [C]
 * (op 30). [e] has seen the proposals; [c] is pending with its key package [keyPackage].
 */
private class Scene {
    val gw = FakeDaveGateway(CHANNEL)
    val b = DaveMlsGroup(B, CHANNEL)
    val e = DaveMlsGroup(E, CHANNEL)
    val c = DaveMlsGroup(C, CHANNEL)
    val keyPackage: ByteArray
    val proposals: ByteArray
    val commit: ByteArray
    val welcome: ByteArray

    init {
        b.reset()
        b.setExternalSender(gw.externalSender)
        val kpE = e.reset()
        e.setExternalSender(gw.externalSender)
        val (commit1, welcome1) = splitCommitWelcome(b.processProposals(gw.append(gw.add(kpE, 0)), setOf(E))!!)
        b.processCommit(commit1)
        e.processWelcome(welcome1!!, setOf(B))
        keyPackage = c.reset()
        c.setExternalSender(gw.externalSender)
        proposals = gw.append(gw.add(keyPackage, 1))
        val (commit2, welcome2) = splitCommitWelcome(b.processProposals(proposals, setOf(E, C))!!)
        commit = commit2
        welcome = welcome2!!
        e.processProposals(proposals, setOf(B, C))
    }

    /** The group still works after the garbage: the proposals re-sent, then the valid commit and welcome take effect. */
    fun checkUsable() {
        c.setExternalSender(gw.externalSender)
        e.processProposals(proposals, setOf(B, C))
        e.processCommit(commit)!!.keys shouldBe setOf(B, E, C)
        c.processWelcome(welcome, setOf(B, E))
        e.epoch shouldBe 2L
        c.epoch shouldBe 2L
        c.exportSenderBaseSecret(B).toList() shouldBe e.exportSenderBaseSecret(B).toList()
    }
}

/**
 * Fuzzes the MLS layer with messages mutated from valid ones (made with BouncyCastle MLS and [DaveMlsGroup]): the op 25
 * external sender package, op 27 proposals (and, structure-aware, Add proposals re-signed by the gateway around
 * mutated key packages), op 29 commits and op 30 welcomes, fed to the entry points the gateway reaches.
 *
 * Invariants: nothing but [DaveMlsException] leaves [DaveMlsGroup]; no call allocates more than [ALLOCATION_LIMIT]
 * (BouncyCastle allocates declared lengths, so this catches a length that is not checked against the input); after
 * every round of garbage the valid commit and welcome still work. `-Dearshot.fuzz.inputs=N` (CI: 20 000).
 * Mutations are seeded; the valid messages carry fresh keys each run, so a finding is replayed from its printed hex.
 */
class MlsFuzzSpec : FunSpec({

    test("an op 25 of 8 bytes declaring a 1 GiB vector is refused without allocating it") {
        // ExternalSender: signature_key<V> with the 4-byte varint 0xBFFFFFFF (1 GiB - 1) and 4 bytes behind it.
        val payload = byteArrayOf(0xBF.toByte(), 0xFF.toByte(), 0xFF.toByte(), 0xFF.toByte(), 0, 1, 0, 0)
        val group = DaveMlsGroup(E, CHANNEL).apply { reset() }
        // The first call loads classes and fills stack traces; the one measured is the second.
        shouldThrow<DaveMlsException> { group.setExternalSender(payload) }
        val before = threadAllocatedBytes()
        shouldThrow<DaveMlsException> { group.setExternalSender(payload) }.message shouldContain "declared"
        (threadAllocatedBytes() - before) shouldBeLessThan (1L shl 20)
    }

    test("a key package whose leaf extensions nest ratchet trees 3000 deep is refused by the nesting cap, not a StackOverflowError") {
        fun v(body: ByteArray) = MlsVectors.encode(body)
        // LeafNode: keys, basic credential, empty capabilities, source update, extensions, signature.
        fun leaf(extensions: ByteArray) = v(byteArrayOf(1)) + v(byteArrayOf(2)) + byteArrayOf(0, 1) + v(ByteArray(8)) + ByteArray(5) +
            byteArrayOf(2) + v(extensions) + v(byteArrayOf(3))
        // A ratchet_tree extension holding one present leaf node.
        fun tree(leafNode: ByteArray) = byteArrayOf(0, 2) + v(v(byteArrayOf(1, 1) + leafNode))
        var node = leaf(ByteArray(0))
        repeat(3000) { node = leaf(tree(node)) }
        val keyPackage = byteArrayOf(0, 1, 0, 2) + v(byteArrayOf(4)) + node + v(ByteArray(0)) + v(byteArrayOf(5))
        shouldThrow<DaveMlsException> { MlsBounds.checkKeyPackage(keyPackage) }.message shouldContain "nested"
    }

    test("the bounds check accepts every valid message it guards") {
        val s = Scene()
        MlsBounds.checkExternalSender(s.gw.externalSender)
        MlsBounds.checkKeyPackage(s.keyPackage)
        MlsBounds.checkMessage(s.commit)
        MlsBounds.checkWelcome(s.welcome)
        MlsBounds.checkMessages(MlsVectors.Reader(s.proposals, 1).readVector()) // the vector after the operation byte
        s.checkUsable()
    }

    test("mutated external senders, proposals, key packages, commits and welcomes: only DaveMlsException, bounded allocation, the group stays usable").config(timeout = 2.hours) {
        val seed = FuzzConfig.seed(14)
        val inputs = FuzzConfig.inputs(20_000)
        val random = Random(seed)
        val mutator = Mutator(random)
        val findings = Findings()
        val counts = HashMap<String, IntArray>() // kind -> [accepted, refused]
        var maxAllocation = 0L
        var unchanged = 0
        var rounds = 0
        val start = System.nanoTime()
        var done = 0
        while (done < inputs) {
            val s = Scene()
            rounds++
            val corpus = listOf(s.gw.externalSender, s.proposals, s.commit, s.welcome, s.keyPackage)
            val round = minOf(ROUND, inputs - done)
            repeat(round) {
                val kind: String
                val input: ByteArray
                val call: () -> Unit
                when (random.nextInt(20)) {
                    in 0..2 -> {
                        kind = "op25"
                        input = mutator.mutate(s.gw.externalSender, corpus, intArrayOf(0, 66, 67, 68))
                        val target = if (random.nextBoolean()) s.c else s.e
                        call = { target.setExternalSender(input) }
                    }
                    in 3..7 -> {
                        kind = "op27"
                        input = mutator.mutate(s.proposals, corpus, intArrayOf(0, 1, 2, 3, 4, 5, 6))
                        call = { s.e.processProposals(input, setOf(B, C)) }
                    }
                    in 8..9 -> {
                        kind = "op27-keypackage"
                        val kp = mutator.mutate(s.keyPackage, corpus, intArrayOf(0, 2, 4, 5, 6))
                        // Structure-aware: only key packages BouncyCastle can decode get a fresh gateway signature.
                        val decoded = try {
                            MlsBounds.checkKeyPackage(kp)
                            MLSInputStream.decode(kp, KeyPackage::class.java)
                        } catch (e: Exception) {
                            null
                        }
                        // BouncyCastle ignores bytes after a decoded structure: a key package that re-encodes to the
                        // original is not a mutation.
                        val changed = decoded != null && !MLSOutputStream.encode(decoded).contentEquals(s.keyPackage)
                        input = if (changed) s.gw.append(s.gw.add(kp, 1)) else mutator.mutate(s.proposals, corpus)
                        call = { s.e.processProposals(input, setOf(B, C)) }
                    }
                    in 10..14 -> {
                        kind = "op29"
                        input = mutator.mutate(s.commit, corpus, intArrayOf(0, 2, 4, 5))
                        call = { s.e.processCommit(input) }
                    }
                    else -> {
                        kind = "op30"
                        input = mutator.mutate(s.welcome, corpus, intArrayOf(0, 2, 3, 4, 5))
                        call = { s.c.processWelcome(input, setOf(B, E)) }
                    }
                }
                // A mutation can undo itself (a flipped bit flipped back, a byte replaced by its own value): the valid
                // message would then take effect and the round's usability check would see a group that moved on.
                if (corpus.any { it.contentEquals(input) }) {
                    unchanged++
                    return@repeat
                }
                val count = counts.getOrPut(kind) { IntArray(2) }
                val before = threadAllocatedBytes()
                try {
                    call()
                    count[0]++
                } catch (e: DaveMlsException) {
                    count[1]++
                } catch (t: Throwable) {
                    findings.record(kind, t, input.toHex())
                }
                val allocated = threadAllocatedBytes() - before
                maxAllocation = maxOf(maxAllocation, allocated)
                if (allocated > ALLOCATION_LIMIT) findings.violation("$kind allocated $allocated bytes for ${input.size} input bytes", input.toHex())
            }
            done += round
            if (rounds % 50 == 0) FuzzConfig.report("mls", seed, done, start, "rounds=$rounds maxAllocation=$maxAllocation", progress = true)
            try {
                s.checkUsable()
            } catch (t: Throwable) {
                findings.record("usable after round $rounds", t, "round $rounds")
            }
        }
        FuzzConfig.report(
            "mls", seed, done, start,
            "rounds=$rounds unchanged=$unchanged maxAllocation=$maxAllocation " + counts.entries.sortedBy { it.key }.joinToString(" ") { "${it.key}=${it.value[0]}ok/${it.value[1]}refused" },
        )
        withClue("findings (seed $seed):\n$findings") { findings.isEmpty shouldBe true }
    }

    test("JvmDaveSession: mutated ops 25/27/29/30 are counted as invalid, nothing escapes, a valid external sender still takes").config(timeout = 2.hours) {
        val seed = FuzzConfig.seed(15)
        val inputs = FuzzConfig.inputs(20_000) / 10
        val random = Random(seed)
        val mutator = Mutator(random)
        val s = Scene()
        val corpus = listOf(s.gw.externalSender, s.proposals, s.commit, s.welcome)
        val sent = ArrayList<String>()
        val session = JvmDaveSession(E, CHANNEL, object : DaveCallbacks {
            override fun sendKeyPackage(keyPackage: ByteArray) { sent += "26" }
            override fun sendReadyForTransition(transitionId: Int) { sent += "23" }
            override fun sendCommitWelcome(commitWelcome: ByteArray) { sent += "28" }
            override fun sendInvalidCommitWelcome(transitionId: Int) { sent += "31" }
        })
        session.onExternalSenderPackage(s.gw.externalSender)
        session.onSelectProtocolAck(1)
        session.addUser(B)
        session.addUser(C)
        val findings = Findings()
        val start = System.nanoTime()
        repeat(inputs) { i ->
            val base = corpus[random.nextInt(corpus.size)]
            val input = mutator.mutate(base, corpus)
            try {
                when (random.nextInt(4)) {
                    0 -> session.onExternalSenderPackage(input)
                    1 -> session.onProposals(input)
                    2 -> session.onAnnounceCommit(i and 0xFFFF, input)
                    else -> session.onWelcome(i and 0xFFFF, input)
                }
            } catch (t: Throwable) {
                findings.record("session", t, input.toHex())
            }
        }
        FuzzConfig.report("mls-session", seed, inputs, start, "invalid=${session.stats().invalidMessages} reinits=${session.stats().reinits}")
        withClue("findings (seed $seed):\n$findings") { findings.isEmpty shouldBe true }
        (session.stats().invalidMessages > 0) shouldBe true
        // Still alive: the gateway's real package is taken (no new invalid message) and a reset sends a key package.
        val invalid = session.stats().invalidMessages
        session.onExternalSenderPackage(s.gw.externalSender)
        session.onPrepareEpoch(1, 1)
        session.stats().invalidMessages shouldBe invalid
        sent.last() shouldBe "26"
        session.close()
    }
}) {
    private companion object {
        const val ROUND = 2_000

        /** Valid commits and welcomes allocate about 1 MiB in BouncyCastle (printed as maxAllocation); garbage must stay below 16. */
        const val ALLOCATION_LIMIT = 16L shl 20
    }
}
