package dev.earshot.voice.dave.mls

import dev.earshot.voice.dave.mls.FakeDaveGateway.Companion.splitCommitWelcome
import io.kotest.core.spec.style.FunSpec
import io.kotest.matchers.collections.shouldBeEmpty
import io.kotest.matchers.shouldBe
import java.util.Collections
import java.util.concurrent.CountDownLatch
import org.bouncycastle.mls.crypto.MlsCipherSuite

/**
 * BouncyCastle hands every caller one shared, unsynchronized ciphersuite object, so DAVE groups of different
 * connections must not run MLS at the same time. Several threads build groups at once (key package, external sender,
 * Add, commit, welcome) and every pair must end up in the same epoch with the same authenticator; without the
 * JVM-wide lock this fails with "Confirmation failed to verify", "Invalid proposal" or mismatched authenticators.
 */
class DaveMlsConcurrencySpec : FunSpec({
    test("groups of different connections can run MLS on several threads at once") {
        val threads = 4
        val rounds = 6
        val errors = Collections.synchronizedList(ArrayList<String>())
        val start = CountDownLatch(1)
        val suite = MlsCipherSuite.getSuite(MlsCipherSuite.MLS_128_DHKEMP256_AES128GCM_SHA256_P256)
        val workers = (0 until threads).map { t ->
            Thread {
                start.await()
                repeat(rounds) { r ->
                    val channel = 9000L + t
                    // The fake gateway calls BouncyCastle directly, so it takes the same lock the product code does.
                    val gw = synchronized(suite) { FakeDaveGateway(channel) }
                    val a = DaveMlsGroup(100L + t, channel)
                    val b = DaveMlsGroup(200L + t, channel)
                    try {
                        a.reset()
                        a.setExternalSender(gw.externalSender)
                        val kp = b.reset()
                        b.setExternalSender(gw.externalSender)
                        val proposals = synchronized(suite) { gw.append(gw.add(kp, 0)) }
                        val out = a.processProposals(proposals, setOf(200L + t))!!
                        val (commit, welcome) = synchronized(suite) { splitCommitWelcome(out) }
                        a.processCommit(commit)
                        b.processWelcome(welcome!!, setOf(100L + t))
                        if (a.epoch != 1L || b.epoch != 1L || !a.epochAuthenticator!!.contentEquals(b.epochAuthenticator!!)) {
                            errors += "thread $t round $r: epochs ${a.epoch}/${b.epoch} or authenticators differ"
                        }
                        if (!a.exportSenderBaseSecret(100L + t).contentEquals(b.exportSenderBaseSecret(100L + t))) {
                            errors += "thread $t round $r: sender secrets differ"
                        }
                    } catch (e: DaveMlsException) {
                        errors += "thread $t round $r: ${e.message}"
                    } finally {
                        a.close()
                        b.close()
                    }
                }
            }.apply { start() }
        }
        start.countDown()
        workers.forEach { it.join() }
        errors.shouldBeEmpty()
        errors.size shouldBe 0
    }
})
