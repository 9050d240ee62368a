package dev.earshot.voice.dave

/**
 * One member's DAVE (Discord Audio & Video End-to-End Encryption) state for one voice connection: the MLS group, the
 * protocol transitions, and the per-user media keys. Shaped like JDA's `DaveSession`, so an implementation on a native
 * libdave could be plugged in through [DaveSessionFactory]; the default is [JvmDaveSession] (pure JVM, BouncyCastle).
 *
 * The voice connection calls the `on*` methods from its control coroutine, in gateway order, and [decrypt] and
 * [encrypt] from the receive and send coroutines; implementations must be safe for that. Nothing here may throw on
 * network input: bad messages are counted, logged at debug, and answered as the protocol says (op 31 and a new key
 * package). Outgoing gateway messages go through the [DaveCallbacks] the session was created with.
 */
public interface DaveSession : AutoCloseable {
    /** The highest DAVE protocol version offered in Identify (`max_dave_protocol_version`); 1 today. */
    public val maxProtocolVersion: Int

    /** The protocol version in force: 0 before op 4 and in transport-only calls, else the negotiated version. */
    public val protocolVersion: Int

    /** The MLS epoch of the group this member is in, or null while it is in none. */
    public val epoch: Long?

    /**
     * The 30-digit voice privacy code of the current epoch (6 groups of 5 digits, as Discord shows it), or null while
     * not in a group. Equal for every member of the call.
     */
    public val privacyCode: String?

    /** The current epoch's 32-byte MLS epoch authenticator (a copy), or null while not in a group. */
    public fun epochAuthenticator(): ByteArray?

    /** Op 4 Session Description: the negotiated `dave_protocol_version`. */
    public fun onSelectProtocolAck(protocolVersion: Int)

    /** Op 21: prepare a transition to [protocolVersion] (0 = downgrade); transition 0 executes at once. */
    public fun onPrepareTransition(transitionId: Int, protocolVersion: Int)

    /** Op 22: execute a prepared transition (senders switch keys or protocol now). */
    public fun onExecuteTransition(transitionId: Int)

    /** Op 24: a new MLS epoch is coming; epoch 1 means a new group (reset, new key package). */
    public fun onPrepareEpoch(epoch: Long, protocolVersion: Int)

    /** Op 25: the voice gateway's MLS external sender (binary payload after seq and opcode). */
    public fun onExternalSenderPackage(payload: ByteArray)

    /** Op 27: proposals to append or revoke (binary payload after seq and opcode). */
    public fun onProposals(payload: ByteArray)

    /** Op 29: the winning commit of a transition ([commit] is the MLSMessage after the transition id). */
    public fun onAnnounceCommit(transitionId: Int, commit: ByteArray)

    /** Op 30: a Welcome into the group ([welcome] is the Welcome after the transition id). */
    public fun onWelcome(transitionId: Int, welcome: ByteArray)

    /** A user joined the call (op 11) and may be added to the group. */
    public fun addUser(userId: Long)

    /** A user left the call (op 13): they are no longer recognised, and their keys go after the usual 10 s. */
    public fun removeUser(userId: Long)

    /**
     * Decrypts [userId]'s Opus frame at `frame[offset, offset + length)` in place and returns the plaintext length,
     * or [dev.earshot.voice.e2ee.FrameDecryptor.DROP] to reject it, or
     * [dev.earshot.voice.e2ee.FrameDecryptor.NOT_READY] when no key held now opens it but one still to come may: the
     * user's key is not there yet, or no key of theirs authenticates it (the sender may have moved to an epoch this
     * member has not processed yet); the frame is then left unchanged, and [DaveCallbacks.keysChanged] says when
     * retrying may help. Silence frames (`F8 FF FE`) and, while passthrough is allowed, unencrypted frames come back
     * unchanged.
     */
    public fun decrypt(userId: Long, frame: ByteArray, offset: Int, length: Int): Int

