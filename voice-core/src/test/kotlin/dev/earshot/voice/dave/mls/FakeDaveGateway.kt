package dev.earshot.voice.dave.mls

import java.io.ByteArrayOutputStream
import java.nio.ByteBuffer
import org.bouncycastle.mls.TreeKEM.LeafIndex
import org.bouncycastle.mls.codec.AuthenticatedContent
import org.bouncycastle.mls.codec.Credential
import org.bouncycastle.mls.codec.ExternalSender
import org.bouncycastle.mls.codec.KeyPackage
import org.bouncycastle.mls.codec.MLSInputStream
import org.bouncycastle.mls.codec.MLSMessage
import org.bouncycastle.mls.codec.MLSOutputStream
import org.bouncycastle.mls.codec.Proposal
import org.bouncycastle.mls.crypto.MlsCipherSuite

/**
 * Plays the voice gateway's part in MLS for tests: it is the group's external sender (op 25), signs external Add
 * and Remove proposals with BouncyCastle's `MLSMessage.externalProposal`, and frames op 27 payloads.
 */
class FakeDaveGateway(val channelId: Long, identity: String = "discord-gateway") {
    val suite: MlsCipherSuite = MlsCipherSuite.getSuite(MlsCipherSuite.MLS_128_DHKEMP256_AES128GCM_SHA256_P256)
    private val keys = suite.generateSignatureKeyPair()
    private val signingKey = suite.serializeSignaturePrivateKey(keys.private)
    private val groupId = ByteBuffer.allocate(8).putLong(channelId).array()

    /** The op 25 payload. */
    val externalSender: ByteArray =
        MLSOutputStream.encode(ExternalSender(suite.serializeSignaturePublicKey(keys.public), Credential.forBasic(identity.toByteArray())))

    /** An external Add proposal (MLSMessage) for the bare [keyPackage] at [epoch]. */
    fun add(keyPackage: ByteArray, epoch: Long, senderIndex: Int = 0): ByteArray {
        val kp = MLSInputStream.decode(keyPackage, KeyPackage::class.java) as KeyPackage
        return MLSOutputStream.encode(MLSMessage.externalProposal(suite, groupId, epoch, Proposal.add(kp), senderIndex, signingKey))
    }

    /** An external Remove proposal for [leaf] at [epoch]. */
    fun remove(leaf: Int, epoch: Long): ByteArray =
        MLSOutputStream.encode(MLSMessage.externalProposal(suite, groupId, epoch, Proposal.remove(LeafIndex(leaf)), 0, signingKey))

    /** `MLSMessage proposal_messages<V>`: what davey's processProposals takes for an append. */
    fun vector(vararg messages: ByteArray): ByteArray = MlsVectors.encode(concat(messages.toList()))

    /** The op 27 append payload. */
    fun append(vararg messages: ByteArray): ByteArray = byteArrayOf(0) + vector(*messages)

    /** `ProposalRef refs<V>`: what davey's processProposals takes for a revoke. */
    fun refVector(vararg refs: ByteArray): ByteArray = MlsVectors.encodeVectorOfVectors(refs.toList())

    /** The op 27 revoke payload. */
    fun revoke(vararg refs: ByteArray): ByteArray = byteArrayOf(1) + refVector(*refs)

    /** RefHash("MLS 1.0 Proposal Reference", AuthenticatedContent) of an external proposal message. */
    fun ref(proposalMessage: ByteArray): ByteArray {
        val auth = AuthenticatedContent(MLSInputStream(proposalMessage.copyOfRange(2, proposalMessage.size)))
        return suite.refHash(MLSOutputStream.encode(auth), "MLS 1.0 Proposal Reference")
    }

    companion object {
        fun concat(parts: List<ByteArray>): ByteArray = ByteArrayOutputStream().apply { parts.forEach(::write) }.toByteArray()

        /** Splits an op 28 payload into the commit MLSMessage and the Welcome that may follow it. */
        fun splitCommitWelcome(payload: ByteArray): Pair<ByteArray, ByteArray?> {
            val commit = MLSInputStream(payload).read(MLSMessage::class.java) as MLSMessage
            val length = MLSOutputStream.encode(commit).size
            return payload.copyOfRange(0, length) to (if (length < payload.size) payload.copyOfRange(length, payload.size) else null)
        }
    }
}
