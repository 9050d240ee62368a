package dev.earshot.voice.testkit.internal

import java.io.ByteArrayOutputStream
import org.bouncycastle.mls.TreeKEM.LeafIndex
import org.bouncycastle.mls.codec.ContentType
import org.bouncycastle.mls.codec.Credential
import org.bouncycastle.mls.codec.CredentialType
import org.bouncycastle.mls.codec.ExternalSender
import org.bouncycastle.mls.codec.FramedContent
import org.bouncycastle.mls.codec.KeyPackage
import org.bouncycastle.mls.codec.MLSInputStream
import org.bouncycastle.mls.codec.MLSMessage
import org.bouncycastle.mls.codec.MLSOutputStream
import org.bouncycastle.mls.codec.Proposal
import org.bouncycastle.mls.codec.ProposalOrRefType
import org.bouncycastle.mls.codec.SenderType
import org.bouncycastle.mls.codec.Welcome
import org.bouncycastle.mls.codec.WireFormat
import org.bouncycastle.mls.crypto.MlsCipherSuite

/*
 * The server's share of DAVE's MLS (docs/dave.md sections 1.1-1.3): the gateway is the group's only external sender. It
 * signs Add and Remove proposals, reads key packages and commits far enough to run the group, and never holds any
 * group secret. All parsing here returns null on bad input instead of throwing.
 */

/** An external proposal as sent in op 27: the `MLSMessage` and its ProposalRef (RFC 9420 section 5.2). */
internal class SignedProposal(val message: ByteArray, val ref: ByteArray)

/** A key package from op 26 (a bare `KeyPackage`, docs/dave.md §1.9) whose user id is its basic credential. */
internal class ParsedKeyPackage(val keyPackage: KeyPackage, val userId: String)

/**
 * Op 28 split and read: the commit `MLSMessage`, the Welcome after it (or null), and what the server checks: group,
 * epoch, the committing member's leaf and the proposals it references.
 */
internal class ParsedCommit(
    val commit: ByteArray,
    val welcome: ByteArray?,
    val groupId: ByteArray,
    val epoch: Long,
    val senderLeaf: Int,
    /** ProposalRefs in commit order; null when the commit holds any proposal inline (DAVE forbids it). */
    val refs: List<ByteArray>?,
)

/**
 * The gateway's external sender for DAVE protocol version 1 (ciphersuite 2, P-256): a fresh key pair and the
 * `ExternalSender` struct op 25 carries. One per channel.
 */
internal class DaveExternalSender {
    private val keyPair = synchronized(SUITE) { SUITE.generateSignatureKeyPair() }
    private val privateKey: ByteArray = synchronized(SUITE) { SUITE.serializeSignaturePrivateKey(keyPair.private) }

    /** The op 25 payload: `ExternalSender { signature_key<V>; Credential (basic) }`. */
    val packageBytes: ByteArray = synchronized(SUITE) {
        MLSOutputStream.encode(ExternalSender(SUITE.serializeSignaturePublicKey(keyPair.public), Credential.forBasic(IDENTITY)))
    }

    /** An external Add of [keyPackage] for [epoch] of group [groupId], signed as sender index 0. */
    fun add(groupId: ByteArray, epoch: Long, keyPackage: KeyPackage): SignedProposal =
        sign(groupId, epoch, Proposal.add(keyPackage))

    /** An external Remove of the member at [leaf]. */
    fun remove(groupId: ByteArray, epoch: Long, leaf: Int): SignedProposal =
        sign(groupId, epoch, Proposal.remove(LeafIndex(leaf)))

    private fun sign(groupId: ByteArray, epoch: Long, proposal: Proposal): SignedProposal = synchronized(SUITE) {
        val message = MLSOutputStream.encode(MLSMessage.externalProposal(SUITE, groupId, epoch, proposal, 0, privateKey))
        SignedProposal(message, DaveMls.proposalRef(message))
    }

    companion object {
        /**
         * BouncyCastle's ciphersuite 2: one static instance per JVM with unsynchronized digest, HKDF, signer and AEAD
         * state, shared with every DAVE session in the process (Earshot's `DaveMlsGroup` included, and the scripted
         * members' sessions run on other threads). All BouncyCastle MLS work here synchronizes on it, as
         * `DaveMlsGroup` does, and never waits for another lock while holding it.
         */
        val SUITE: MlsCipherSuite = MlsCipherSuite.getSuite(MlsCipherSuite.MLS_128_DHKEMP256_AES128GCM_SHA256_P256)
        private val IDENTITY = "earshot-voice-testkit".toByteArray(Charsets.US_ASCII)
    }
}

internal object DaveMls {
    private const val MLS10 = 1
    private const val PUBLIC_MESSAGE = 1

