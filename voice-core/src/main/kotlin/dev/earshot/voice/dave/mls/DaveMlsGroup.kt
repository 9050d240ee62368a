package dev.earshot.voice.dave.mls

import java.nio.ByteBuffer
import java.nio.ByteOrder
import java.security.SecureRandom
import java.util.HexFormat
import org.bouncycastle.crypto.AsymmetricCipherKeyPair
import org.bouncycastle.mls.TreeKEM.LeafNode
import org.bouncycastle.mls.TreeKEM.LifeTime
import org.bouncycastle.mls.codec.ContentType
import org.bouncycastle.mls.codec.Credential
import org.bouncycastle.mls.codec.Extension
import org.bouncycastle.mls.codec.ExtensionType
import org.bouncycastle.mls.codec.ExternalSender
import org.bouncycastle.mls.codec.FramedContent
import org.bouncycastle.mls.codec.KeyPackage
import org.bouncycastle.mls.codec.MLSInputStream
import org.bouncycastle.mls.codec.MLSMessage
import org.bouncycastle.mls.codec.MLSOutputStream
import org.bouncycastle.mls.codec.ProposalOrRefType
import org.bouncycastle.mls.codec.ProposalType
import org.bouncycastle.mls.codec.SenderType
import org.bouncycastle.mls.codec.Welcome
import org.bouncycastle.mls.codec.WireFormat
import org.bouncycastle.mls.crypto.MlsCipherSuite
import org.bouncycastle.mls.crypto.Secret
import org.bouncycastle.mls.protocol.Group
import org.slf4j.LoggerFactory

/**
 * One member's DAVE MLS state for one voice channel (DAVE protocol version 1), on BouncyCastle's RFC 9420 code:
 * key package, the local pending group, the proposal cache, commits and welcomes, the roster, and the exporter
 * secrets that seed the per-sender media key ratchets. It also enforces DAVE's own rules on top of MLS
 * (see docs/dave.md §1.2-1.3, libdave `mls/session.cpp`).
 *
 * Lifecycle: [reset] (new keys and key package, op 26) → [setExternalSender] (op 25; creates the pending
 * one-member group at epoch 0) → [processProposals] (op 27 → op 28) → [processCommit] (op 29) or [processWelcome]
 * (op 30) → established. Every entry point that takes network bytes throws only [DaveMlsException], and checks
 * every declared length against the bytes present ([MlsBounds]) before BouncyCastle allocates from it.
 *
 * Not thread-safe: one caller (the DAVE session loop) owns it. [random] supplies commit secrets; BouncyCastle draws
 * key pairs from its own SecureRandom.
 *
 * All BouncyCastle MLS work runs under [BC_MLS_LOCK] (see there): groups of different connections share
 * BouncyCastle's cipher suite object, which is not thread-safe.
 */
