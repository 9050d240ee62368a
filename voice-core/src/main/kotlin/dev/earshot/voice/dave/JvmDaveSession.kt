package dev.earshot.voice.dave

import dev.earshot.voice.base.NanoClock
import dev.earshot.voice.codec.OpusPacketInfo
import dev.earshot.voice.dave.mls.DaveMlsException
import dev.earshot.voice.dave.mls.DaveMlsGroup
import dev.earshot.voice.e2ee.FrameDecryptor
import org.slf4j.LoggerFactory
import java.security.SecureRandom
import java.util.concurrent.atomic.AtomicLong
import kotlin.time.Duration
import kotlin.time.Duration.Companion.seconds

/**
 * The pure-JVM [DaveSession]: MLS on BouncyCastle ([DaveMlsGroup]), per-user [DaveDecryptor]s and our [DaveEncryptor],
 * driven by the gateway's transitions as libdave and discord.js drive theirs (docs/dave.md §1.3, §1.6; docs/protocol.md §6.3):
 *
 * - op 4 with a version above 0, op 24 with epoch 1, and every failure: reset the group and send a new key package;
 * - op 27: process the proposals and send our commit (op 28);
 * - op 29 / op 30: apply the commit or join by the welcome, install every member's new key ratchet in their
 *   decryptor at once (old ones stay 10 s), and keep ours for the encryptor until op 22 executes the transition
 *   (transition 0 executes at once, without op 23);
 * - op 21 with version 0 (downgrade): allow passthrough, then stop encrypting at op 22;
 * - a commit or welcome that cannot be processed, or more than [failureTolerance] frames in a row that fail to
 *   decrypt: op 31 with the last transition id, then a reset and a new key package. A frame that no key of its
 *   sender's opens is answered NOT_READY, not failed, since the sender may already use an epoch whose commit we have
 *   not processed; it counts as a failure only when the receiver gives up on it ([frameDropped]). As in discord.js,
 *   failures do not count while a transition is prepared and not yet executed, nor while recovering.
 *
 * Gateway events are serialised by one lock; [decrypt] runs on the receive path and takes only the sender's
 * decryptor lock, [encrypt] only the encryptor's.
 *
 * What the server feeds in is bounded: at most [MAX_RECOGNIZED_USERS] recognised users (op 11 ids beyond that are
 * dropped, so members already known keep working) and [MAX_PENDING_TRANSITIONS] prepared transitions (the oldest is
 * forgotten); both drops are counted, and the first of each is logged at debug.
 *
 * @param failureTolerance consecutive decryption failures tolerated before recovering; default 36 (discord.js).
 */
