package dev.earshot.voice.testkit

import java.security.SecureRandom
import org.bouncycastle.mls.TreeKEM.LeafNode
import org.bouncycastle.mls.TreeKEM.LifeTime
import org.bouncycastle.mls.codec.Capabilities
import org.bouncycastle.mls.codec.Credential
import org.bouncycastle.mls.codec.Extension
import org.bouncycastle.mls.codec.ExternalSender
import org.bouncycastle.mls.codec.KeyPackage
import org.bouncycastle.mls.codec.MLSInputStream
import org.bouncycastle.mls.codec.MLSMessage
import org.bouncycastle.mls.codec.MLSOutputStream
import org.bouncycastle.mls.codec.Welcome
import org.bouncycastle.mls.crypto.MlsCipherSuite
import org.bouncycastle.mls.crypto.Secret
import org.bouncycastle.mls.protocol.Group

/**
 * A minimal DAVE MLS client written straight on BouncyCastle, only to drive the testkit's gateway side in tests:
 * key packages (op 26), the pending group after op 25, commits for op 27, op 29 and op 30. It checks nothing a real
 * client must check (recognised users, external-only proposals...); Earshot's real client lives in voice-core.
 */
class BcDaveMember(val userId: Long, private val groupId: ByteArray) {
    private val suite = MlsCipherSuite.getSuite(MlsCipherSuite.MLS_128_DHKEMP256_AES128GCM_SHA256_P256)
    private val random = SecureRandom()
    private var sigPriv = ByteArray(0)
    private var leafKp = suite.hpke.generatePrivateKey()
    private var initKp = suite.hpke.generatePrivateKey()
    private var leaf: LeafNode? = null
    private var keyPackage: KeyPackage? = null
    private var externalSender: ExternalSender? = null

    /** The group with the proposals of the current round, or the established group. */
    var group: Group? = null
        private set
    private var established = false
    private var ownCommit: Group? = null

    /** Whether the member is in an established group (not just its own pending one). */
    val isEstablished: Boolean get() = established

    /** A new key package for op 26: a new leaf and init key each time, as libdave and davey do after a reset. */
    fun newKeyPackage(): ByteArray {
        group = null
        established = false
        ownCommit = null
        val sig = suite.generateSignatureKeyPair()
        sigPriv = suite.serializeSignaturePrivateKey(sig.private)
        leafKp = suite.hpke.generatePrivateKey()
        initKp = suite.hpke.generatePrivateKey()
        val caps = MLSOutputStream()
        caps.writeList(listOf(1.toShort()))
        caps.writeList(listOf(2.toShort()))
        caps.writeList(emptyList<Short>())
        caps.writeList(emptyList<Short>())
        caps.writeList(listOf(1.toShort()))
        val identity = ByteArray(8) { (userId ushr (56 - 8 * it)).toByte() }
        val node = LeafNode(
            suite, suite.hpke.serializePublicKey(leafKp.public), suite.serializeSignaturePublicKey(sig.public),
            Credential.forBasic(identity), MLSInputStream.decode(caps.toByteArray(), Capabilities::class.java) as Capabilities,
            LifeTime(), ArrayList(), sigPriv,
        )
        leaf = node
        val kp = KeyPackage(suite, suite.hpke.serializePublicKey(initKp.public), node, ArrayList(), sigPriv)
        keyPackage = kp
        externalSender?.let { createPending(it) }
        return MLSOutputStream.encode(kp)
    }

    /** Op 25: remembers the gateway and creates the pending one-member group. */
    fun setExternalSender(bytes: ByteArray) {
        val sender = MLSInputStream.decode(bytes, ExternalSender::class.java) as ExternalSender
        externalSender = sender
        if (group == null && leaf != null) createPending(sender)
    }

    private fun createPending(sender: ExternalSender) {
        group = Group(groupId, suite, leafKp, sigPriv, leaf, listOf(Extension.externalSender(listOf(sender))))
        established = false
    }

    /** Op 27 (operation 0): caches the proposals and returns op 28's payload (commit, then the welcome if any). */
    fun processProposals(payload: ByteArray): ByteArray {
        require(payload[0].toInt() == 0) { "only append is supported" }
        val g = checkNotNull(group) { "no group" }
        val all = MLSInputStream(payload.copyOfRange(1, payload.size)).readOpaque()
        var at = 0
        while (at < all.size) {
            val rest = all.copyOfRange(at, all.size)
            val message = MLSInputStream(rest).read(MLSMessage::class.java) as MLSMessage
            val bytes = MLSOutputStream.encode(message)
            g.handle(bytes, null)
            at += bytes.size
        }
        val secret = ByteArray(32).also(random::nextBytes)
        val result = g.commit(
            Secret(secret), Group.CommitOptions(ArrayList(), true, false, null), Group.MessageOptions(),
            Group.CommitParameters(Group.NORMAL_COMMIT_PARAMS),
        )
        ownCommit = result.group
        val welcome = result.message.welcome
        result.message.welcome = null
        val commit = MLSOutputStream.encode(result.message)
        return if (welcome != null && hasAddsIn(welcome)) commit + MLSOutputStream.encode(welcome) else commit
    }

    /** BouncyCastle attaches a Welcome to every commit; one without secrets adds nobody (docs/dave.md §1.9). */
    private fun hasAddsIn(welcome: Welcome): Boolean {
        val bytes = MLSOutputStream.encode(welcome)
        // Welcome = cipher_suite(2) + secrets<V> + encrypted_group_info<V>: an empty secrets vector is the byte 0.
        return bytes[2].toInt() != 0
    }

    /** Op 29: applies the announced commit (ours from the cache, else as received). Returns the transition id. */
    fun processCommit(payload: ByteArray): Int {
        val g = checkNotNull(group) { "no group" }
        group = g.handle(payload.copyOfRange(2, payload.size), ownCommit)
        ownCommit = null
        established = true
        return transitionId(payload)
    }

    /** Op 30: joins from the welcome. Returns the transition id. */
    fun processWelcome(payload: ByteArray): Int {
        val welcome = MLSInputStream.decode(payload.copyOfRange(2, payload.size), Welcome::class.java) as Welcome
        group = Group(
            suite.hpke.serializePrivateKey(initKp.private), leafKp, sigPriv, keyPackage, welcome, null, HashMap(), HashMap(),
        )
        ownCommit = null
        established = true
        return transitionId(payload)
    }

    /** The 32-byte epoch authenticator of the current group (equal for every member of the same epoch). */
    fun epochAuthenticator(): List<Byte> = checkNotNull(group).epochAuthenticator.toList()

    /** The current epoch. */
    val epoch: Long get() = checkNotNull(group).epoch

    /** Our leaf index in the group. */
    val leafIndex: Int get() = checkNotNull(group).index.value()

    private fun transitionId(payload: ByteArray) = ((payload[0].toInt() and 0xFF) shl 8) or (payload[1].toInt() and 0xFF)

    override fun toString(): String = "BcDaveMember($userId)"
}
