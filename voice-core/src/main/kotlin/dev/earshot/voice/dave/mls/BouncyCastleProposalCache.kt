package dev.earshot.voice.dave.mls

import org.bouncycastle.mls.protocol.Group

/**
 * Empties the proposal cache of a BouncyCastle [Group] so that the caller can re-handle the proposals it keeps.
 *
 * Why reflection: DAVE's op 27 "revoke" withdraws cached proposals, but bcmls 1.84 keeps them in the private list
 * `Group.pendingProposals` and has no API to drop one (libdave rebuilds its state instead; bcmls cannot copy a
 * Group either). This is the only place that reaches into BouncyCastle's internals. If a BouncyCastle upgrade renames
 * the field, revokes fail with [DaveMlsException] (the caller then resets) instead of committing revoked proposals.
 */
internal fun clearBouncyCastleProposalCache(group: Group) {
    val list = try {
        val field = Group::class.java.getDeclaredField("pendingProposals")
        field.isAccessible = true
        field.get(group)
    } catch (e: NoSuchFieldException) {
        throw DaveMlsException("this BouncyCastle Group has no pendingProposals field; cannot revoke proposals", e)
    } catch (e: RuntimeException) { // InaccessibleObjectException when bcmls sits on the module path
        throw DaveMlsException("cannot reach BouncyCastle's pending proposals: ${e.message}", e)
    }
    (list as? MutableList<*>)?.clear()
        ?: throw DaveMlsException("BouncyCastle's pendingProposals is not a list; cannot revoke proposals")
}
