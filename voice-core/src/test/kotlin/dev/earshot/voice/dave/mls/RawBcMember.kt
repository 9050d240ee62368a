package dev.earshot.voice.dave.mls

import java.nio.ByteBuffer
import java.security.SecureRandom
import org.bouncycastle.mls.TreeKEM.LeafNode
import org.bouncycastle.mls.TreeKEM.LifeTime
import org.bouncycastle.mls.codec.Capabilities
import org.bouncycastle.mls.codec.Credential
import org.bouncycastle.mls.codec.Extension
import org.bouncycastle.mls.codec.ExternalSender
import org.bouncycastle.mls.codec.KeyPackage
import org.bouncycastle.mls.codec.MLSInputStream
import org.bouncycastle.mls.codec.MLSOutputStream
import org.bouncycastle.mls.codec.Proposal
import org.bouncycastle.mls.crypto.MlsCipherSuite
import org.bouncycastle.mls.crypto.Secret
import org.bouncycastle.mls.protocol.Group

/**
 * A group member driven through BouncyCastle's MLS API directly, without DAVE's rules, so tests can make messages
 * DaveMlsGroup must refuse (inline proposals, foreign external senders, duplicate users).
 */
class RawBcMember(val userId: Long, channelId: Long, externalSender: ByteArray) {
    private val suite = MlsCipherSuite.getSuite(MlsCipherSuite.MLS_128_DHKEMP256_AES128GCM_SHA256_P256)
    private val sigKeys = suite.generateSignatureKeyPair()
    private val sigPriv = suite.serializeSignaturePrivateKey(sigKeys.private)
    private val leafKeys = suite.hpke.generatePrivateKey()
    private val initKeys = suite.hpke.generatePrivateKey()
    private val leaf = LeafNode(
        suite, suite.hpke.serializePublicKey(leafKeys.public), suite.serializeSignaturePublicKey(sigKeys.public),
        Credential.forBasic(ByteBuffer.allocate(8).putLong(userId).array()),
        MLSInputStream.decode(byteArrayOf(2, 0, 1, 2, 0, 2, 0, 0, 2, 0, 1), Capabilities::class.java) as Capabilities,
        LifeTime(), ArrayList(), sigPriv,
    )

    /** This member's bare key package. */
    val keyPackage: ByteArray =
        MLSOutputStream.encode(KeyPackage(suite, suite.hpke.serializePublicKey(initKeys.public), leaf, ArrayList(), sigPriv))

    /** The member's group, created alone with [externalSender] as the one external sender. */
    var group: Group = Group(
        ByteBuffer.allocate(8).putLong(channelId).array(), suite, leafKeys, sigPriv, leaf,
        listOf(Extension.externalSender(listOf(MLSInputStream.decode(externalSender, ExternalSender::class.java) as ExternalSender))),
    )

    /** Caches a proposal message (as a member would on op 27). */
    fun handleProposal(message: ByteArray) { group.handle(message, null) }

    /**
     * Commits the cached proposals plus [inlineAdds] (key packages, as inline Add proposals), moves to the new epoch
     * and returns (commit, welcome).
     */
    fun commit(vararg inlineAdds: ByteArray): Pair<ByteArray, ByteArray> {
        val extra = inlineAdds.map { Proposal.add(MLSInputStream.decode(it, KeyPackage::class.java) as KeyPackage) }
        val result = group.commit(
            Secret(ByteArray(32).also(SecureRandom()::nextBytes)), Group.CommitOptions(extra, true, false, null),
            Group.MessageOptions(), Group.CommitParameters(Group.NORMAL_COMMIT_PARAMS),
        )
        val welcome = result.message.welcome
        result.message.welcome = null
        group = result.group
        return MLSOutputStream.encode(result.message) to MLSOutputStream.encode(welcome)
    }
}