    /**
     * RefHash("MLS 1.0 Proposal Reference", AuthenticatedContent). For a PublicMessage from an external sender (no
     * membership tag) the AuthenticatedContent is the MLSMessage without its 2-byte version: wire_format, content, auth.
     */
    fun proposalRef(message: ByteArray): ByteArray = synchronized(DaveExternalSender.SUITE) {
        DaveExternalSender.SUITE.refHash(message.copyOfRange(2, message.size), "MLS 1.0 Proposal Reference")
    }

    /** Reads op 26's payload; null unless it is a signed ciphersuite-2 key package with an 8-byte basic identity. */
    fun parseKeyPackage(bytes: ByteArray): ParsedKeyPackage? = synchronized(DaveExternalSender.SUITE) { readKeyPackage(bytes) }

    private fun readKeyPackage(bytes: ByteArray): ParsedKeyPackage? = try {
        val kp = MLSInputStream.decode(bytes, KeyPackage::class.java) as KeyPackage
        val credential = kp.leafNode.credential
        if (kp.suite.suiteID != DaveExternalSender.SUITE.suiteID || credential.credentialType != CredentialType.basic ||
            credential.identity.size != 8 || !kp.verify()
        ) {
            null
        } else {
            ParsedKeyPackage(kp, java.lang.Long.toUnsignedString(readLong(credential.identity, 0)))
        }
    } catch (e: Exception) {
        null
    }

    /** Splits and reads op 28's payload; null when it is not a PublicMessage commit (optionally + a Welcome). */
    fun parseCommit(bytes: ByteArray): ParsedCommit? = synchronized(DaveExternalSender.SUITE) { readCommit(bytes) }

    private fun readCommit(bytes: ByteArray): ParsedCommit? = try {
        val input = MLSInputStream(bytes)
        val message = input.read(MLSMessage::class.java) as MLSMessage
        val commit = MLSOutputStream.encode(message)
        // Re-encoding gives the commit's length; it must be the exact prefix the client sent.
        if (commit.size > bytes.size || !bytes.copyOfRange(0, commit.size).contentEquals(commit)) {
            null
        } else if (message.wireFormat != WireFormat.mls_public_message || u16(commit, 0) != MLS10 ||
            u16(commit, 2) != PUBLIC_MESSAGE
        ) {
            null
        } else {
            val content = MLSInputStream(commit.copyOfRange(4, commit.size)).read(FramedContent::class.java) as FramedContent
            val welcome = bytes.copyOfRange(commit.size, bytes.size).takeIf { it.isNotEmpty() }
            welcome?.let { MLSInputStream.decode(it, Welcome::class.java) }
            if (content.contentType != ContentType.COMMIT || content.sender.senderType != SenderType.MEMBER) {
                null
            } else {
                val proposals = content.commit.proposals
                val refs = if (proposals.all { it.type == ProposalOrRefType.REFERENCE }) proposals.map { it.reference } else null
                ParsedCommit(commit, welcome, content.groupID, content.epoch, memberLeaf(commit), refs)
            }
        }
    } catch (e: Exception) {
        null
    }

    /** `MLSMessage proposal_messages<V>` after the operation byte 0 (append): op 27's payload. */
    fun appendProposals(messages: List<ByteArray>): ByteArray {
        val all = ByteArrayOutputStream()
        messages.forEach { all.write(it) }
        val vector = MLSOutputStream()
        vector.writeOpaque(all.toByteArray())
        return byteArrayOf(0) + vector.toByteArray()
    }

    /** The 8-byte big-endian group id of channel [channelId] (a snowflake; non-numeric ids are hashed). */
    fun groupId(channelId: String): ByteArray {
        val id = channelId.toULongOrNull()?.toLong() ?: channelId.hashCode().toLong()
        return ByteArray(8) { (id ushr (56 - 8 * it)).toByte() }
    }

    /**
     * The leaf index of a member sender, read from the wire (BouncyCastle's `Sender` does not expose it reliably):
     * version(2) wire_format(2), then FramedContent's group_id<V>, epoch(8), sender_type(1) and leaf_index(4).
     */
    private fun memberLeaf(message: ByteArray): Int {
        var at = 4
        val first = message[at].toInt() and 0xFF
        val (width, length) = when (first ushr 6) {
            0 -> 1 to first
            1 -> 2 to (((first and 0x3F) shl 8) or (message[at + 1].toInt() and 0xFF))
            else -> 4 to (((first and 0x3F) shl 24) or ((message[at + 1].toInt() and 0xFF) shl 16) or
                ((message[at + 2].toInt() and 0xFF) shl 8) or (message[at + 3].toInt() and 0xFF))
        }
        at += width + length + 8 + 1
        return (u16(message, at) shl 16) or u16(message, at + 2)
    }

    private fun u16(b: ByteArray, at: Int) = ((b[at].toInt() and 0xFF) shl 8) or (b[at + 1].toInt() and 0xFF)

    private fun readLong(b: ByteArray, at: Int): Long {
        var v = 0L
        for (i in 0 until 8) v = (v shl 8) or (b[at + i].toLong() and 0xFF)
        return v
    }
}