internal class DaveMlsGroup(
    val selfUserId: Long,
    val channelId: Long,
    private val random: SecureRandom = SecureRandom(),
) : AutoCloseable {

    /** Our signature key and leaf (encryption) key; the leaf node is shared by the key package and the pending group. */
    private class Identity(
        val signaturePrivate: ByteArray,
        val signaturePublic: ByteArray,
        val leafKeys: AsymmetricCipherKeyPair,
        val leafNode: LeafNode,
    )

    /** The single-use key package and its init key, needed only until we are in a group. */
    private class Join(val initPrivate: ByteArray, val keyPackage: KeyPackage)

    /** A proposal accepted from op 27, kept as the MLSMessage bytes BouncyCastle handled. */
    private class Cached(val message: ByteArray, val isAdd: Boolean)

    private val suite: MlsCipherSuite = BC_MLS_LOCK
    private val groupId: ByteArray = bigEndian(channelId)

    private var identity: Identity? = null
    private var join: Join? = null
    private var externalSenderBytes: ByteArray? = null
    private var externalSender: ExternalSender? = null

    /** The pending group (epoch 0, only us) until [established], then the real one. */
    private var group: Group? = null
    private var established = false

    /** ProposalRef (hex) → proposal, in arrival order; mirrors BouncyCastle's cache so commits can be checked. */
    private val cached = LinkedHashMap<String, Cached>()

    /** Whether op 27 was processed in this epoch; libdave ignores commits before that (`CanProcessCommit`). */
    private var proposalsSeen = false

    /** Our last commit (op 28) and the state it leads to, adopted if the gateway announces that commit. */
    private var pendingCommit: ByteArray? = null
    private var pendingSuccessor: Group? = null

    private var currentRoster: Map<Long, ByteArray> = emptyMap()

    /**
     * Drops any group and pending state, makes new signature/HPKE/init keys and a key package; returns the bare
     * serialized KeyPackage for op 26 (not an MLSMessage, as libdave and davey send it). Capabilities are exactly
     * libdave's and davey's (versions {mls10}, suites {2}, no extensions or proposals, credentials {basic}), the
     * lifetime is 0..2^64-1, the credential is basic with [selfUserId] as 8 bytes big-endian, and there is no GREASE.
     * The external sender is kept, so the pending group is re-created at once if op 25 was seen before.
     */
    fun reset(): ByteArray = guard("building the key package") {
        dropGroupState()
        forgetKeys()
        val signatureKeys = suite.generateSignatureKeyPair()
        val signaturePrivate = suite.serializeSignaturePrivateKey(signatureKeys.private)
        val signaturePublic = suite.serializeSignaturePublicKey(signatureKeys.public)
        val hpke = suite.hpke
        val leafKeys = hpke.generatePrivateKey()
        val initKeys = hpke.generatePrivateKey()
        val leafNode = LeafNode(
            suite, hpke.serializePublicKey(leafKeys.public), signaturePublic,
            Credential.forBasic(bigEndian(selfUserId)), daveCapabilities(), LifeTime(), ArrayList(), signaturePrivate,
        )
        val keyPackage = KeyPackage(suite, hpke.serializePublicKey(initKeys.public), leafNode, ArrayList(), signaturePrivate)
        identity = Identity(signaturePrivate, signaturePublic, leafKeys, leafNode)
        join = Join(hpke.serializePrivateKey(initKeys.private), keyPackage)
        createPendingGroupIfReady()
        MLSOutputStream.encode(keyPackage)
    }

    /**
     * Takes the op 25 payload (`ExternalSender`) and keeps it. While no group is established, a new or changed
     * external sender (re)creates the pending one-member group: group id = [channelId] as 8 bytes big-endian,
     * ciphersuite 2, one group-context extension `external_senders`. Throws [DaveMlsException] on a malformed payload.
     */
    fun setExternalSender(payload: ByteArray) {
        val sender = guard("op 25 external sender") {
            MlsBounds.checkExternalSender(payload)
            decodeExact<ExternalSender>(payload, "ExternalSender")
        }
        val changed = externalSenderBytes?.contentEquals(payload) != true
        externalSenderBytes = payload.copyOf()
        externalSender = sender
        if (established) {
            log.debug("external sender received while in an established group; used after the next reset")
            return
        }
        if (changed && group != null) dropGroupState()
        guard("creating the pending group") { createPendingGroupIfReady() }
    }

    /**
     * Handles an op 27 payload (first byte: 0 append, 1 revoke; then the vector) and commits.
     *
     * Append accepts only PublicMessages from the external sender (sender index 0) for the current epoch that carry
     * an Add or Remove; an Add must be for a user in [recognizedUserIds] or for us. Each is cached by its ProposalRef.
     * Revoke drops the referenced cached proposals (all must be known). Then every cached proposal is committed by
     * reference (path only when MLS needs one, ratchet tree inline in the Welcome) and the resulting state is kept in
     * case this commit wins. Returns the op 28 payload: the commit MLSMessage, followed by the bare Welcome only if
     * members are added; or null if there is no group or nothing left to commit. On [DaveMlsException] the proposal
     * cache is as it was before the call.
     */
    fun processProposals(payload: ByteArray, recognizedUserIds: Set<Long>): ByteArray? {
        val g = group ?: return null
        if (payload.isEmpty()) throw DaveMlsException("empty op 27 payload")
        val reader = MlsVectors.Reader(payload, 1)
        val vector = reader.readVector()
        reader.requireEnd()
        val before = LinkedHashMap(cached)
        try {
            when (val op = payload[0].toInt() and 0xFF) {
                0 -> {
                    MlsBounds.checkMessages(vector)
                    append(g, payload.copyOfRange(1, payload.size), recognizedUserIds)
                }
                1 -> revoke(g, vector)
                else -> throw DaveMlsException("unknown op 27 operation type $op")
            }
        } catch (e: DaveMlsException) {
            restoreCache(g, before)
            throw e
        }
        proposalsSeen = true
        if (cached.isEmpty()) {
            pendingCommit = null
            pendingSuccessor = null
            return null
        }
        return commit(g)
    }

    private fun append(g: Group, vector: ByteArray, recognizedUserIds: Set<Long>) {
        val messages = guard("op 27 proposal messages") {
            ArrayList<MLSMessage>().also { MLSInputStream(vector).readList(it, MLSMessage::class.java) }
        }
        for (message in messages) {
            guard("op 27 proposal") {
                if (message.wireFormat != WireFormat.mls_public_message) throw DaveMlsException("proposal is not a PublicMessage")
                val bytes = MLSOutputStream.encode(message)
                val auth = authenticatedContentOf(bytes)
                val content = auth.content
                checkGroupAndEpoch(g, content, "proposal")
                if (content.contentType != ContentType.PROPOSAL) throw DaveMlsException("op 27 message is not a proposal")
                val sender = content.sender
                if (sender.senderType != SenderType.EXTERNAL || sender.senderIndex != 0) {
                    throw DaveMlsException("proposal is not from the external sender")
                }
                val proposal = content.proposal
                val isAdd = when (proposal.proposalType) {
                    ProposalType.ADD -> {
                        val userId = userIdOf(proposal.add.keyPackage.leafNode.credential)
                        if (userId != selfUserId && userId !in recognizedUserIds) {
                            throw DaveMlsException("Add proposal for unrecognized user ${java.lang.Long.toUnsignedString(userId)}")
                        }
                        true
                    }
                    ProposalType.REMOVE -> false
                    else -> throw DaveMlsException("proposal type ${proposal.proposalType} is not allowed")
                }
                g.handle(bytes, null) // verifies the external sender's signature, then caches
                val ref = suite.refHash(MLSOutputStream.encode(auth), "MLS 1.0 Proposal Reference")
                cached.putIfAbsent(HEX.formatHex(ref), Cached(bytes, isAdd))
            }
        }
    }

    private fun revoke(g: Group, vector: ByteArray) {
        val reader = MlsVectors.Reader(vector)
        val refs = ArrayList<String>()
        while (reader.remaining > 0) refs += HEX.formatHex(reader.readVector())
        for (ref in refs) if (ref !in cached) throw DaveMlsException("revoke of a proposal that is not cached")
        refs.forEach(cached::remove)
        rebuildBouncyCastleCache(g)
    }

    /** Puts the cache back to [before], in our map and in BouncyCastle's; best effort (the caller resets on failure). */
    private fun restoreCache(g: Group, before: Map<String, Cached>) {
        if (cached == before) return
        cached.clear()
        cached.putAll(before)
        runCatching { rebuildBouncyCastleCache(g) }.onFailure { log.debug("could not restore the proposal cache: {}", it.message) }
    }

    private fun rebuildBouncyCastleCache(g: Group) {
        clearBouncyCastleProposalCache(g)
        guard("re-caching proposals") { for (entry in cached.values) g.handle(entry.message, null) }
    }

    private fun commit(g: Group): ByteArray = guard("building the commit") {
        val secret = ByteArray(suite.kdf.hashLength).also(random::nextBytes)
        val result = g.commit(
            Secret(secret),
            Group.CommitOptions(ArrayList(), true, false, null), // by reference only, tree inline, no forced path
            Group.MessageOptions(),
            Group.CommitParameters(Group.NORMAL_COMMIT_PARAMS),
        )
        // bcmls attaches a Welcome to every commit; DAVE sends one only when the commit adds members.
        val welcome = result.message.welcome
        result.message.welcome = null
        val commitBytes = MLSOutputStream.encode(result.message)
        pendingCommit = commitBytes
        pendingSuccessor = result.group
        if (cached.values.any { it.isAdd } && welcome != null) commitBytes + MLSOutputStream.encode(welcome) else commitBytes
    }

    /**
     * Handles an op 29 commit (the bytes after the transition id). Our own pending commit adopts the state cached by
     * [processProposals]; any other must be a PublicMessage from a member for the current epoch whose proposals are
     * all references to cached proposals. A resulting roster with a duplicate user id is refused. Returns the new
     * roster (user id → 65-byte signature key), or null (ignore it) when we have no group yet or have not processed
     * proposals in this epoch (as libdave's `CanProcessCommit`).
     */
    fun processCommit(commit: ByteArray): Map<Long, ByteArray>? {
        val g = group ?: return null
        if (!proposalsSeen) return null
        val next = guard("op 29 commit") {
            MlsBounds.checkMessage(commit)
            val message = decodeExact<MLSMessage>(commit, "MLSMessage")
            if (message.wireFormat != WireFormat.mls_public_message) throw DaveMlsException("commit is not a PublicMessage")
            val content = authenticatedContentOf(commit).content
            checkGroupAndEpoch(g, content, "commit")
            if (content.contentType != ContentType.COMMIT) throw DaveMlsException("op 29 message is not a commit")
            if (content.sender.senderType != SenderType.MEMBER) throw DaveMlsException("commit is not from a member")
            for (p in content.commit.proposals) {
                if (p.type != ProposalOrRefType.REFERENCE) throw DaveMlsException("commit carries an inline proposal")
                if (HEX.formatHex(p.reference) !in cached) throw DaveMlsException("commit references an unknown proposal")
            }
            val own = pendingCommit?.contentEquals(commit) == true
            g.handle(commit, if (own) pendingSuccessor else null) ?: throw DaveMlsException("commit gave no new state")
        }
        val roster = rosterOf(next)
        adopt(next, roster)
        return roster
    }

    /**
     * Handles an op 30 welcome (the bytes after the transition id): joins with our init key, taking the ratchet tree
     * from the `ratchet_tree` extension. The group must be ours (group id), carry exactly one external sender equal
     * to op 25's, with no user twice (members not in [recognizedUserIds] are only logged). Returns the roster.
     */
    fun processWelcome(welcome: ByteArray, recognizedUserIds: Set<Long>): Map<Long, ByteArray> {
        if (established) throw DaveMlsException("welcome while already in an established group")
        val id = identity ?: throw DaveMlsException("welcome before any key package")
        val j = join ?: throw DaveMlsException("welcome without a key package")
        val expectedSender = externalSenderBytes ?: throw DaveMlsException("welcome before the external sender (op 25)")
        val next = guard("op 30 welcome") {
            MlsBounds.checkWelcome(welcome)
            val w = decodeExact<Welcome>(welcome, "Welcome")
            Group(j.initPrivate, id.leafKeys, id.signaturePrivate, j.keyPackage, w, null, HashMap(), HashMap())
        }
        guard("checking the welcomed group") {
            if (!next.groupID.contentEquals(groupId)) throw DaveMlsException("welcome is for another group")
            val senders = next.extensions.filter { it.extensionType == ExtensionType.EXTERNAL_SENDERS }
            if (senders.size != 1) throw DaveMlsException("welcome has ${senders.size} external_senders extensions")
            val list = senders[0].senders
            if (list.size != 1) throw DaveMlsException("welcome lists ${list.size} external senders")
            if (!MLSOutputStream.encode(list[0]).contentEquals(expectedSender)) {
                throw DaveMlsException("welcome lists another external sender than op 25")
            }
        }
        val roster = rosterOf(next)
        // libdave and davey accept members they have not seen in op 11 yet: a user who disconnects while proposals are
        // in flight would otherwise make a valid welcome fail and cost every member a re-add. Logged, not refused.
        val unknown = roster.keys.filter { it != selfUserId && it !in recognizedUserIds }
        if (unknown.isNotEmpty()) log.debug("welcome lists {} user(s) not announced by op 11 yet", unknown.size)
        adopt(next, roster)
        return roster
    }

    /** The group's epoch: 0 for the pending group, null when there is no group at all. */
    val epoch: Long? get() = group?.epoch

    /** Whether we joined a group by commit or welcome (not just the pending local group). */
    val isEstablished: Boolean get() = established

    /** User id → 65-byte signature public key of every member; empty until [isEstablished]. */
    val roster: Map<Long, ByteArray> get() = currentRoster.mapValues { it.value.copyOf() }

    /** Our 65-byte uncompressed P-256 signature public key; [reset] must have been called. */
    val ownSignaturePublicKey: ByteArray
        get() = checkNotNull(identity) { "reset() has not been called" }.signaturePublic.copyOf()

    /**
     * `MLS-Exporter("Discord Secure Frames v0", LE64(userId), 16)`: the 16-byte base secret of [userId]'s media key
     * ratchet in the current epoch. Throws [DaveMlsException] while no group is established.
     */
    fun exportSenderBaseSecret(userId: Long): ByteArray {
        val g = group?.takeIf { established } ?: throw DaveMlsException("no established group")
        val context = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(userId).array()
        return guard("exporting the sender secret") { g.keySchedule.MLSExporter(SENDER_KEY_LABEL, context, 16) }
    }

    /** The 32-byte epoch authenticator of the established group (source of the privacy code), else null. */
    val epochAuthenticator: ByteArray? get() = group?.takeIf { established }?.epochAuthenticator?.copyOf()

    /** Forgets every key and all group state; the instance is unusable until [reset]. */
    override fun close() {
        dropGroupState()
        forgetKeys()
        externalSender = null
        externalSenderBytes = null
    }

    private fun adopt(next: Group, roster: Map<Long, ByteArray>) {
        group = next
        established = true
        currentRoster = roster
        cached.clear()
        proposalsSeen = false
        pendingCommit = null
        pendingSuccessor = null
        join?.initPrivate?.fill(0)
        join = null // key packages are single-use
    }

    private fun createPendingGroupIfReady() {
        if (group != null || established) return
        val id = identity ?: return
        val sender = externalSender ?: return
        group = Group(groupId, suite, id.leafKeys, id.signaturePrivate, id.leafNode, listOf(Extension.externalSender(listOf(sender))))
    }

    private fun dropGroupState() {
        group = null
        established = false
        cached.clear()
        proposalsSeen = false
        pendingCommit = null
        pendingSuccessor = null
        currentRoster = emptyMap()
    }

    private fun forgetKeys() {
        identity?.signaturePrivate?.fill(0)
        join?.initPrivate?.fill(0)
        identity = null
        join = null
    }

    private fun checkGroupAndEpoch(g: Group, content: FramedContent, what: String) {
        if (!content.groupID.contentEquals(groupId)) throw DaveMlsException("$what is for another group")
        if (content.epoch != g.epoch) throw DaveMlsException("$what is for epoch ${content.epoch}, not ${g.epoch}")
    }

    private companion object {
        private val log = LoggerFactory.getLogger(DaveMlsGroup::class.java)
        private val HEX: HexFormat = HexFormat.of()
        private const val SENDER_KEY_LABEL = "Discord Secure Frames v0"
    }
}