public class JvmDaveSession internal constructor(
    private val selfUserId: Long,
    private val channelId: Long,
    private val callbacks: DaveCallbacks,
    private val clock: NanoClock = NanoClock.SYSTEM,
    private val failureTolerance: Int = DEFAULT_FAILURE_TOLERANCE,
    random: SecureRandom = SecureRandom(),
) : DaveSession {
    private val lock = Any()
    private val mls = DaveMlsGroup(selfUserId, channelId, random)
    private val decryptors = DaveUserDecryptors(clock)
    private val encryptor = DaveEncryptor()

    // Guarded by lock.
    private var initialized = false
    private var externalSender: ByteArray? = null
    private val recognized = HashSet<Long>().apply { add(selfUserId) }
    // Insertion order, so that the oldest prepared transition is the one forgotten.
    private val pendingTransitions = LinkedHashMap<Int, Int>()
    private var droppedUsers = 0L
    private var droppedTransitions = 0L
    private var pendingOwnRatchet: DaveKeyRatchet? = null
    // Users gone from the group whose decryptors still hold their last keys (already told: no new ratchet).
    private val departed = HashSet<Long>()
    private var downgraded = false
    // Written under lock, read on the receive path (failed): failures are not counted while either is set.
    @Volatile private var reinitializing = false
    @Volatile private var transitionPending = false
    private var lastTransitionId = 0
    private var closed = false

    @Volatile
    override var protocolVersion: Int = 0
        private set

    private val decryptFailures = AtomicLong()
    private val encrypted = AtomicLong()
    private val unencryptedDropped = AtomicLong()
    private val invalidMessages = AtomicLong()
    private val commitsSent = AtomicLong()
    private val transitions = AtomicLong()
    private val reinits = AtomicLong()

    override val maxProtocolVersion: Int get() = MAX_PROTOCOL_VERSION

    override val epoch: Long? get() = synchronized(lock) { if (mls.isEstablished) mls.epoch else null }

    override val privacyCode: String?
        get() = epochAuthenticator()?.let(DaveCodes::privacyCode)

    override fun epochAuthenticator(): ByteArray? = synchronized(lock) { if (mls.isEstablished) mls.epochAuthenticator?.copyOf() else null }

    override val requiresUser: Boolean get() = protocolVersion > 0

    override fun onSelectProtocolAck(protocolVersion: Int): Unit = control {
        this.protocolVersion = protocolVersion
        if (protocolVersion > 0) reinit()
    }

    override fun onPrepareTransition(transitionId: Int, protocolVersion: Int): Unit = control {
        prepare(transitionId, protocolVersion)
        if (transitionId == 0) {
            execute(0)
        } else {
            // A downgrade: frames may arrive unencrypted before the switch.
            if (protocolVersion == 0) {
                decryptors.forEach { _, d -> synchronized(d) { d.transitionToPassthrough(true, DOWNGRADE_PASSTHROUGH) } }
                callbacks.keysChanged()
            }
            callbacks.sendReadyForTransition(transitionId)
        }
    }

    override fun onExecuteTransition(transitionId: Int): Unit = control { execute(transitionId) }

    override fun onPrepareEpoch(epoch: Long, protocolVersion: Int): Unit = control {
        if (epoch == 1L) {
            this.protocolVersion = protocolVersion
            reinit()
        }
    }

    override fun onExternalSenderPackage(payload: ByteArray): Unit = control {
        externalSender = payload.copyOf()
        if (initialized) {
            try {
                mls.setExternalSender(payload)
            } catch (e: DaveMlsException) {
                invalid("external sender package", e)
            }
        }
    }

    override fun onProposals(payload: ByteArray): Unit = control {
        if (!initialized || protocolVersion == 0) return@control
        try {
            val commitWelcome = mls.processProposals(payload, recognized) ?: return@control
            commitsSent.incrementAndGet()
            callbacks.sendCommitWelcome(commitWelcome)
        } catch (e: DaveMlsException) {
            invalid("proposals", e)
        }
    }

    override fun onAnnounceCommit(transitionId: Int, commit: ByteArray): Unit = control {
        if (!initialized) return@control
        try {
            mls.processCommit(commit) ?: return@control // not in the group yet: our welcome comes instead
            prepareRatchets(transitionId)
        } catch (e: DaveMlsException) {
            invalid("commit of transition $transitionId", e)
            recover(transitionId)
        }
    }

    override fun onWelcome(transitionId: Int, welcome: ByteArray): Unit = control {
        if (!initialized) return@control
        try {
            mls.processWelcome(welcome, recognized)
            prepareRatchets(transitionId)
        } catch (e: DaveMlsException) {
            invalid("welcome of transition $transitionId", e)
            recover(transitionId)
        }
    }

    override fun addUser(userId: Long): Unit = control {
        if (recognized.size >= MAX_RECOGNIZED_USERS && userId !in recognized) {
            if (droppedUsers++ == 0L) log.debug("DAVE: {} users recognised; further op 11 ids are dropped", MAX_RECOGNIZED_USERS)
        } else {
            recognized += userId
        }
    }

    /** Users recognised now (for tests of the bound). */
    internal fun recognizedUserCount(): Int = synchronized(lock) { recognized.size }

    /** Op 11 user ids dropped because [MAX_RECOGNIZED_USERS] were recognised, and prepared transitions forgotten. */
    internal fun boundDrops(): Pair<Long, Long> = synchronized(lock) { droppedUsers to droppedTransitions }

    override fun removeUser(userId: Long): Unit = control {
        if (userId != selfUserId) recognized -= userId
    }

    override fun decrypt(userId: Long, frame: ByteArray, offset: Int, length: Int): Int {
        val n = decryptors.decrypt(userId, frame, offset, length, transportOnly = protocolVersion == 0)
        if (n == DaveUserDecryptors.FAILED) failed()
        return n
    }

    override fun frameDropped(userId: Long) {
        // Frames of a sender we have no key for at all (we are still joining) say nothing about our group.
        if (userId in decryptors) failed() else decryptFailures.incrementAndGet()
    }

    private fun failed() {
        decryptFailures.incrementAndGet()
        // As discord.js: while a transition is pending, members switch keys at slightly different moments, and while
        // the group is rebuilt nothing opens; neither says the group is broken, and recovering would cost a new epoch.
        if (transitionPending || reinitializing) return
        if (decryptors.consecutiveFailures.incrementAndGet() > failureTolerance) {
            decryptors.consecutiveFailures.set(0)
            log.debug("{} DAVE frames in a row failed to decrypt; re-initialising", failureTolerance + 1)
            control { recover(lastTransitionId) }
        }
    }

    override fun maxEncryptedSize(length: Int): Int = encryptor.maxEncryptedSize(length)

    override fun encrypt(frame: ByteArray, offset: Int, length: Int, out: ByteArray): Int {
        val n = synchronized(encryptor) {
            // In a DAVE call without our key yet (joining, or alone in the pending group) a frame is dropped, as
            // libdave does: sent in the clear it would reach the SFU unencrypted and count as a decryption failure
            // at every member, whose tolerance it would use up.
            if (protocolVersion > 0 && !encryptor.isEncrypting && !OpusPacketInfo.isSilenceFrame(frame, offset, length)) {
                DROPPED
            } else {
                encryptor.encryptOpus(frame, offset, length, out)
            }
        }
        if (n >= 0) encrypted.incrementAndGet() else unencryptedDropped.incrementAndGet()
        return n
    }

    override fun stats(): DaveStats = DaveStats(
        decryptors.decrypted.get(), decryptors.passedThrough.get(), decryptFailures.get(), decryptors.notReady.get(),
        encrypted.get(), unencryptedDropped.get(), invalidMessages.get(), commitsSent.get(), transitions.get(), reinits.get(),
    )

    override fun close() {
        synchronized(lock) {
            if (closed) return
            closed = true
            mls.close()
            pendingOwnRatchet?.close()
            pendingOwnRatchet = null
        }
        synchronized(encryptor) { encryptor.setKeyRatchet(null) }
        decryptors.clear()
    }

    /** Runs a gateway event under the lock; a closed session ignores it, and nothing escapes to the connection. */
    private inline fun control(block: () -> Unit) {
        synchronized(lock) {
            if (closed) return
            try {
                block()
            } catch (e: RuntimeException) {
                // A bug of ours or of the MLS library must not end the connection: count it and carry on.
                invalid("gateway event", e)
            }
        }
    }

    /** A new group: fresh keys, a new key package (op 26), and the pending group once the external sender is known. */
    private fun reinit() {
        val keyPackage = mls.reset()
        initialized = true
        reinits.incrementAndGet()
        externalSender?.let { sender ->
            try {
                mls.setExternalSender(sender)
            } catch (e: DaveMlsException) {
                invalid("external sender package", e)
            }
        }
        callbacks.sendKeyPackage(keyPackage)
    }

    /** After a commit or welcome: every member's new ratchet goes to their decryptor now; ours waits for op 22. */
    private fun prepareRatchets(transitionId: Int) {
        val roster = mls.roster
        for (user in roster.keys) {
            if (user == selfUserId) continue
            val d = decryptors.getOrCreate(user)
            val ratchet = DaveKeyRatchet(mls.exportSenderBaseSecret(user))
            synchronized(d) { d.transitionToKeyRatchet(ratchet) }
        }
        // Users neither in the group nor in the call send nothing new, but what they sent before leaving may still be
        // in flight or held: their keys stay for the usual 10 s (as a new epoch's transition gives old ratchets), and
        // the decryptor goes once none is left.
        decryptors.removeIf { user, d ->
            if (user in roster || user in recognized) return@removeIf false
            synchronized(d) {
                if (user !in departed) d.transitionToKeyRatchet(null)
                !d.hasLiveKey()
            }
        }
        departed.clear()
        decryptors.forEach { user, _ -> if (user !in roster && user !in recognized) departed += user }
        pendingOwnRatchet?.close()
        pendingOwnRatchet = DaveKeyRatchet(mls.exportSenderBaseSecret(selfUserId))
        callbacks.keysChanged()
        prepare(transitionId, protocolVersion)
        if (transitionId == 0) {
            execute(0)
        } else {
            callbacks.sendReadyForTransition(transitionId)
        }
    }

    /** Records a transition to execute at op 22; beyond [MAX_PENDING_TRANSITIONS] the oldest is forgotten. */
    private fun prepare(transitionId: Int, version: Int) {
        pendingTransitions.remove(transitionId) // re-prepared: now the newest
        pendingTransitions[transitionId] = version
        if (pendingTransitions.size > MAX_PENDING_TRANSITIONS) {
            val oldest = pendingTransitions.keys.first()
            pendingTransitions.remove(oldest)
            if (droppedTransitions++ == 0L) log.debug("DAVE: more than {} transitions prepared; forgetting the oldest", MAX_PENDING_TRANSITIONS)
        }
        transitionPending = true
    }

    private fun execute(transitionId: Int) {
        // Still pending afterwards: only a transition prepared after this one (one prepared before it and never
        // executed must not stop failures from counting for good; discord.js forgets it at any execute too).
        val preparedAfter = pendingTransitions.keys.indexOf(transitionId).let { it >= 0 && it < pendingTransitions.size - 1 }
        val version = pendingTransitions.remove(transitionId) ?: run {
            log.debug("execute for unknown DAVE transition {}", transitionId)
            return
        }
        transitionPending = preparedAfter
        val old = protocolVersion
        protocolVersion = version
        if (version == 0 && old != 0) {
            downgraded = true
            synchronized(encryptor) { encryptor.setKeyRatchet(null) }
            decryptors.forEach { _, d -> synchronized(d) { d.transitionToPassthrough(true, null) } }
        } else {
            if (transitionId > 0 && downgraded) {
                // Upgrading again: members switch at slightly different times, so plain frames are still fine for a while.
                downgraded = false
                decryptors.forEach { _, d -> synchronized(d) { d.transitionToPassthrough(true, UPGRADE_PASSTHROUGH) } }
            }
            pendingOwnRatchet?.let { r ->
                pendingOwnRatchet = null
                synchronized(encryptor) { encryptor.setKeyRatchet(r) }
            }
        }
        // Passthrough or the protocol version may have changed what opens a held frame.
        callbacks.keysChanged()
        transitions.incrementAndGet()
        lastTransitionId = transitionId
        reinitializing = false
    }

    /** Op 31 for [transitionId], then a new group and key package; the gateway removes and re-adds us. */
    private fun recover(transitionId: Int) {
        if (reinitializing) return
        reinitializing = true
        decryptors.consecutiveFailures.set(0)
        callbacks.sendInvalidCommitWelcome(transitionId)
        reinit()
    }

    private fun invalid(what: String, e: Exception) {
        invalidMessages.incrementAndGet()
        // The message only: exceptions from MLS never carry key material, but stay terse anyway.
        log.debug("DAVE {} rejected: {}", what, e.message)
    }

    public companion object {
        /** The DAVE protocol version this implementation speaks. */
        public const val MAX_PROTOCOL_VERSION: Int = 1

        /** Consecutive decryption failures tolerated before re-initialising (discord.js's default). */
        public const val DEFAULT_FAILURE_TOLERANCE: Int = 36

        /**
         * Users recognised at most (4096): op 11 ids beyond it are dropped. Well above the member count of a Discord
         * voice call; it bounds what a server can make the session keep.
         */
        public const val MAX_RECOGNIZED_USERS: Int = 4096

        /** Transitions prepared (op 21, or by a commit or welcome) and not yet executed, kept at most (64). */
        public const val MAX_PENDING_TRANSITIONS: Int = 64

        /** The default factory: a [JvmDaveSession] per connection. */
        public val FACTORY: DaveSessionFactory = DaveSessionFactory { self, channel, callbacks -> JvmDaveSession(self, channel, callbacks) }

        private const val DROPPED = -1
        private val DOWNGRADE_PASSTHROUGH: Duration = 24.seconds
        private val UPGRADE_PASSTHROUGH: Duration = 10.seconds
        private val log = LoggerFactory.getLogger(JvmDaveSession::class.java)
    }
}
