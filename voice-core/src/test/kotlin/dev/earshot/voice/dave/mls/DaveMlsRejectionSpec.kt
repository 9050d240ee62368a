package dev.earshot.voice.dave.mls

import dev.earshot.voice.dave.mls.FakeDaveGateway.Companion.splitCommitWelcome
import io.kotest.assertions.throwables.shouldThrow
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.collections.shouldContainExactlyInAnyOrder
import io.kotest.matchers.ints.shouldBeGreaterThan
import io.kotest.matchers.nulls.shouldBeNull
import io.kotest.matchers.nulls.shouldNotBeNull
import io.kotest.matchers.shouldBe
import io.kotest.matchers.string.shouldContain
import java.util.Random
import org.bouncycastle.mls.codec.KeyPackage
import org.bouncycastle.mls.codec.MLSInputStream
import org.bouncycastle.mls.codec.MLSMessage
import org.bouncycastle.mls.codec.MLSOutputStream
import org.bouncycastle.mls.codec.Welcome
import org.bouncycastle.mls.protocol.Group

/**
 * What [DaveMlsGroup] must refuse, made with BouncyCastle alone (no node): every refusal is a [DaveMlsException]
 * (or null where documented) and never another exception, and a refused message leaves the state usable.
 */
class DaveMlsRejectionSpec : FunSpec({
    val channel = 4242L
    val self = 1001L
    val other = 1000L

    /** A pending Earshot member with its key package, and a gateway. */
    fun pending(gw: FakeDaveGateway, userId: Long = self): Pair<DaveMlsGroup, ByteArray> {
        val e = DaveMlsGroup(userId, channel)
        val kp = e.reset()
        e.setExternalSender(gw.externalSender)
        return e to kp
    }

    /** Earshot member [self] in a group made by Earshot member [other] (epoch 1), both returned. */
    fun pair(gw: FakeDaveGateway): Pair<DaveMlsGroup, DaveMlsGroup> {
        val (b, _) = pending(gw, other)
        val (e, kp) = pending(gw)
        val (commit, welcome) = splitCommitWelcome(b.processProposals(gw.append(gw.add(kp, 0)), setOf(self))!!)
        b.processCommit(commit)
        e.processWelcome(welcome!!, setOf(other))
        return b to e
    }

    test("proposals not from the gateway's external sender are refused: wrong sender index, wrong key, new-member sender") {
        val gw = FakeDaveGateway(channel)
        val (e, _) = pending(gw)
        val kp = RawBcMember(other, channel, gw.externalSender).keyPackage
        shouldThrow<DaveMlsException> { e.processProposals(gw.append(gw.add(kp, 0, senderIndex = 1)), setOf(other)) }
            .message shouldContain "external sender"
        val impostor = FakeDaveGateway(channel)
        shouldThrow<DaveMlsException> { e.processProposals(impostor.append(impostor.add(kp, 0)), setOf(other)) }
        val suite = gw.suite
        val newMember = MLSOutputStream.encode(
            Group.newMemberAdd(longBytes(channel), 0, MLSInputStream.decode(kp, KeyPackage::class.java) as KeyPackage, suite.generateSignatureKeyPair()),
        )
        shouldThrow<DaveMlsException> { e.processProposals(gw.append(newMember), setOf(other)) }
        // Nothing was cached: a valid proposal now gives a commit adding exactly that user.
        val out = e.processProposals(gw.append(gw.add(kp, 0)), setOf(other)).shouldNotBeNull()
        e.processCommit(splitCommitWelcome(out).first)!!.keys shouldBe setOf(self, other)
    }

    test("a proposal for another epoch, an Add of an unrecognized user, and a bad operation type are refused") {
        val gw = FakeDaveGateway(channel)
        val (e, _) = pending(gw)
        val kp = RawBcMember(other, channel, gw.externalSender).keyPackage
        shouldThrow<DaveMlsException> { e.processProposals(gw.append(gw.add(kp, 1)), setOf(other)) }.message shouldContain "epoch"
        shouldThrow<DaveMlsException> { e.processProposals(gw.append(gw.add(kp, 0)), setOf(7L)) }.message shouldContain "unrecognized"
        shouldThrow<DaveMlsException> { e.processProposals(byteArrayOf(2) + gw.vector(gw.add(kp, 0)), setOf(other)) }
        // A batch with one bad proposal leaves the cache as it was.
        val good = gw.add(RawBcMember(1002, channel, gw.externalSender).keyPackage, 0)
        shouldThrow<DaveMlsException> { e.processProposals(gw.append(good, gw.add(kp, 0)), setOf(1002L)) }
        val addOther = gw.add(kp, 0)
        e.processProposals(gw.append(addOther), setOf(other)).shouldNotBeNull()
        val out = e.processProposals(gw.append(addOther), setOf(other))!! // a re-sent proposal is cached once
        e.processCommit(splitCommitWelcome(out).first)!!.keys shouldBe setOf(self, other)
    }

    test("no group: proposals and commits are ignored (null); welcomes without a key package are refused") {
        val gw = FakeDaveGateway(channel)
        val e = DaveMlsGroup(self, channel)
        e.epoch.shouldBeNull()
        e.processProposals(gw.append(), setOf()).shouldBeNull()
        e.processCommit(byteArrayOf(0, 1, 0, 1)).shouldBeNull()
        shouldThrow<DaveMlsException> { e.processWelcome(byteArrayOf(0, 2), setOf()) }
        shouldThrow<DaveMlsException> { e.exportSenderBaseSecret(self) }
        e.epochAuthenticator.shouldBeNull()
    }

    test("a commit with an inline proposal, and one referencing a proposal we never saw, are refused") {
        val gw = FakeDaveGateway(channel)
        val x = RawBcMember(other, channel, gw.externalSender)
        val (e, kp) = pending(gw)
        val (_, welcome) = x.commit(kp) // BouncyCastle member adds Earshot with an inline Add
        e.processWelcome(welcome, setOf(other)).keys shouldBe setOf(self, other)

        val y = RawBcMember(1002, channel, gw.externalSender)
        val addY = gw.add(y.keyPackage, 1)
        x.handleProposal(addY)
        e.processProposals(gw.append(addY), setOf(1002L)).shouldNotBeNull()
        val z = RawBcMember(1003, channel, gw.externalSender)
        val saved = x.group
        val (inline, _) = x.commit(z.keyPackage)
        shouldThrow<DaveMlsException> { e.processCommit(inline) }.message shouldContain "inline"

        x.group = saved
        x.handleProposal(gw.add(z.keyPackage, 1)) // Earshot never got this one
        val (unknownRef, _) = x.commit()
        shouldThrow<DaveMlsException> { e.processCommit(unknownRef) }.message shouldContain "unknown proposal"
        e.epoch shouldBe 1L
    }

    test("welcomes with another external sender or a user twice are refused; a member not yet announced is accepted") {
        val gw = FakeDaveGateway(channel)
        val foreign = FakeDaveGateway(channel)
        run {
            val (e, kp) = pending(gw)
            val (_, welcome) = RawBcMember(other, channel, foreign.externalSender).commit(kp)
            shouldThrow<DaveMlsException> { e.processWelcome(welcome, setOf(other)) }.message shouldContain "external sender"
            e.isEstablished shouldBe false
        }
        run {
            val (e, kp) = pending(gw)
            val (_, welcome) = RawBcMember(other, channel, gw.externalSender).commit(kp)
            // A member op 11 has not announced yet is accepted (as libdave and davey do), not refused.
            e.processWelcome(welcome, setOf(99L)).keys shouldBe setOf(self, other)
        }
        run {
            val (e, kp) = pending(gw)
            val twin = RawBcMember(other, channel, gw.externalSender).keyPackage
            val (_, welcome) = RawBcMember(other, channel, gw.externalSender).commit(kp, twin)
            shouldThrow<DaveMlsException> { e.processWelcome(welcome, setOf(other)) }.message shouldContain "twice"
        }
    }

    test("a commit whose roster would hold a user twice is refused and the group stays at its epoch") {
        val gw = FakeDaveGateway(channel)
        val (_, e) = pair(gw)
        val twin = gw.add(RawBcMember(other, channel, gw.externalSender).keyPackage, 1)
        val (commit, _) = splitCommitWelcome(e.processProposals(gw.append(twin), setOf(other))!!)
        shouldThrow<DaveMlsException> { e.processCommit(commit) }.message shouldContain "twice"
        e.epoch shouldBe 1L
        e.roster.keys shouldContainExactlyInAnyOrder listOf(self, other)
    }

    test("random garbage into every entry point gives DaveMlsException or null, nothing else") {
        val gw = FakeDaveGateway(channel)
        val rnd = Random(20260917)
        val (_, established) = pair(gw)
        val (pendingE, _) = pending(gw)
        // With a proposal processed in this epoch, commits are parsed rather than ignored.
        established.processProposals(gw.append(gw.add(RawBcMember(1002, channel, gw.externalSender).keyPackage, 1)), setOf(1002L))
        var refused = 0
        repeat(400) { i ->
            val junk = ByteArray(rnd.nextInt(300)).also(rnd::nextBytes)
            val target = if (i % 2 == 0) established else pendingE
            for (call in listOf<() -> Any?>(
                { target.processProposals(junk, setOf(other)) },
                { target.processProposals(byteArrayOf(0) + MlsVectors.encode(junk), setOf(other)) },
                { target.processCommit(junk) },
                { pendingE.processWelcome(junk, setOf(other)) },
                { DaveMlsGroup(self, channel).apply { reset() }.setExternalSender(junk) },
            )) {
                try { call() } catch (e: DaveMlsException) { refused++ }
            }
        }
        refused shouldBeGreaterThan 1500
        established.epoch shouldBe 1L
    }

    test("1000 mutations of valid op 25/27/29/30 messages give DaveMlsException, or are accepted only as re-encodings of the same message") {
        val gw = FakeDaveGateway(channel)
        val rnd = Random(8128)
        fun welcomeTarget(): Pair<DaveMlsGroup, ByteArray> {
            val (joiner, kp) = pending(gw)
            return joiner to RawBcMember(other, channel, gw.externalSender).commit(kp).second
        }
        /** An established member that has the proposal of a commit it has not processed yet, and that commit. */
        fun commitTarget(): Pair<DaveMlsGroup, ByteArray> {
            val (b, e2) = pair(gw)
            val addY = gw.add(RawBcMember(1002, channel, gw.externalSender).keyPackage, 1)
            e2.processProposals(gw.append(addY), setOf(1002L))
            return e2 to splitCommitWelcome(b.processProposals(gw.append(addY), setOf(1002L))!!).first
        }
        var (joiner, welcome) = welcomeTarget()
        var (e2, commit) = commitTarget()
        val (_, e) = pair(gw)
        val proposals = gw.append(gw.add(RawBcMember(1002, channel, gw.externalSender).keyPackage, 1))

        // BouncyCastle checks signatures, membership tags and AEADs over its re-encoding of what it parsed, so a
        // mutation it parses into the same structures (an encoding detail) is the same message and may be accepted.
        fun canonical(kind: Int, bytes: ByteArray): ByteArray = when (kind) {
            1 -> FakeDaveGateway.concat(ArrayList<MLSMessage>().also {
                MLSInputStream(bytes.copyOfRange(1, bytes.size)).readList(it, MLSMessage::class.java)
            }.map { MLSOutputStream.encode(it) })
            2 -> MLSOutputStream.encode(MLSInputStream.decode(bytes, MLSMessage::class.java))
            else -> MLSOutputStream.encode(MLSInputStream.decode(bytes, Welcome::class.java))
        }

        fun mutate(valid: ByteArray): ByteArray {
            val m = valid.copyOf()
            when (rnd.nextInt(3)) {
                0 -> rnd.nextInt(m.size).let { at -> m[at] = (m[at].toInt() xor (1 shl rnd.nextInt(8))).toByte() }
                1 -> m[rnd.nextInt(m.size)] = rnd.nextInt(256).toByte()
                else -> return m.copyOf(rnd.nextInt(m.size)) // truncation
            }
            return m
        }
        val refused = IntArray(4)
        val equivalent = IntArray(4)
        repeat(1000) { i ->
            val kind = i % 4
            val valid = when (kind) { 0 -> gw.externalSender; 1 -> proposals; 2 -> commit; else -> welcome }
            val m = mutate(valid)
            try {
                when (kind) {
                    0 -> DaveMlsGroup(self, channel).apply { reset() }.setExternalSender(m)
                    1 -> e.processProposals(m, setOf(1002L)).shouldNotBeNull()
                    2 -> e2.processCommit(m).shouldNotBeNull()
                    else -> joiner.processWelcome(m, setOf(other))
                }
                if (kind != 0) {
                    canonical(kind, m).contentEquals(canonical(kind, valid)) shouldBe true
                    equivalent[kind]++
                }
                if (kind == 2) commitTarget().let { e2 = it.first; commit = it.second }
                if (kind == 3) welcomeTarget().let { joiner = it.first; welcome = it.second }
            } catch (ex: DaveMlsException) {
                refused[kind]++
            }
        }
        println("mutations refused: op 25 ${refused[0]}/250, op 27 ${refused[1]}/250, op 29 ${refused[2]}/250, op 30 ${refused[3]}/250; " +
            "accepted as re-encodings of the valid message: ${equivalent.drop(1)}")
        // Proposals, commits and welcomes are signed, MACed or AEAD-sealed: every real change is refused.
        for (kind in 1..3) (refused[kind] + equivalent[kind]) shouldBe 250
        for (kind in 1..3) refused[kind] shouldBeGreaterThan 240
        // An op 25 payload is not authenticated, so most mutations of its key bytes still parse.
        refused[0] shouldBeGreaterThan 0
    }
})

private fun longBytes(v: Long) = java.nio.ByteBuffer.allocate(8).putLong(v).array()