    /**
     * A frame of [userId] answered NOT_READY was given up (no key opened it in time): counted as a decryption
     * failure, and, like one, towards the run of failures that makes the session recover. The default does nothing.
     */
    public fun frameDropped(userId: Long) {}

    /** Whether frames can only be decrypted with their sender's user id known (true while DAVE is in force). */
    public val requiresUser: Boolean

    /** The largest [encrypt] output for a [length]-byte frame. */
    public fun maxEncryptedSize(length: Int): Int

    /**
     * Encrypts our own Opus frame `frame[offset, offset + length)` into [out] and returns the length written, or -1 if
     * the frame cannot be sent (it is then dropped, never sent in the clear): in a DAVE call before our key exists.
     * In transport-only calls, and for silence frames, the frame is copied unchanged.
     */
    public fun encrypt(frame: ByteArray, offset: Int, length: Int, out: ByteArray): Int

    /** Counters since creation. */
    public fun stats(): DaveStats

    /** Forgets every key; later calls do nothing. */
    override fun close()
}

/**
 * What a [DaveSession] sends on the voice gateway (JDA's `DaveProtocolCallbacks`). Called from whichever thread calls
 * the session's `on*` method; the connection forwards them on its gateway socket in call order.
 */
public interface DaveCallbacks {
    /** Op 26: our key package (a bare serialized MLS KeyPackage). */
    public fun sendKeyPackage(keyPackage: ByteArray)

    /** Op 23: we are ready for transition [transitionId]. */
    public fun sendReadyForTransition(transitionId: Int)

    /** Op 28: our commit, followed by the Welcome when it adds members. */
    public fun sendCommitWelcome(commitWelcome: ByteArray)

    /** Op 31: the commit or welcome of [transitionId] could not be processed. */
    public fun sendInvalidCommitWelcome(transitionId: Int)

    /**
     * Not a gateway message: new keys (or passthrough) are in force, so frames answered NOT_READY may now decrypt.
     * Called with the session's lock held; it must only schedule work. The default does nothing.
     */
    public fun keysChanged() {}
}

/** Makes the [DaveSession] of one voice connection. [JvmDaveSession.FACTORY] is the default. */
public fun interface DaveSessionFactory {
    /** A session for [selfUserId] in the call of [channelId] (the MLS group id) that talks through [callbacks]. */
    public fun create(selfUserId: Long, channelId: Long, callbacks: DaveCallbacks): DaveSession
}

/**
 * Counters of a [DaveSession] since creation.
 *
 * @property decrypted frames decrypted.
 * @property passedThrough frames handed on unencrypted (silence frames, passthrough).
 * @property decryptFailures frames rejected: malformed ones at once, and those no key opened within the receiver's
 *   hold time (failed authentication, replayed nonce, generation out of window).
 * @property notReady decrypt calls answered NOT_READY: no key held then opened the frame (the receiver holds it and
 *   retries, so one frame may count more than once).
 * @property encrypted frames encrypted.
 * @property unencryptedDropped our frames dropped because DAVE was in force but our key was not there yet.
 * @property invalidMessages gateway messages (proposals, commits, welcomes, sender packages) that could not be processed.
 * @property commitsSent commits we sent (op 28).
 * @property transitions transitions executed.
 * @property reinits times the session reset its group and sent a new key package.
 */
public class DaveStats(
    public val decrypted: Long,
    public val passedThrough: Long,
    public val decryptFailures: Long,
    public val notReady: Long,
    public val encrypted: Long,
    public val unencryptedDropped: Long,
    public val invalidMessages: Long,
    public val commitsSent: Long,
    public val transitions: Long,
    public val reinits: Long,
) {
    override fun toString(): String =
        "DaveStats(decrypted=$decrypted, passedThrough=$passedThrough, decryptFailures=$decryptFailures, notReady=$notReady, " +
            "encrypted=$encrypted, unencryptedDropped=$unencryptedDropped, invalidMessages=$invalidMessages, commitsSent=$commitsSent, transitions=$transitions, reinits=$reinits)"
}
