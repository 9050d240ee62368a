package dev.earshot.voice.dave.mls

import dev.earshot.voice.dave.mls.DaveTestCrypto.hex
import dev.earshot.voice.dave.mls.FakeDaveGateway.Companion.splitCommitWelcome
import io.kotest.assertions.throwables.shouldThrow
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.nulls.shouldBeNull
import io.kotest.matchers.nulls.shouldNotBeNull
import io.kotest.matchers.shouldBe
import java.security.SecureRandom
import java.util.concurrent.atomic.AtomicInteger

/**
 * [DaveMlsGroup] against @snazzah/davey 0.1.12 (Rust/OpenMLS, what discord.js uses), with the test playing the voice
 * gateway. At every epoch both sides must agree on the epoch, the epoch authenticator, the 30-digit privacy code
 * and the roster, and media frames must decrypt both ways with keys derived from Earshot's exporter.
 */
class DaveyInteropSpec : FunSpec({
    val enabled = DaveyPeer.enabledOrReason
    val peer = lazy { DaveyPeer.start() }
    afterSpec { if (peer.isInitialized()) peer.value.close() }

    test("davey creates the group and Earshot joins by davey's Welcome; Earshot decrypts all of davey's frames")
        .config(enabledOrReasonIf = { enabled }) {
            val davey = peer.value
            val gw = FakeDaveGateway(CHANNEL)
            val a = davey.session("s1-A", USER_A, CHANNEL).apply { setExternalSender(gw.externalSender) }
            DaveMlsGroup(USER_E, CHANNEL).use { e ->
                val kp = e.reset()
                e.setExternalSender(gw.externalSender)
                e.epoch shouldBe 0L
                e.isEstablished shouldBe false

                val (commit, welcome) = a.processProposals(0, gw.vector(gw.add(kp, 0)), listOf(USER_A, USER_E))
                a.processCommit(commit.shouldNotBeNull())
                val roster = e.processWelcome(welcome.shouldNotBeNull(), setOf(USER_A))
                roster.keys shouldBe setOf(USER_A, USER_E)
                roster.getValue(USER_E).toList() shouldBe e.ownSignaturePublicKey.toList()
                e.isEstablished shouldBe true
                agree(e, a) shouldBe 1L

                // 100 % of N davey frames, sizes across the Opus range.
                val base = e.exportSenderBaseSecret(USER_A)
                base.size shouldBe 16
                var decrypted = 0
                repeat(200) { i ->
                    val plain = randomOpus(3 + i % 198)
                    if (DaveTestCrypto.decryptOpus(base, a.encryptOpus(plain))?.contentEquals(plain) == true) decrypted++
                }
                decrypted shouldBe 200
                framesBothWays(e, a)
                // Pairwise verification code: davey's from its side equals ours from the roster keys.
                a.verificationCode(USER_E) shouldBe
                    DaveTestCrypto.verificationCode(roster.getValue(USER_A), USER_A, e.ownSignaturePublicKey, USER_E)
            }
        }

    test("Earshot creates the group (its commit wins) and davey joins by Earshot's Welcome")
        .config(enabledOrReasonIf = { enabled }) {
            val davey = peer.value
            val gw = FakeDaveGateway(CHANNEL)
            val c = davey.session("s2-C", USER_C, CHANNEL).apply { setExternalSender(gw.externalSender) }
            DaveMlsGroup(USER_E, CHANNEL).use { e ->
                e.reset()
                e.setExternalSender(gw.externalSender)
                val out = e.processProposals(gw.append(gw.add(c.keyPackage(), 0)), setOf(USER_C)).shouldNotBeNull()
                val (commit, welcome) = splitCommitWelcome(out)
                e.processCommit(commit).shouldNotBeNull().keys shouldBe setOf(USER_E, USER_C)
                c.processWelcome(welcome.shouldNotBeNull())
                agree(e, c) shouldBe 1L
                framesBothWays(e, c, n = 50)
            }
        }

    test("add and remove commits both ways, a third member joining and leaving, losing commits processed")
        .config(enabledOrReasonIf = { enabled }) {
            val davey = peer.value
            val gw = FakeDaveGateway(CHANNEL)
            val a = davey.session("s3-A", USER_A, CHANNEL).apply { setExternalSender(gw.externalSender) }
            DaveMlsGroup(USER_E, CHANNEL).use { e ->
                val kp = e.reset()
                e.setExternalSender(gw.externalSender)
                val (c1, w1) = a.processProposals(0, gw.vector(gw.add(kp, 0)), listOf(USER_A, USER_E))
                a.processCommit(c1!!)
                e.processWelcome(w1!!, setOf(USER_A))
                agree(e, a) shouldBe 1L
                framesBothWays(e, a)

                // Earshot's commit adds D; davey A built a losing commit of its own and processes Earshot's.
                val d = davey.session("s3-D", USER_D, CHANNEL).apply { setExternalSender(gw.externalSender) }
                val addD = gw.add(d.keyPackage(), 1)
                val recognized = setOf(USER_A, USER_E, USER_D)
                a.processProposals(0, gw.vector(addD), recognized).first.shouldNotBeNull()
                val (commitE, welcomeE) = splitCommitWelcome(e.processProposals(gw.append(addD), recognized)!!)
                e.processCommit(commitE)!!.keys shouldBe setOf(USER_A, USER_E, USER_D)
                a.processCommit(commitE)
                d.processWelcome(welcomeE.shouldNotBeNull())
                agree(e, a, d) shouldBe 2L
                framesBothWays(e, a)
                framesBothWays(e, d)

                // Earshot's commit removes D (a path is required): no Welcome in op 28.
                val removeD = gw.remove(d.status().ownLeafIndex!!, 2)
                a.processProposals(0, gw.vector(removeD), setOf(USER_A, USER_E))
                val out = e.processProposals(gw.append(removeD), setOf(USER_A, USER_E))!!
                val (commitR, welcomeR) = splitCommitWelcome(out)
                welcomeR.shouldBeNull()
                e.processCommit(commitR)!!.keys shouldBe setOf(USER_A, USER_E)
                a.processCommit(commitR)
                agree(e, a) shouldBe 3L
                framesBothWays(e, a)
                d.close()

                // davey's commit adds D again (new key package); Earshot processes it while holding its own losing commit.
                val d2 = davey.session("s3-D2", USER_D, CHANNEL).apply { setExternalSender(gw.externalSender) }
                val addD2 = gw.add(d2.keyPackage(), 3)
                e.processProposals(gw.append(addD2), recognized).shouldNotBeNull()
                val (commitA, welcomeA) = a.processProposals(0, gw.vector(addD2), recognized)
                a.processCommit(commitA!!)
                e.processCommit(commitA)!!.keys shouldBe setOf(USER_A, USER_E, USER_D)
                d2.processWelcome(welcomeA.shouldNotBeNull())
                agree(e, a, d2) shouldBe 4L
                framesBothWays(e, a)
                framesBothWays(e, d2)

                // davey's commit removes D.
                val removeD2 = gw.remove(d2.status().ownLeafIndex!!, 4)
                e.processProposals(gw.append(removeD2), setOf(USER_A, USER_E)).shouldNotBeNull()
                val (commitA2, welcomeA2) = a.processProposals(0, gw.vector(removeD2), setOf(USER_A, USER_E))
                welcomeA2.shouldBeNull()
                a.processCommit(commitA2!!)
                e.processCommit(commitA2)!!.keys shouldBe setOf(USER_A, USER_E)
                agree(e, a) shouldBe 5L
                framesBothWays(e, a)
            }
        }

    test("revoke: two proposals appended, one revoked, Earshot's commit carries only the other and davey agrees")
        .config(enabledOrReasonIf = { enabled }) {
            val davey = peer.value
            val gw = FakeDaveGateway(CHANNEL)
            val a = davey.session("s4-A", USER_A, CHANNEL).apply { setExternalSender(gw.externalSender) }
            DaveMlsGroup(USER_E, CHANNEL).use { e ->
                val kp = e.reset()
                e.setExternalSender(gw.externalSender)
                val (c1, w1) = a.processProposals(0, gw.vector(gw.add(kp, 0)), listOf(USER_A, USER_E))
                a.processCommit(c1!!)
                e.processWelcome(w1!!, setOf(USER_A))

                val d = davey.session("s4-D", USER_D, CHANNEL).apply { setExternalSender(gw.externalSender) }
                val f = davey.session("s4-F", USER_F, CHANNEL).apply { setExternalSender(gw.externalSender) }
                val addD = gw.add(d.keyPackage(), 1)
                val addF = gw.add(f.keyPackage(), 1)
                val recognized = setOf(USER_A, USER_E, USER_D, USER_F)
                e.processProposals(gw.append(addD, addF), recognized).shouldNotBeNull()
                a.processProposals(0, gw.vector(addD, addF), recognized)

                // Revoking an unknown ref is refused and leaves the cache alone.
                shouldThrow<DaveMlsException> { e.processProposals(gw.revoke(ByteArray(32)), recognized) }

                val out = e.processProposals(gw.revoke(gw.ref(addF)), recognized).shouldNotBeNull()
                a.processProposals(1, gw.refVector(gw.ref(addF)), recognized)
                val (commit, welcome) = splitCommitWelcome(out)
                e.processCommit(commit)!!.keys shouldBe setOf(USER_A, USER_E, USER_D)
                a.processCommit(commit)
                d.processWelcome(welcome.shouldNotBeNull())
                shouldThrow<DaveyPeer.DaveyError> { f.processWelcome(welcome) }
                agree(e, a, d) shouldBe 2L
                framesBothWays(e, d)

                // Revoking everything leaves nothing to commit.
                val removeD = gw.remove(d.status().ownLeafIndex!!, 2)
                e.processProposals(gw.append(removeD), setOf(USER_A, USER_E)).shouldNotBeNull()
                e.processProposals(gw.revoke(gw.ref(removeD)), setOf(USER_A, USER_E)).shouldBeNull()
            }
        }
}) {
    companion object {
        const val CHANNEL = 927310423890473011L
        const val USER_A = 1000L
        const val USER_E = 1001L // Earshot
        const val USER_C = 1002L
        const val USER_D = 1003L
        const val USER_F = 1004L

        private val random = SecureRandom()
        private val earshotNonce = AtomicInteger(1)

        /** Opus-like random bytes of [size] (never the 3-byte silence frame, which davey passes through). */
        fun randomOpus(size: Int): ByteArray {
            while (true) {
                val b = ByteArray(size).also(random::nextBytes)
                if (!(size == 3 && b[0] == 0xF8.toByte() && b[1] == 0xFF.toByte() && b[2] == 0xFE.toByte())) return b
            }
        }

        /** Earshot and every davey session agree on epoch, epoch authenticator, privacy code and roster; returns the epoch. */
        internal fun agree(e: DaveMlsGroup, vararg sessions: DaveyPeer.Session): Long {
            val auth = e.epochAuthenticator.shouldNotBeNull()
            auth.size shouldBe 32
            val code = DaveTestCrypto.privacyCode(auth)
            code.length shouldBe 30
            for (s in sessions) {
                val st = s.status()
                st.epoch shouldBe e.epoch
                hex(st.epochAuthenticator.shouldNotBeNull()) shouldBe hex(auth)
                st.privacyCode shouldBe code
                st.userIds shouldBe e.roster.keys
            }
            return e.epoch!!
        }

        /** [n] frames each way between Earshot (keys from its exporter) and davey session [s]; all must decrypt. */
        internal fun framesBothWays(e: DaveMlsGroup, s: DaveyPeer.Session, n: Int = 20) {
            val fromDavey = e.exportSenderBaseSecret(s.userId)
            val fromEarshot = e.exportSenderBaseSecret(e.selfUserId)
            var ok = 0
            repeat(n) { i ->
                val plain = randomOpus(3 + (i * 37) % 198)
                if (DaveTestCrypto.decryptOpus(fromDavey, s.encryptOpus(plain))?.contentEquals(plain) == true) ok++
                val frame = DaveTestCrypto.encryptOpus(fromEarshot, earshotNonce.getAndIncrement(), plain)
                if (s.decrypt(e.selfUserId, frame).contentEquals(plain)) ok++
            }
            ok shouldBe 2 * n
        }
    }
}
