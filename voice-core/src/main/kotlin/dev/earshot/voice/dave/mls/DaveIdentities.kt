package dev.earshot.voice.dave.mls

import java.nio.ByteBuffer
import org.bouncycastle.mls.TreeKEM.LeafIndex
import org.bouncycastle.mls.codec.Capabilities
import org.bouncycastle.mls.codec.Credential
import org.bouncycastle.mls.codec.CredentialType
import org.bouncycastle.mls.protocol.Group

// DAVE's identities in MLS: a member is a Discord user id, carried as a basic credential of 8 bytes big-endian; the
// capabilities every DAVE leaf declares; the roster of a group by user id.

/** [value] as 8 bytes big-endian: a DAVE credential's identity (a user id) and a DAVE group id (a channel id). */
internal fun bigEndian(value: Long): ByteArray = ByteBuffer.allocate(8).putLong(value).array()

/** versions {mls10}, ciphersuites {2}, extensions {}, proposals {}, credentials {basic}: libdave's and davey's. */
internal fun daveCapabilities(): Capabilities {
    val bytes = byteArrayOf(2, 0, 1, 2, 0, 2, 0, 0, 2, 0, 1)
    return decodeExact<Capabilities>(bytes, "Capabilities")
}

/** User id → signature key of every leaf; refuses non-basic credentials, bad identities and duplicate users. */
internal fun rosterOf(g: Group): Map<Long, ByteArray> = guard("reading the roster") {
    val tree = g.tree
    val roster = LinkedHashMap<Long, ByteArray>()
    for (i in 0 until tree.size.leafCount()) {
        val leaf = tree.getLeafNode(LeafIndex(i.toInt())) ?: continue
        val userId = userIdOf(leaf.credential)
        if (roster.put(userId, leaf.signatureKey.copyOf()) != null) {
            throw DaveMlsException("roster has user ${java.lang.Long.toUnsignedString(userId)} twice")
        }
    }
    roster
}

/** The user id a DAVE member's basic credential carries (8 bytes big-endian); anything else is refused. */
internal fun userIdOf(credential: Credential): Long {
    if (credential.credentialType != CredentialType.basic) throw DaveMlsException("credential is not basic")
    val identity = credential.identity
    if (identity.size != 8) throw DaveMlsException("credential identity is ${identity.size} bytes, not 8")
    return ByteBuffer.wrap(identity).long
}
